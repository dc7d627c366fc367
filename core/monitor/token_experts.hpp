#pragma once
// Tokens coloured by expert (the Mixtral paper's figure, live): the first
// characters of a text dataset's file, each routed as its own sample — the
// window of `context` characters before it, as the text dataset builds it —
// with each MoE layer's first-choice expert per character.
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "engine/engine.hpp"
#include "train/config.hpp"

namespace moescope {

// The probe batch: characters 0..n−1 of the text, in order.
struct TextSpan {
    std::vector<std::string> chars;  // n: UTF-8 of each character ("<other>" outside the kept vocabulary)
    Eigen::MatrixXf x;               // d_in × n: character t's window, as the text dataset's sample for t
    std::vector<int32_t> labels;     // n: each character's id (the target its window predicts)
};

// Reads cfg.text_path as the text dataset does (same vocabulary, same windows)
// and keeps its first min(n, length) characters. Throws ConfigError when the run
// is not on a text dataset or n < 1, DataError when the file cannot be read.
TextSpan make_text_span(const Config& cfg, long n);

struct TokenExperts {
    int layers = 0, experts = 0;
    long chars = 0;
    std::vector<int16_t> top1;  // [layer][character]: the routing's own first choice
    long step = 0;              // trainer step it was computed at (set by the caller)

    int expert(int layer, long t) const { return top1[static_cast<size_t>(layer) * chars + t]; }
};

// Routes the span through `engine` (no training noise; random routing draws
// from a fixed stream) and reads each layer's first choice as the routing makes
// it: the largest logit for top-k, the hash of the character's position (its
// sample id) for hash routing. Token choice runs dropless, as a display of
// where each character goes. Uses the engine's Pass::Region buffers: a text
// dataset never has a region map.
TokenExperts compute_token_experts(Engine& engine, const Config& knobs, const TextSpan& span);

}  // namespace moescope
