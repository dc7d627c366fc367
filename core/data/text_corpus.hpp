#pragma once
// Reading a UTF-8 text file as a sequence of character ids over a small
// vocabulary, for next-character prediction. Windowing, shuffling and splitting
// belong to the dataset.
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

namespace moescope {

struct TextCorpus {
    std::vector<int32_t> ids;        // vocabulary id of every character, in text order
    std::vector<std::string> vocab;  // UTF-8 of each id, most frequent first; kOtherToken last when capped
};

// Characters the text dataset keeps: 95 (about printable ASCII) plus the "other" bucket.
inline constexpr int kTextVocabKept = 95;

// Name of the bucket that collects every character outside the kept vocabulary.
inline constexpr const char* kOtherToken = "<other>";

// Reads `path` as strict UTF-8 (a leading byte-order mark is dropped, CRLF
// becomes LF) and keeps the `max_kept` most frequent code points (ties: lower
// code point first); if there are more, the rest share one kOtherToken id.
// Throws DataError naming the file, and the line of the first invalid byte sequence.
TextCorpus read_text_corpus(const std::string& path, int max_kept);

// The text dataset's samples: one column of x per target position in `targets`,
// the `context` previous characters one-hot, oldest first (block j covers the id
// at position t − context + j; positions before the start stay zero); y holds the
// target characters' ids. x is (context·vocab) × targets.size().
void text_windows(const std::vector<int32_t>& ids, const std::vector<long>& targets, int context, int vocab,
                  Eigen::MatrixXf& x, std::vector<int32_t>& y);

// `text`'s characters as ids of `vocab` (a corpus's vocabulary): a character
// outside it takes kOtherToken's id when the vocabulary has one. Throws
// DataError for invalid UTF-8 and for a character the vocabulary cannot hold,
// naming `what` ("the prompt") and the character.
std::vector<int32_t> encode_text(const std::string& text, const std::vector<std::string>& vocab,
                                 const std::string& what);

// The UTF-8 encoding of one code point.
std::string encode_utf8(char32_t cp);

}  // namespace moescope
