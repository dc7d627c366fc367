#pragma once
// Errors thrown by the core. User-facing errors (bad config, bad file, bad knob
// value) carry a clean message naming the problem; internal invariant failures
// carry file:line and the failing expression. Nothing in core calls exit().
#include <stdexcept>
#include <string>
#include <string_view>

namespace moescope {

struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};
// A value in a config, preset, CLI flag or knob change is not acceptable.
struct ConfigError : Error {
    using Error::Error;
};
// A data file (CSV, text) or snapshot cannot be used.
struct DataError : Error {
    using Error::Error;
};

// `text` as it may be echoed in a message: at most about `max` bytes with "…"
// appended when cut, so a 100 KB value stays one line; control characters and
// bytes that are not UTF-8 appear escaped as \xNN, so a file's bytes never
// reach a terminal raw.
std::string clip_text(std::string_view text, size_t max = 80);

// True when `text` is well-formed UTF-8 (what JSON and label names need).
bool is_utf8(std::string_view text);

// A nlohmann::json exception's message in the project's words, never the
// library's: "unexpected ']' at line 1, column 2", "a value must be a string,
// not a number", "missing key 'x'", "text that is not UTF-8 (at byte 26)". No
// excerpt of the JSON text itself is kept.
std::string json_error_text(const std::exception& e);

// Why `path` cannot be read as a file ("no such file", "is a directory"), or "" when it can.
std::string unreadable_file_reason(const std::string& path);

[[noreturn]] void fail_internal(const char* file, int line, const char* expr, const std::string& what);

}  // namespace moescope

#define MS_ASSERT(cond, what)                                                      \
    do {                                                                           \
        if (!(cond)) ::moescope::fail_internal(__FILE__, __LINE__, #cond, (what)); \
    } while (0)
