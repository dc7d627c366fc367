#include "io/log_tail.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace moescope {

uint64_t LogTail::poll(const OnLine& on_line, size_t max_bytes) {
    // O_NONBLOCK: a FIFO planted under a log's name must not block the open; it is refused below.
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
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
    if (seen_ && !truncated && !last_.empty()) {
        std::string now(last_.size(), '\0');
        truncated =
            ::pread(fd, now.data(), now.size(), off_t(offset_ - last_.size())) != ssize_t(now.size()) || now != last_;
    }
    if (rotated || truncated) {
        offset_ = 0;
        partial_.clear();
        partial_too_long_ = false;
        head_.clear();
        last_.clear();
        line_ = 0;
        ++restarts_;
    }
    seen_ = true;
    inode_ = uint64_t(st.st_ino);

    uint64_t read_total = 0;
    std::vector<char> buf(1 << 16);
    size_t budget = max_bytes;
    while (budget > 0) {
        const ssize_t n = ::pread(fd, buf.data(), std::min(buf.size(), budget), off_t(offset_));
        if (n <= 0) break;
        if (offset_ == 0) head_.assign(buf.data(), std::min<size_t>(size_t(n), 64));
        offset_ += uint64_t(n);
        read_total += uint64_t(n);
        constexpr size_t kLast = 64;
        if (size_t(n) >= kLast)
            last_.assign(buf.data() + n - kLast, kLast);
        else {
            last_.append(buf.data(), size_t(n));
            if (last_.size() > kLast) last_.erase(0, last_.size() - kLast);
        }
        budget -= size_t(n);
        const char* p = buf.data();
        const char* end = p + n;
        while (p < end) {
            const char* nl = static_cast<const char*>(std::memchr(p, '\n', size_t(end - p)));
            const char* stop = nl ? nl : end;
            if (!partial_too_long_) {
                if (partial_.size() + size_t(stop - p) > kMaxLineBytes) {
                    partial_too_long_ = true;
                    std::string().swap(partial_);
                }
            }
            if (!nl) {
                if (!partial_too_long_) partial_.append(p, size_t(end - p));
                break;
            }
            ++line_;
            if (partial_too_long_)
                on_line({}, line_, true);
            else if (partial_.empty())
                on_line(std::string_view(p, size_t(nl - p)), line_, false);  // the whole line is in the buffer
            else {
                partial_.append(p, size_t(nl - p));
                on_line(partial_, line_, false);
            }
            partial_.clear();
            partial_too_long_ = false;
            p = nl + 1;
        }
    }
    ::close(fd);
    return read_total;
}

long LogTail::flush(const OnLine& on_line) {
    if (partial_.empty() && !partial_too_long_) return 0;
    on_line(partial_, ++line_, partial_too_long_);
    std::string().swap(partial_);
    partial_too_long_ = false;
    return 1;
}

}  // namespace moescope
