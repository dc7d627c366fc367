#pragma once
// The training-speed benchmark behind `moescope-cli bench`: times real
// training steps of a fixed config, splits them into phases, and compares the
// expert GEMMs with the fastest sgemm this build links (every library, same
// shapes, same threads, measured in the same run: the roofline).
#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "train/config.hpp"
#include "train/step_timer.hpp"

namespace moescope {

// clusters, d_in 64, 10 classes, d_model 256, d_ff 1024, 16 experts, top-2
// softmax routing, 2 layers, 4096 tokens per step, AdamW, dropless, aux 1e-2.
Config bench_config();
// `bench --set model=transformer`: the lm preset (the MoE language model as
// people run it), without held-out evaluation or probes.
Config lm_bench_config();

struct BenchOptions {
    Config config = bench_config();
    int warmup_steps = 3;
    int steps = 10;         // timed steps after warm-up
    bool scaling = true;    // also run the scaling table
    int scaling_steps = 3;  // timed steps per scaling point (after one warm-up step)
    int sgemm_repeats = 2;  // passes per sgemm library after each timed step; the best one counts
};

// One sgemm library measured at the bench's expert shapes.
struct SgemmCandidate {
    std::string name;    // "oneDNN 2.6.3 dnnl_sgemm"
    std::string kernel;  // what it runs on this CPU: "avx512_core", OpenBLAS's corename, "-march=x86-64-v3"
    double gflops = 0;   // median over the steps of the best pass after each
    bool used_by_model = false;
};

// One row of the scaling table: the bench config with one field changed.
struct ScalingPoint {
    std::string axis;  // tokens | experts | d_ff | top_k
    long value = 0;
    double ms_per_step = 0, tokens_per_s = 0;
    double expert_gflops = 0;  // expert GEMM FLOPs ÷ time in the expert phases
    double relative_cost = 0;  // (ms per token·choice·d_ff) ÷ the same for the bench config
};

// Where the expert phases' time goes (ms per step, all layers, forward and
// backward), from replays of the last timed step's expert work outside the
// model, best of a few passes each, through the model's own sgemm.
struct ExpertAttribution {
    double phase_ms = 0;             // experts_fwd + experts_bwd in the training step (median)
    double even_gemm_ms = 0;         // the six GEMMs with T·k/E tokens per expert (the roofline's shapes)
    double step_loads_gemm_ms = 0;   // the six GEMMs with the step's own tokens per expert
    double model_ops_ms = 0;         // the model's expert code at those loads: + bias, GELU and its gradient
    long max_tokens_per_expert = 0;  // the step's most loaded expert
};

struct BenchResult {
    Config config;
    int threads = 1;
    int steps = 0;
    double ms_per_step = 0;                        // median
    double mean_ms_per_step = 0;                   // what the phase means add up to
    double tokens_per_s = 0;                       // from the median
    std::array<double, kPhases> phase_ms{};        // mean per step
    double expert_flops_per_step = 0;              // 12·T·k·L·d_model·d_ff (fwd+bwd of the two expert matmuls)
    double model_flops_per_step = 0;               // every GEMM of a step (model_gemm_flops); the roofline's work
    int classes = 0;                               // the head's outputs (the lm's vocabulary)
    double expert_gflops = 0;                      // ÷ time in experts_fwd + experts_bwd (median)
    std::vector<SgemmCandidate> sgemm_candidates;  // every sgemm linked, the model's first
    int best_candidate = 0;                        // index of the fastest (by median) in sgemm_candidates
    double sgemm_gflops = 0;           // roofline sgemm: the fastest library after each step, same threads (median)
    double model_sgemm_gflops = 0;     // the model's own sgemm library (median)
    double gemm_efficiency = 0;        // expert GFLOP/s ÷ sgemm GFLOP/s, median of per-step pairs
    double roofline_tokens_per_s = 0;  // sgemm_gflops ÷ expert FLOPs per token
    double step_efficiency = 0;        // tokens/s ÷ roofline tokens/s, median of per-step pairs
    size_t workspace_bytes = 0;        // activations and scratch of one step
    size_t parameter_bytes = 0;        // parameters, gradients, optimizer moments
    ExpertAttribution attribution;
    std::vector<ScalingPoint> scaling;
};

// 12·T·k·L·d_model·d_ff
double expert_gemm_flops(const Config& c);
// Every GEMM of a training step, forward and backward (3× the forward): the
// experts, the routers and the head; for the transformer also the attention's
// projections (4·d²) and its scores and mixing (2·context·d per token: the
// full L × L products, as computed). The mlp's input projection is left out.
double model_gemm_flops(const Config& c, int classes);

// Best-of-`repeats` GFLOP/s of the six expert GEMMs of one layer (forward
// W1·U, W2·Act; backward dW2, dAct, dW1, dU) for T·k/E tokens per expert,
// experts spread over the OpenMP threads as in the model, on every sgemm
// library this build links (gemm::candidates()).
std::vector<SgemmCandidate> measure_sgemm_candidates(const Config& c, int repeats);

// Runs the benchmark; throws ConfigError for an invalid config.
BenchResult run_bench(const BenchOptions& opt);

}  // namespace moescope
