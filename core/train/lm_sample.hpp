#pragma once
// Text written by the language model (model transformer, docs/lm.md): what the
// window's sample panel and `moescope-cli train --sample` show, so a class sees
// the model learn.
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "nn/rng.hpp"
#include "train/config.hpp"

namespace moescope {

struct LmSampleOptions {
    std::string prompt = "\n";  // what the model continues; empty: a newline
    int length = 200;           // characters to write
    double temperature = 0.8;   // 0: always the most likely character
};

// Continues the prompt one character at a time: each is drawn from the model's
// next-character distribution raised to 1/temperature, seeing the last `context`
// characters. `vocab` is the dataset's (Dataset::class_names). Returns only the
// new characters. Throws DataError for a prompt the vocabulary cannot encode,
// ConfigError for a non-lm run or options out of range.
std::string sample_lm_text(Engine& engine, const Config& knobs, const std::vector<std::string>& vocab,
                           const LmSampleOptions& options, Rng& rng);

}  // namespace moescope
