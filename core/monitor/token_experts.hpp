#pragma once
// Tokens coloured by expert (the Mixtral paper's figure, live), with each MoE
// layer's first-choice expert per character (and, for token choice, its top-k
// experts and their gates):
// - text dataset: the first characters of the file, each routed as its own
//   sample — the window of `context` characters before it, as the dataset builds it;
// - lm dataset: the first whole sequences of the held-out part, routed as the
//   model routes them (each character one token, attending to those before it in
//   its sequence).
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "data/dataset.hpp"
#include "engine/engine.hpp"
#include "train/config.hpp"

namespace moescope {

// The probe batch: characters 0..n−1 of the text, in order.
struct TextSpan {
    std::vector<std::string> chars;  // n: UTF-8 of each character ("<other>" outside the kept vocabulary)
    Eigen::MatrixXf x;               // d_in × n: text: character t's window; lm: 1 × n, character t's id
    std::vector<int32_t> labels;     // n: text: each character's id (what its window predicts); lm: the next one's
};

// Reads cfg.text_path as the text dataset does (same vocabulary, same windows)
// and keeps its first min(n, length) characters. Throws ConfigError when the run
// is not on a text dataset or n < 1, DataError when the file cannot be read.
TextSpan make_text_span(const Config& cfg, long n);

// The span of a run's dataset: for text as above; for lm its held-out part's first
// characters (x_test), cut to whole sequences: min(n, held out) rounded down to a
// multiple of the context, at least one sequence. Throws ConfigError for any other
// dataset or n < 1.
TextSpan make_text_span(const Config& cfg, const Dataset& data, long n);

struct TokenExperts {
    int layers = 0, experts = 0;
    long chars = 0;
    std::vector<int16_t> top1;  // [layer][character]: the routing's own first choice
    long step = 0;              // trainer step it was computed at (set by the caller)
    // Token choice: each character's k experts and their gates, largest gate first,
    // at [(layer·chars + character)·k + rank]; k = 0 (both empty) for expert choice
    // or an engine that does not report them.
    int k = 0;
    std::vector<int16_t> topk_expert{};
    std::vector<float> topk_gate{};

    int expert(int layer, long t) const { return top1[static_cast<size_t>(layer) * chars + t]; }
    int topk_expert_at(int layer, long t, int rank) const { return topk_expert[topk_index(layer, t, rank)]; }
    float topk_gate_at(int layer, long t, int rank) const { return topk_gate[topk_index(layer, t, rank)]; }

private:
    size_t topk_index(int layer, long t, int rank) const {
        return (static_cast<size_t>(layer) * static_cast<size_t>(chars) + static_cast<size_t>(t)) * k + rank;
    }
};

// Routes the span through `engine` (no training noise; random routing draws
// from a fixed stream) and reads each layer's first choice as the routing makes
// it: the largest logit for top-k, the hash of the character's position (its
// sample id) for hash routing. Token choice runs dropless, as a display of
// where each character goes. Uses the engine's Pass::Region buffers: a text or
// lm dataset never has a region map.
TokenExperts compute_token_experts(Engine& engine, const Config& knobs, const TextSpan& span);

}  // namespace moescope
