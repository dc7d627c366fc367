#include "error.hpp"

#include <cstdint>
#include <cstdio>
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

namespace {

// Length of the well-formed UTF-8 character at the start of `text`, or 0.
size_t utf8_char_length(std::string_view text) {
    const auto b = static_cast<unsigned char>(text[0]);
    const size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || n > text.size()) return 0;
    uint32_t cp = n == 1 ? b : b & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
        const auto c = static_cast<unsigned char>(text[k]);
        if ((c & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (c & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8 either.
    const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[n] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
    // C0 and C1 control characters are shown escaped, as bytes.
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) return 0;
    return n;
}

}  // namespace

std::string clip_text(std::string_view text, size_t max) {
    std::string out;
    size_t i = 0;
    while (i < text.size() && out.size() < max) {
        const size_t n = utf8_char_length(text.substr(i));
        if (n > 0) {
            out.append(text.substr(i, n));
            i += n;
        } else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02X", static_cast<unsigned char>(text[i]));
            out += hex;
            ++i;
        }
    }
    if (i < text.size()) out += "… (" + std::to_string(text.size()) + " bytes)";
    return out;
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

namespace {

// "parse error at line 1, column 2: syntax error while parsing object key - unexpected ']'; expected
// string literal" → "unexpected ']' at line 1, column 2".
std::string parse_error_text(const std::string& s) {
    std::string where;
    if (const auto at = s.find("at line "); at != std::string::npos)
        where = " at " + s.substr(at + 3, s.find(':', at) == std::string::npos ? 0 : s.find(':', at) - at - 3);
    else if (const auto b = s.find("at byte "); b != std::string::npos)
        where = " at byte " + s.substr(b + 8, s.find_first_not_of("0123456789", b + 8) - b - 8);
    const std::string detail = s.find(" - ") == std::string::npos ? s : s.substr(s.find(" - ") + 3);
    std::string what = "a syntax error";
    if (detail.find("UTF-8") != std::string::npos)
        what = "text that is not UTF-8";
    else if (detail.find("control character") != std::string::npos)
        what = "a control character inside a string";
    else if (detail.find("end of input") != std::string::npos && detail.rfind("unexpected end", 0) == 0)
        what = "the text ends too early";
    else if (detail.find("expected end of input") != std::string::npos)
        what = "more text after the end of the JSON value";
    else if (detail.find("invalid number") != std::string::npos)
        what = "a malformed number";
    else if (detail.find("invalid literal") != std::string::npos)
        what = "a word that is not true, false, null, a number or a string";
    else if (detail.find("\\u") != std::string::npos || detail.find("surrogate") != std::string::npos)
        what = "a bad \\u escape";
    else if (detail.rfind("unexpected '", 0) == 0 && detail.find('\'', 12) != std::string::npos)
        what = "an unexpected " + clip_text(detail.substr(11, detail.find('\'', 12) - 10), 12);
    else if (detail.find("empty input") != std::string::npos)
        what = "no JSON text at all";
    return what + where;
}

}  // namespace

std::string json_error_text(const std::exception& e) {
    std::string s = e.what();
    const bool tagged = s.rfind("[json.exception.", 0) == 0 && s.find("] ") != std::string::npos;
    const std::string tag = tagged ? s.substr(16, s.find("] ") - 16) : "";  // "parse_error.101"
    if (tagged) s.erase(0, s.find("] ") + 2);
    if (tag.rfind("parse_error", 0) == 0) return parse_error_text(s);
    // Library phrasing → what it means for the file.
    if (s.rfind("key '", 0) == 0 && s.ends_with("' not found"))
        return "missing key '" + clip_text(s.substr(5, s.size() - 16), 60) + "'";
    if (s.rfind("cannot use at() with ", 0) == 0) return "expected an object, found a " + clip_text(s.substr(21), 20);
    if (s.rfind("cannot use operator[] with ", 0) == 0)
        return "expected an object, found a " + clip_text(s.substr(27), 20);
    if (s.rfind("cannot use value() with ", 0) == 0)
        return "expected an object, found a " + clip_text(s.substr(24), 20);
    if (s.rfind("type must be ", 0) == 0) {
        const auto but = s.find(", but is ");
        return "a value must be a " + clip_text(s.substr(13, but == std::string::npos ? 20 : but - 13), 20) +
               (but == std::string::npos ? "" : ", not a " + clip_text(s.substr(but + 9), 20));
    }
    if (s.rfind("invalid UTF-8 byte at index ", 0) == 0)
        return "text that is not UTF-8 (at byte " + clip_text(s.substr(28, s.find(':') - 28), 20) + ")";
    if (s.rfind("array index ", 0) == 0) return "an array is too short (" + clip_text(s, 60) + ")";
    if (s.rfind("number overflow", 0) == 0) return "a number too large to hold";
    if (tagged) return "JSON of an unexpected shape (" + clip_text(s, 60) + ")";
    return clip_text(s, 120);
}

void fail_internal(const char* file, int line, const char* expr, const std::string& what) {
    throw Error(std::string(file) + ":" + std::to_string(line) + ": internal error: " + what +
                " (check failed: " + expr + ")");
}

}  // namespace moescope
