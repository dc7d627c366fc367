#include "io/atomic_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "error.hpp"

namespace moescope {

namespace fs = std::filesystem;

namespace {

std::string prefix(const std::string& path, const char* what) {
    return std::string("cannot save ") + what + " '" + clip_text(path, 200) + "': ";
}

std::string directory_of(const std::string& path) {
    const std::string dir = fs::path(path).parent_path().string();
    return dir.empty() ? "." : dir;
}

// Removes "<name>.tmp-<pid>" files in `dir` whose process is gone: what a kill
// during an earlier save left behind. Our own pid and live processes are kept.
void remove_stale_temps(const std::string& target) {
    const std::string dir = directory_of(target);
    const std::string stem = fs::path(target).filename().string() + ".tmp-";
    DIR* d = ::opendir(dir.c_str());
    if (!d) return;
    while (const dirent* ent = ::readdir(d)) {
        const std::string_view name = ent->d_name;
        if (!name.starts_with(stem)) continue;
        const std::string_view digits = name.substr(stem.size());
        long pid = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
        if (ec != std::errc() || end != digits.data() + digits.size() || pid <= 0 || pid == ::getpid()) continue;
        if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
            ::unlink((dir + "/" + std::string(name)).c_str());
    }
    ::closedir(d);
}

}  // namespace

std::string resolve_save_target(const std::string& path, const char* what) {
    if (path.empty()) throw DataError(std::string("cannot save ") + what + ": the file name is empty");
    std::string target = path;
    for (int hops = 0;; ++hops) {
        struct stat st {};
        if (::lstat(target.c_str(), &st) != 0) return target;  // absent (or unreachable: the checks below say why)
        if (S_ISREG(st.st_mode)) return target;
        if (!S_ISLNK(st.st_mode))
            throw DataError(prefix(path, what) +
                            (S_ISDIR(st.st_mode) ? "it is a directory" : "it is not a regular file") +
                            "; give a file name");
        if (hops == 40) throw DataError(prefix(path, what) + "too many levels of symbolic links");
        std::error_code ec;
        const fs::path link = fs::read_symlink(target, ec);
        if (ec) throw DataError(prefix(path, what) + "cannot read the symbolic link (" + ec.message() + ")");
        target = link.is_absolute() ? link.string() : (fs::path(directory_of(target)) / link).string();
    }
}

void check_writable_target(const std::string& path, const char* what) {
    const std::string target = resolve_save_target(path, what);
    const std::string dir = directory_of(target);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0)
        throw DataError(prefix(path, what) + "directory '" + clip_text(dir, 200) + "' does not exist");
    if (!S_ISDIR(st.st_mode)) throw DataError(prefix(path, what) + "'" + clip_text(dir, 200) + "' is not a directory");
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
        throw DataError(prefix(path, what) + "directory '" + clip_text(dir, 200) + "' is not writable (" +
                        std::strerror(errno) + ")");
    if (::access(target.c_str(), F_OK) == 0 && ::access(target.c_str(), W_OK) != 0)
        throw DataError(prefix(path, what) + "the file is not writable (" + std::strerror(errno) + ")");
}

void write_file_atomically(const std::string& path, std::initializer_list<std::string_view> parts, const char* what) {
    const std::string target = resolve_save_target(path, what);
    remove_stale_temps(target);
    const std::string tmp = target + ".tmp-" + std::to_string(::getpid());
    auto fail = [&](const std::string& call, int fd) {
        const std::string why = std::strerror(errno);
        if (fd >= 0) ::close(fd);
        ::unlink(tmp.c_str());
        throw DataError(prefix(path, what) + call + " failed (" + why + ")");
    };
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        throw DataError(prefix(path, what) + "cannot create '" + clip_text(tmp, 200) + "' (" + std::strerror(errno) +
                        ")");
    for (std::string_view part : parts) {
        while (!part.empty()) {
            const ssize_t n = ::write(fd, part.data(), part.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) fail("write", fd);
            part.remove_prefix(static_cast<size_t>(n));
        }
    }
    if (::fsync(fd) != 0) fail("fsync", fd);
    if (::close(fd) != 0) fail("close", -1);
    if (::rename(tmp.c_str(), target.c_str()) != 0) fail("rename", -1);
    // The rename is durable only once the directory entry is on disk.
    const int dfd = ::open(directory_of(target).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace moescope
