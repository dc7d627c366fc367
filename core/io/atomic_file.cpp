#include "io/atomic_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "error.hpp"

namespace moescope {

namespace fs = std::filesystem;

namespace {

// "cannot save" for a whole-file save, "cannot write" for a file that grows during a run.
std::string prefix(const std::string& path, const char* what, const char* verb = "save") {
    return std::string("cannot ") + verb + " " + what + " '" + clip_text(path, 200) + "': ";
}

std::string directory_of(const std::string& path) {
    const std::string dir = fs::path(path).parent_path().string();
    return dir.empty() ? "." : dir;
}

// What kind of thing a non-regular file is, for the refusal.
std::string kind_of(mode_t mode) {
    if (S_ISLNK(mode)) return "a symbolic link";
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
    if (S_ISSOCK(mode)) return "a socket";
    return "a special file";
}

std::string refusal(const std::string& path, const char* what, mode_t mode, const char* verb = "save") {
    return prefix(path, what, verb) + "it is " + kind_of(mode) +
           ", not a regular file (a save never replaces or writes through one); give a new file name";
}

// "<name>.tmp-" then the pid, then (since temp names are unpredictable) "-<random>".
constexpr std::string_view kTempMark = ".tmp-";

// Removes "<name>.tmp-<pid>[-<random>]" files in `dir` whose process is gone:
// what a kill during an earlier save left behind. Our own pid and live
// processes are kept; anything not a regular file is left alone.
void remove_stale_temps(const std::string& target) {
    const std::string dir = directory_of(target);
    const std::string stem = fs::path(target).filename().string() + std::string(kTempMark);
    DIR* d = ::opendir(dir.c_str());
    if (!d) return;
    while (const dirent* ent = ::readdir(d)) {
        const std::string_view name = ent->d_name;
        if (!name.starts_with(stem)) continue;
        const std::string_view rest = name.substr(stem.size());
        long pid = 0;
        const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), pid);
        if (ec != std::errc() || pid <= 0 || pid == ::getpid()) continue;
        if (end != rest.data() + rest.size() && *end != '-') continue;
        const std::string full = dir + "/" + std::string(name);
        struct stat st {};
        if (::lstat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) ::unlink(full.c_str());
    }
    ::closedir(d);
}

// 12 hex digits from the system's random source: a name no one can plant ahead.
std::string random_suffix() {
    static thread_local std::random_device source;
    const uint64_t v = (uint64_t(source()) << 32) ^ source();
    char buf[17];
    std::snprintf(buf, sizeof buf, "%012llx", static_cast<unsigned long long>(v & 0xFFFFFFFFFFFFull));
    return buf;
}

void fsync_directory(const std::string& dir) {
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace

void check_save_target(const std::string& path, const char* what) {
    if (path.empty()) throw DataError(std::string("cannot save ") + what + ": the file name is empty");
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return;  // absent (or unreachable: the save says why)
    if (!S_ISREG(st.st_mode)) throw DataError(refusal(path, what, st.st_mode));
}

FileIdentity file_identity(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return {};
    return {true, st.st_dev, st.st_ino};
}

void check_writable_target(const std::string& path, const char* what) {
    check_save_target(path, what);
    const std::string dir = directory_of(path);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0)
        throw DataError(prefix(path, what) + "directory '" + clip_text(dir, 200) + "' does not exist");
    if (!S_ISDIR(st.st_mode)) throw DataError(prefix(path, what) + "'" + clip_text(dir, 200) + "' is not a directory");
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
        throw DataError(prefix(path, what) + "directory '" + clip_text(dir, 200) + "' is not writable (" +
                        std::strerror(errno) + ")");
    if (::access(path.c_str(), F_OK) == 0 && ::access(path.c_str(), W_OK) != 0)
        throw DataError(prefix(path, what) + "the file is not writable (" + std::strerror(errno) + ")");
}

bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = EIO;
            return false;
        }
        bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

FileIdentity write_file_atomically(const std::string& path, std::initializer_list<std::string_view> parts,
                                   const char* what, const FileIdentity* expected) {
    check_save_target(path, what);
    remove_stale_temps(path);
    const std::string base = path + std::string(kTempMark) + std::to_string(::getpid()) + "-";
    std::string tmp;
    int fd = -1;
    // O_EXCL|O_NOFOLLOW: never open a file or link someone else put there; a clash draws a new name.
    for (int attempt = 0; fd < 0 && attempt < 16; ++attempt) {
        tmp = base + random_suffix();
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0)
        throw DataError(prefix(path, what) + "cannot create a temp file in '" + clip_text(directory_of(path), 200) +
                        "' (" + std::strerror(errno) + ")");
    auto fail = [&](const std::string& call, int open_fd) {
        const std::string why = std::strerror(errno);
        if (open_fd >= 0) ::close(open_fd);
        ::unlink(tmp.c_str());
        throw DataError(prefix(path, what) + call + " failed (" + why + ")");
    };
    for (std::string_view part : parts)
        if (!write_all(fd, part)) fail("write", fd);
    if (::fsync(fd) != 0) fail("fsync", fd);
    struct stat written {};
    if (::fstat(fd, &written) != 0) fail("fstat", fd);
    if (::close(fd) != 0) fail("close", -1);

    auto replaced_by_another = [&] {
        ::unlink(tmp.c_str());
        throw DataError(prefix(path, what) + "another process saved a file there while this one ran; " +
                        "that file is kept, this save is not written");
    };
    // A file at `path` that is not the expected one is another process's; no file at all
    // (none yet, or removed meanwhile) is taken with a rename that refuses to replace one.
    bool no_replace = false;
    if (expected) {
        const FileIdentity now = file_identity(path);
        if (now.exists && now != *expected) replaced_by_another();
        no_replace = !now.exists;
    }
    if (no_replace) {
        if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
            if (errno == EEXIST) replaced_by_another();
            if (errno != EINVAL && errno != ENOSYS) fail("rename", -1);
            // A file system without RENAME_NOREPLACE: check, then rename.
            if (file_identity(path).exists) replaced_by_another();
            if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename", -1);
        }
    } else {
        // Checked again right before the rename: what was planted since the first check is refused too.
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
            ::unlink(tmp.c_str());
            throw DataError(refusal(path, what, st.st_mode));
        }
        if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename", -1);
    }
    // The rename is durable only once the directory entry is on disk.
    fsync_directory(directory_of(path));
    return {true, written.st_dev, written.st_ino};
}

int open_growing_file(const std::string& path, const char* what) {
    struct stat target {};
    if (::lstat(path.c_str(), &target) == 0 && !S_ISREG(target.st_mode))
        throw DataError(refusal(path, what, target.st_mode, "write"));
    // O_NOFOLLOW refuses a link planted after the check; O_NONBLOCK keeps a FIFO from blocking the open.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0) {
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
            throw DataError(refusal(path, what, st.st_mode, "write"));
        throw DataError(prefix(path, what, "write") + "cannot open it (" + std::strerror(errno) + ")");
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        const mode_t mode = st.st_mode;
        ::close(fd);
        throw DataError(refusal(path, what, mode, "write"));
    }
    if (::ftruncate(fd, 0) != 0 || ::fcntl(fd, F_SETFL, 0) != 0) {
        const std::string why = std::strerror(errno);
        ::close(fd);
        throw DataError(prefix(path, what, "write") + "cannot empty it (" + why + ")");
    }
    return fd;
}

}  // namespace moescope
