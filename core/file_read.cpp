#include "file_read.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "error.hpp"

namespace moescope {

namespace {

std::string kind_of(mode_t mode) {
    if (S_ISDIR(mode)) return "it is a directory, not a file";
    if (S_ISFIFO(mode)) return "it is a FIFO (named pipe), not a regular file";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "it is a device, not a regular file";
    if (S_ISSOCK(mode)) return "it is a socket, not a regular file";
    return "it is not a regular file";
}

// An open descriptor of the regular file `path`, or -1 with `why` set.
// O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting.
int open_regular(const std::string& path, std::string& why, struct stat& st) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        why = errno == ENOENT ? "no such file" : std::strerror(errno);
        return -1;
    }
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        why = kind_of(st.st_mode);
        ::close(fd);
        return -1;
    }
    return fd;
}

// Reads up to `max` bytes; false on a read error.
bool read_up_to(int fd, std::string& out, size_t max) {
    out.clear();
    char buf[1 << 16];
    while (out.size() < max) {
        const ssize_t n = ::read(fd, buf, std::min(sizeof buf, max - out.size()));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if (n == 0) break;
        out.append(buf, size_t(n));
    }
    return true;
}

}  // namespace

std::string size_text(size_t bytes) {
    if (bytes >= (size_t(1) << 30) && bytes % (size_t(1) << 30) == 0) return std::to_string(bytes >> 30) + " GiB";
    if (bytes >= kMiB && bytes % kMiB == 0) return std::to_string(bytes >> 20) + " MiB";
    return std::to_string(bytes) + " bytes";
}

std::string read_regular_file(const std::string& path, size_t limit, const std::string& what) {
    const std::string name = "'" + clip_text(path, 200) + "'";
    std::string why;
    struct stat st {};
    const int fd = open_regular(path, why, st);
    if (fd < 0) throw DataError("cannot open " + what + " " + name + ": " + why);
    auto too_large = [&](const std::string& size) {
        ::close(fd);
        throw DataError(what + " " + name + " is larger than the " + size_text(limit) + " limit for a " + what + size);
    };
    if (size_t(st.st_size) > limit) too_large(" (" + std::to_string(st.st_size) + " bytes)");
    std::string bytes;
    bytes.reserve(size_t(st.st_size));
    // One byte past the limit tells a file that grew since fstat.
    const bool ok = read_up_to(fd, bytes, limit + 1);
    const int err = errno;
    if (ok && bytes.size() > limit) too_large(" (it grew while being read)");
    ::close(fd);
    if (!ok) throw DataError("cannot read " + what + " " + name + ": " + std::strerror(err));
    return bytes;
}

std::string read_file_start(const std::string& path, size_t max_bytes) {
    std::string why;
    struct stat st {};
    const int fd = open_regular(path, why, st);
    if (fd < 0) return "";
    std::string bytes;
    const bool ok = read_up_to(fd, bytes, max_bytes);
    ::close(fd);
    return ok ? bytes : "";
}

}  // namespace moescope
