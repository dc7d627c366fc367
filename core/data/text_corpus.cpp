#include "data/text_corpus.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <unordered_map>
#include <utility>

#include "error.hpp"
#include "file_read.hpp"

namespace moescope {
namespace {

std::string read_bytes(const std::string& path) { return read_regular_file(path, kMaxTextBytes, "text file"); }

// Length of the UTF-8 sequence that lead byte `b` starts, or 0 if it cannot start one
// (continuation bytes, the overlong leads C0/C1 and leads beyond U+10FFFF).
int sequence_length(unsigned char b) {
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF) return 2;
    if (b >= 0xE0 && b <= 0xEF) return 3;
    if (b >= 0xF0 && b <= 0xF4) return 4;
    return 0;
}

// Decodes the sequence of `len` bytes at s[0..len); returns false for truncated,
// overlong, surrogate or out-of-range sequences.
bool decode_sequence(const unsigned char* s, size_t available, int len, char32_t& cp) {
    static constexpr char32_t kMinOfLength[] = {0, 0, 0x80, 0x800, 0x10000};
    static constexpr unsigned char kLeadMask[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
    if (static_cast<size_t>(len) > available) return false;
    cp = s[0] & kLeadMask[len];
    for (int k = 1; k < len; ++k) {
        if ((s[k] & 0xC0) != 0x80) return false;
        // Each continuation byte carries 6 payload bits.
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    return cp >= kMinOfLength[len] && cp <= 0x10FFFF && !surrogate;
}

std::vector<char32_t> decode_utf8(const std::string& bytes, const std::string& path) {
    const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
    const size_t n = bytes.size();
    std::vector<char32_t> chars;
    chars.reserve(n);
    long line = 1;
    for (size_t i = 0; i < n;) {
        const int len = sequence_length(s[i]);
        char32_t cp = 0;
        if (len == 0 || !decode_sequence(s + i, n - i, len, cp)) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02X", s[i]);
            throw DataError(path + " line " + std::to_string(line) +
                            ": invalid UTF-8 byte sequence starting with byte " + hex);
        }
        i += static_cast<size_t>(len);
        if (cp == U'\n') ++line;
        // A BOM only marks the encoding, and CRLF must give the same corpus as LF.
        const bool bom = cp == 0xFEFF && chars.empty() && i == 3;
        const bool cr_before_lf = cp == U'\r' && i < n && s[i] == '\n';
        if (!bom && !cr_before_lf) chars.push_back(cp);
    }
    return chars;
}

// Code points ordered by descending frequency, ties broken by code point so the order is deterministic.
std::vector<char32_t> by_frequency(const std::vector<char32_t>& chars) {
    std::unordered_map<char32_t, long> counts;
    for (const char32_t c : chars) ++counts[c];
    std::vector<std::pair<char32_t, long>> sorted(counts.begin(), counts.end());
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    std::vector<char32_t> order;
    order.reserve(sorted.size());
    for (const auto& [c, count] : sorted) order.push_back(c);
    return order;
}

}  // namespace

std::string encode_utf8(char32_t cp) {
    std::string out;
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return out;
}

void text_windows(const std::vector<int32_t>& ids, const std::vector<long>& targets, int context, int vocab,
                  Eigen::MatrixXf& x, std::vector<int32_t>& y) {
    x.setZero(static_cast<Eigen::Index>(context) * vocab, static_cast<Eigen::Index>(targets.size()));
    y.resize(targets.size());
    for (size_t i = 0; i < targets.size(); ++i) {
        const long t = targets[i];
        for (long j = std::max(0L, context - t); j < context; ++j)
            x(j * vocab + ids[static_cast<size_t>(t - context + j)], static_cast<Eigen::Index>(i)) = 1.0f;
        y[i] = ids[static_cast<size_t>(t)];
    }
}

TextCorpus read_text_corpus(const std::string& path, int max_kept) {
    const std::vector<char32_t> chars = decode_utf8(read_bytes(path), path);
    std::vector<char32_t> kept = by_frequency(chars);
    const bool capped = static_cast<long>(kept.size()) > max_kept;
    if (capped) kept.resize(static_cast<size_t>(max_kept));

    TextCorpus corpus;
    std::unordered_map<char32_t, int32_t> id_of;
    for (const char32_t c : kept) {
        id_of.emplace(c, static_cast<int32_t>(corpus.vocab.size()));
        corpus.vocab.push_back(encode_utf8(c));
    }
    const auto other_id = static_cast<int32_t>(corpus.vocab.size());
    if (capped) corpus.vocab.emplace_back(kOtherToken);

    corpus.ids.reserve(chars.size());
    for (const char32_t c : chars) {
        const auto it = id_of.find(c);
        corpus.ids.push_back(it != id_of.end() ? it->second : other_id);
    }
    return corpus;
}

std::vector<int32_t> encode_text(const std::string& text, const std::vector<std::string>& vocab,
                                 const std::string& what) {
    std::unordered_map<std::string, int32_t> id;
    for (size_t i = 0; i < vocab.size(); ++i) id.emplace(vocab[i], static_cast<int32_t>(i));
    const auto other = id.find(kOtherToken);
    std::vector<int32_t> ids;
    for (const char32_t cp : decode_utf8(text, what)) {
        const std::string ch = encode_utf8(cp);
        if (const auto it = id.find(ch); it != id.end())
            ids.push_back(it->second);
        else if (other != id.end())
            ids.push_back(other->second);
        else
            throw DataError(what + ": the character '" + ch + "' is not in the model's vocabulary of " +
                            std::to_string(vocab.size()) + " characters");
    }
    return ids;
}

}  // namespace moescope
