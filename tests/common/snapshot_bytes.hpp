#pragma once
// A snapshot file as bytes, for the bad-file tests: read and write it whole,
// split it into its JSON header and data to damage one, and join them again.
// Layout (docs/snapshots.md): 8-byte little-endian header length, header, data.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

namespace snapshot_bytes {

inline std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// A fresh file each time: rewriting a truncated file makes ext4 flush it on close, 100× slower.
inline void write_bytes(const std::string& path, const std::string& bytes) {
    std::remove(path.c_str());
    std::ofstream(path, std::ios::binary) << bytes;
}

struct Parts {
    nlohmann::json header;
    std::string data;
};

inline Parts split(const std::string& file) {
    uint64_t n = 0;
    std::memcpy(&n, file.data(), 8);
    return {nlohmann::json::parse(file.substr(8, n)), file.substr(8 + n)};
}

inline std::string join_raw(const std::string& header, const std::string& data) {
    const uint64_t n = header.size();
    return std::string(reinterpret_cast<const char*>(&n), 8) + header + data;
}

inline std::string join(const Parts& p) { return join_raw(p.header.dump(), p.data); }

}  // namespace snapshot_bytes
