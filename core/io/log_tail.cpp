#include "io/log_tail.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

namespace moescope {

long LogTail::poll(const std::function<void(const std::string&, long)>& on_line, size_t max_bytes) {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return 0;
    }
    const bool rotated = seen_ && uint64_t(st.st_ino) != inode_;
    bool truncated = seen_ && uint64_t(st.st_size) < offset_;
    if (seen_ && !truncated && !head_.empty()) {
        std::string now(head_.size(), '\0');
        truncated = ::pread(fd, now.data(), now.size(), 0) != ssize_t(now.size()) || now != head_;
    }
    if (rotated || truncated) {
        offset_ = 0;
        partial_.clear();
        head_.clear();
        line_ = 0;
        ++restarts_;
    }
    seen_ = true;
    inode_ = uint64_t(st.st_ino);

    long delivered = 0;
    std::vector<char> buf(1 << 16);
    size_t budget = max_bytes;
    while (budget > 0) {
        const ssize_t n = ::pread(fd, buf.data(), std::min(buf.size(), budget), off_t(offset_));
        if (n <= 0) break;
        if (offset_ == 0) head_.assign(buf.data(), std::min<size_t>(size_t(n), 64));
        offset_ += uint64_t(n);
        budget -= size_t(n);
        size_t start = 0;
        for (size_t i = 0; i < size_t(n); ++i) {
            if (buf[i] != '\n') continue;
            partial_.append(buf.data() + start, i - start);
            on_line(partial_, ++line_);
            ++delivered;
            partial_.clear();
            start = i + 1;
        }
        partial_.append(buf.data() + start, size_t(n) - start);
    }
    ::close(fd);
    return delivered;
}

long LogTail::flush(const std::function<void(const std::string&, long)>& on_line) {
    if (partial_.empty()) return 0;
    on_line(partial_, ++line_);
    partial_.clear();
    return 1;
}

}  // namespace moescope
