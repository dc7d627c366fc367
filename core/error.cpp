#include "error.hpp"

#include <filesystem>

namespace moescope {

std::string unreadable_file_reason(const std::string& path) {
    std::error_code ec;
    const auto st = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(st)) return "no such file";
    if (std::filesystem::is_directory(st)) return "it is a directory, not a file";
    if (!std::filesystem::is_regular_file(st)) return "it is not a regular file";
    return "";
}

void fail_internal(const char* file, int line, const char* expr, const std::string& what) {
    throw Error(std::string(file) + ":" + std::to_string(line) + ": internal error: " + what +
                " (check failed: " + expr + ")");
}

}  // namespace moescope
