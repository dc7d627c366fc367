#pragma once
// Follows a growing text file the way `tail -F` does, for logs that another
// process is still writing: only whole lines come out (a writer caught
// mid-line keeps its partial line until the newline arrives); a file that
// shrinks or is rewritten from its start (truncated: its first bytes
// changed) or is replaced (rotated: a new inode) is read again from its start;
// a file that is missing now and appears later is picked up. Memory is
// bounded: a line longer than kMaxLineBytes is not kept but delivered as one
// too-long line (its bytes dropped), and reading goes on after it.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace moescope {

class LogTail {
public:
    static constexpr size_t kMaxLineBytes = 16u << 20;

    // line: the line's bytes without its newline (empty when too_long);
    // number: 1-based, counted from the file's start (restarts at 1 after
    // truncation or rotation).
    using OnLine = std::function<void(std::string_view line, long number, bool too_long)>;

    explicit LogTail(std::string path) : path_(std::move(path)) {}

    // Reads what was appended since the last call, at most max_bytes, and calls
    // on_line for each complete line. Returns the number of bytes read (0 at
    // the end of the file). Never throws for a missing file.
    uint64_t poll(const OnLine& on_line, size_t max_bytes = 8u << 20);

    // Delivers a last line that has no newline (the writer has finished): for --once.
    long flush(const OnLine& on_line);

    const std::string& path() const { return path_; }
    long restarts() const { return restarts_; }  // truncations and rotations seen
    uint64_t offset() const { return offset_; }

private:
    std::string path_;
    uint64_t offset_ = 0, inode_ = 0;
    bool seen_ = false;
    std::string partial_;
    bool partial_too_long_ = false;  // the current line passed kMaxLineBytes: its bytes are dropped
    std::string head_;               // the file's first bytes: a rewrite of the same length still shows as a new file
    // The bytes just before offset_: a rerun that rewrote the file past where we
    // were, with the same header, still shows as a new file.
    std::string last_;
    long line_ = 0, restarts_ = 0;
};

}  // namespace moescope
