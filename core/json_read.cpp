#include "json_read.hpp"

#include <cstdint>

#include "error.hpp"

namespace moescope {

long json_whole(const nlohmann::json& v, const std::string& what, long lo, long hi) {
    const bool ok = v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(hi) &&
                                                 (lo <= 0 || v.get<uint64_t>() >= static_cast<uint64_t>(lo))
                    : v.is_number_integer() ? v.get<long>() >= lo && v.get<long>() <= hi
                                            : false;
    if (!ok)
        throw DataError(what + " must be a whole number in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                        "], got " + json_excerpt(v));
    return v.get<long>();
}

nlohmann::json path_to_json(const std::string& path) {
    if (is_utf8(path)) return path;
    static const char* const digits = "0123456789abcdef";
    std::string hex;
    for (unsigned char b : path) hex += {digits[b >> 4], digits[b & 15]};
    return {{"hex", hex}};
}

std::string json_excerpt(const nlohmann::json& v, size_t max) {
    return clip_text(v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), max);
}

}  // namespace moescope
