#pragma once
// The engine seam (llm.c / ggml-backend spirit): everything that holds the
// network's numbers — parameters, gradients, optimizer moments, activations —
// lives behind this small interface, so the trainer, snapshots, the region
// grid, the bench and the window run unchanged on any engine. What crosses it:
//   in:  a batch as flat host arrays (x, labels, sample ids), the knobs, the run's Rng;
//   out: per step a StepSummary of O(L·E + L·classes·E) numbers, never an E×T
//        matrix; per probe L·T first choices; per evaluation one count;
//        parameters, moments and selection bias as flat host vectors for snapshots.
// CpuEngine (cpu_engine.*) is the reference; make_engine (engine_factory.*) is
// the one place that knows which engines exist.
#include <cstdint>
#include <string>
#include <vector>

#include "nn/optimizer.hpp"
#include "nn/params.hpp"
#include "nn/rng.hpp"
#include "routing/policy_kind.hpp"
#include "train/config.hpp"
#include "train/step_timer.hpp"

namespace moescope {

// Tokens on the host, one per column: x is d_in × T, column-major.
struct HostBatch {
    const float* x = nullptr;
    const int32_t* labels = nullptr;  // T class labels
    const int32_t* ids = nullptr;     // T sample ids (hash routing)
    long T = 0;
};

// One MoE layer of one training step; definitions in docs/metrics.md.
struct LayerSummary {
    std::vector<double> counts;                    // E: assignments per expert before drops (C_i)
    std::vector<double> mean_prob;                 // E: mean_t p_t,i (clean router probabilities)
    double router_entropy = 0;                     // mean_t H(p_t)/ln E
    double dropped = 0;                            // dropped assignments / (T·k); expert choice: untaken tokens / T
    double mean_abs_logit = 0, max_abs_logit = 0;  // of the router logits z
    double balance = 0, zloss = 0, cv2 = 0, entropy = 0;  // router loss terms, unweighted
    double router_grad_norm = 0, expert_grad_norm = 0;    // before clipping
    std::vector<int32_t> class_expert;  // classes × E, row-major: tokens of class c whose top-1 expert is e
};

// Everything the trainer's metrics need from one training step.
struct StepSummary {
    long tokens = 0;
    double loss = 0, ce = 0;
    long correct = 0;    // argmax predictions equal to the label
    bool finite = true;  // false: loss or an update not finite; nothing was changed
    GradNorms norms;     // before clipping; total, router, experts NaN when not finite
    std::vector<LayerSummary> layers;
};

// Per layer l and token t, at [l·T + t]: a first-choice expert and its clean probability p.
// Token-choice routing on the CPU engine also gives each token's k chosen experts with
// their gates (the weights of their outputs), largest gate first, at [(l·T + t)·k + r],
// before any capacity drop; k = 0 and both empty where an engine or policy leaves them out.
struct FirstChoices {
    std::vector<int32_t> expert;
    std::vector<float> prob;
    int k = 0;
    std::vector<int32_t> topk_expert;
    std::vector<float> topk_gate;
};

// A forward-only pass over held-out tokens.
struct EvalCounts {
    long correct = 0;   // argmax predictions equal to the label
    double ce_sum = 0;  // Σ_t −ln p(label_t), nats
};

// Forward-only passes keep their own buffers, each sized on first use.
enum class Pass { Eval, Probe, Region };

class Engine {
public:
    virtual ~Engine() = default;

    virtual std::string name() const = 0;  // "cpu", "cuda"
    virtual const Config& structure() const = 0;
    virtual const ParamLayout& layout() const = 0;
    virtual int d_in() const = 0;
    virtual int classes() const = 0;
    virtual RoutingPolicyKind policy() const = 0;

    // ---- one training step: load_batch, sample_noise, train_step, summary ----
    // The step's tokens; T is the structure's batch_tokens.
    virtual void load_batch(const HostBatch& batch) = 0;
    // Draws the step's noise (logit jitter, noisy_topk's ε, random routing) from `rng`.
    virtual void sample_noise(const Config& knobs, Rng& rng) = 0;
    // Forward, backward, gradient norms, router clip then global clip, the
    // update and (bias_balanced) the selection bias, then the summary. Returns
    // false, changing no weight, moment or bias, when the loss, a gradient or
    // the update is not finite.
    virtual bool train_step(const Config& knobs) = 0;
    virtual const StepSummary& summary() const = 0;

    // ---- forward only (no training noise; random routing draws from rng) ----
    // Correct argmax predictions and the summed cross-entropy on `batch`.
    virtual EvalCounts evaluate(const HostBatch& batch, const Config& knobs, Rng& rng) = 0;
    // The model's predicted distribution after every token of `batch`: classes × T,
    // column-major (the language model samples text from its last column).
    virtual void predictions(const HostBatch& batch, const Config& knobs, Rng& rng, std::vector<float>& probs) = 0;
    // Each layer's first choice per token: the routing's own, or with
    // by_probability the expert of largest clean probability.
    virtual void first_choices(Pass pass, const HostBatch& batch, const Config& knobs, Rng& rng, bool by_probability,
                               FirstChoices& out) = 0;

    // ---- state as flat host vectors (layout() order), for snapshots and forks ----
    virtual std::vector<float> export_params() const = 0;
    // Throws DataError when the size differs from layout().total.
    virtual void import_params(const std::vector<float>& params) = 0;
    // AdamW m and v (SGD: momentum in m, v unused) and the optimizer's step count.
    virtual std::vector<float> export_moment1() const = 0;
    virtual std::vector<float> export_moment2() const = 0;
    virtual long optimizer_steps() const = 0;
    virtual void import_optimizer(const std::vector<float>& m1, const std::vector<float>& m2, long steps) = 0;
    // L × E; moved by bias_balanced only.
    virtual std::vector<float> export_selection_bias() const = 0;
    virtual void import_selection_bias(const std::vector<float>& bias) = 0;

    // ---- resources and timing ----
    // Bytes of the training step's activations and scratch.
    virtual size_t workspace_bytes() const = 0;
    // Charges each phase of the following steps to `timer` (null: timing off).
    virtual void set_step_timer(StepTimer* timer) = 0;
};

}  // namespace moescope
