#pragma once
// What every moescope-cli command file shares: the usage error a command throws
// for bad flags, and printf-style number formatting for the text it prints.
#include <cstdio>
#include <stdexcept>
#include <string>

namespace moescope {

// Bad command-line input (unknown option, missing value); main() prints it as
// one "moescope-cli: error:" line and exits 2, like every other bad input.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One number through a printf format ("%.3f"), as a string.
inline std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

}  // namespace moescope
