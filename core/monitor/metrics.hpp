#pragma once
// Per-step metrics: the value type that flows from the trainer to the monitor,
// the CLI and the window; metric_defs.hpp names each field once for every file
// and plot. Definitions follow docs/metrics.md exactly; the
// pure functions below compute them from a routing so tests can check them on
// hand-made inputs.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace moescope {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct LayerMetrics {
    std::vector<double> load;         // E: C_i / (T·k)
    std::vector<double> utilization;  // E: E·load_i (1 = fair share)
    std::vector<double> mean_prob;    // E: mean_t softmax(z_t)_i
    double max_util = 0;
    double cv = 0;              // std(C)/mean(C)
    double load_entropy = 0;    // ∈ [0,1], 1 = perfectly balanced
    double router_entropy = 0;  // ∈ [0,1], 1 = router undecided
    double dropped = 0;         // dropped assignments / (T·k)
    int dead_experts = 0;       // utilization < dead_util averaged over the last dead_window steps
    double mean_abs_logit = 0, max_abs_logit = 0;
    double balance_loss = 0, z_loss = 0, importance_cv2 = 0, entropy_reg = 0;
    double router_grad_norm = 0, expert_grad_norm = 0;
    double churn = kNaN;  // share of probe tokens whose top-1 expert changed; NaN when not probed this step
    int classes = 0;
    std::vector<int32_t> class_expert;  // classes × E, row-major: tokens of class c whose top-1 expert is e
    double nmi = 0;                     // normalised mutual information of (class, top-1 expert)
};

struct StepMetrics {
    long step = 0;    // number of optimizer steps done after this one
    double loss = 0;  // total objective
    double ce = 0, aux = 0, zloss = 0, importance = 0, entropy_reg = 0;  // unweighted, mean over layers
    double train_acc = 0;
    double test_acc = kNaN;   // NaN except on evaluation steps
    double test_bits = kNaN;  // held-out cross-entropy, bits per token; NaN except on evaluation steps
    double grad_norm = 0, router_grad_norm = 0, expert_grad_norm = 0;  // before clipping
    double step_ms = 0, tokens_per_s = 0;
    bool finite = true;      // false: loss or gradients not finite; the update was skipped
    double dead_util = 0.1;  // the dead_util knob the layers' dead_experts were counted with (Config's default)
    std::vector<LayerMetrics> layers;
};

// Each balance metric at its worst layer: what a person (the CLI's progress
// line, a lesson's claim) looks at first.
struct WorstLayers {
    double load_entropy = 1, router_entropy = 1, max_util = 0, dropped = 0;
    int dead = 0;
};
WorstLayers worst_layers(const StepMetrics& m);

// --- metric definitions on plain inputs (used by the trainer and by tests) ---

// Fills load, utilization, max_util, cv, load_entropy from assignment counts
// C_i (before drops) for T tokens with k choices each.
void routing_balance_metrics(const std::vector<double>& counts, long tokens, int k, LayerMetrics& m);

// mean_t H(p_t)/ln E for column-stochastic probabilities (E × T, column-major).
double router_entropy(const float* probs, int E, long T);
double router_entropy(const double* probs, int E, long T);

// Normalised mutual information I(C;E)/sqrt(H(C)·H(E)) of a classes × E count
// matrix (row-major); 0 when either marginal has zero entropy.
double normalized_mutual_information(const std::vector<int32_t>& counts, int classes, int E);

// Tracks utilisation over a sliding window to count dead experts per layer.
class DeadExpertTracker {
public:
    void reset(int layers, int experts, int window);
    // Adds this step's utilisation of `layer`; returns experts whose windowed mean < threshold.
    int update(int layer, const std::vector<double>& utilization, double threshold);
    void set_window(int window);

    // The whole tracker, for snapshots: the running sums are kept as they are
    // (not recomputed from the ring) so a resumed run rounds exactly as before.
    struct State {
        int window = 0, experts = 0;
        std::vector<std::vector<std::vector<double>>> ring;  // [layer][slot][expert]
        std::vector<std::vector<double>> sum;                // [layer][expert]
        std::vector<long> seen;                              // [layer] steps observed
    };
    State state() const { return {window_, experts_, ring_, sum_, seen_}; }
    // Throws DataError when the parts do not fit together (a damaged snapshot).
    void set_state(State st);

private:
    int window_ = 50, experts_ = 0;
    std::vector<std::vector<std::vector<double>>> ring_;  // [layer][slot][expert]
    std::vector<std::vector<double>> sum_;                // [layer][expert]
    std::vector<long> seen_;
};

}  // namespace moescope
