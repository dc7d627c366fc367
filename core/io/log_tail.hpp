#pragma once
// Follows a growing text file the way `tail -F` does, for logs that another
// process is still writing: only whole lines come out (a writer caught
// mid-line keeps its partial line until the newline arrives); a file that
// shrinks or is rewritten from its start (truncated: its first bytes
// changed) or is replaced (rotated: a new inode) is read again from its start; a file that is missing now and appears
// later is picked up.
#include <cstdint>
#include <functional>
#include <string>

namespace moescope {

class LogTail {
public:
    explicit LogTail(std::string path) : path_(std::move(path)) {}

    // Reads what was appended since the last call, at most max_bytes, and calls
    // on_line(line, line_number) for each complete line (1-based, counted from
    // the file's start; restarts at 1 after truncation or rotation). Returns the
    // number of lines delivered. Never throws for a missing file.
    long poll(const std::function<void(const std::string&, long)>& on_line, size_t max_bytes = 8u << 20);

    // Delivers a last line that has no newline (the writer has finished): for --once.
    long flush(const std::function<void(const std::string&, long)>& on_line);

    const std::string& path() const { return path_; }
    long restarts() const { return restarts_; }  // truncations and rotations seen
    uint64_t offset() const { return offset_; }

private:
    std::string path_;
    uint64_t offset_ = 0, inode_ = 0;
    bool seen_ = false;
    std::string partial_;
    std::string head_;  // the file's first bytes: a rewrite of the same length still shows as a new file
    long line_ = 0, restarts_ = 0;
};

}  // namespace moescope
