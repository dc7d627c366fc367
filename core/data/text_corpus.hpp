#pragma once
// Reading a UTF-8 text file as a sequence of character ids over a small
// vocabulary, for next-character prediction. Windowing, shuffling and splitting
// belong to the dataset.
#include <cstdint>
#include <string>
#include <vector>

namespace moescope {

struct TextCorpus {
    std::vector<int32_t> ids;        // vocabulary id of every character, in text order
    std::vector<std::string> vocab;  // UTF-8 of each id, most frequent first; kOtherToken last when capped
};

// Name of the bucket that collects every character outside the kept vocabulary.
inline constexpr const char* kOtherToken = "<other>";

// Reads `path` as strict UTF-8 (a leading byte-order mark is dropped, CRLF
// becomes LF) and keeps the `max_kept` most frequent code points (ties: lower
// code point first); if there are more, the rest share one kOtherToken id.
// Throws DataError naming the file, and the line of the first invalid byte sequence.
TextCorpus read_text_corpus(const std::string& path, int max_kept);

// The UTF-8 encoding of one code point.
std::string encode_utf8(char32_t cp);

}  // namespace moescope
