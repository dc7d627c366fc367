#include "error.hpp"

#include <cstdint>
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

std::string clip_text(std::string_view text, size_t max) {
    if (text.size() <= max) return std::string(text);
    size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
    return std::string(text.substr(0, cut)) + "… (" + std::to_string(text.size()) + " bytes)";
}

bool is_utf8(std::string_view text) {
    for (size_t i = 0; i < text.size();) {
        const auto b = static_cast<unsigned char>(text[i]);
        const size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
        if (n == 0 || i + n > text.size()) return false;
        uint32_t cp = n == 1 ? b : b & (0x7F >> n);
        for (size_t k = 1; k < n; ++k) {
            const auto c = static_cast<unsigned char>(text[i + k]);
            if ((c & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (c & 0x3F);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8 either.
        const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[n] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return false;
        i += n;
    }
    return true;
}

std::string json_error_text(const std::exception& e) {
    std::string s = e.what();
    if (s.rfind("[json.exception.", 0) == 0 && s.find("] ") != std::string::npos) s.erase(0, s.find("] ") + 2);
    // Library phrasing → what it means for the file.
    if (s.rfind("key '", 0) == 0 && s.ends_with("' not found")) return "missing key " + s.substr(4, s.size() - 14);
    if (s.rfind("cannot use at() with ", 0) == 0) return "expected an object, found a " + s.substr(21);
    if (s.rfind("cannot use operator[] with ", 0) == 0) return "expected an object, found a " + s.substr(27);
    if (s.rfind("type must be ", 0) == 0) return "a value must be a " + s.substr(13);
    return s;
}

void fail_internal(const char* file, int line, const char* expr, const std::string& what) {
    throw Error(std::string(file) + ":" + std::to_string(line) + ": internal error: " + what +
                " (check failed: " + expr + ")");
}

}  // namespace moescope
