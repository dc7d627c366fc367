#pragma once
// FNV-1a, 64-bit: a fast, stable hash of bytes (not cryptographic). It
// fingerprints a snapshot's dataset, names a cluster sweep's definition and
// the per-machine GEMM cache. Shared by train/, io/ and nn/, so it sits next
// to error.hpp.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace moescope {

inline constexpr uint64_t kFnv1aOffset = 0xcbf29ce484222325ull;

// Continues `h` over n bytes at p (start with kFnv1aOffset).
inline uint64_t fnv1a(const void* p, size_t n, uint64_t h = kFnv1aOffset) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}
inline uint64_t fnv1a(std::string_view s, uint64_t h = kFnv1aOffset) { return fnv1a(s.data(), s.size(), h); }

// 16 lower-case hex digits.
inline std::string hash_text(uint64_t h) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

}  // namespace moescope
