#pragma once
// AdamW and SGD over the flat parameter buffer with three groups (rest,
// router, experts): the router has its own learning rate and its own gradient
// clip, everything shares the global clip. Knobs are read at every step.
//
// One step is two passes over memory: norms() reads the gradients once (sums
// of squares per tensor, hence per group and per layer), then step() reads
// p, g, m, v once and writes p, m, v once, with the clip scales folded into
// the update (the gradients themselves are never rewritten). Both passes run
// over fixed chunks, so the results do not depend on the thread count.
#include <cstdint>
#include <vector>

#include "nn/params.hpp"
#include "nn/tensor.hpp"
#include "train/config.hpp"

namespace moescope {

struct GradNorms {
    double total = 0, router = 0, experts = 0, rest = 0;  // before clipping
};

// What the clip does to each group's gradients: router clip first, then the
// global clip on the router-clipped total. 1 means unclipped.
struct ClipScale {
    double router = 1, others = 1;
};

class Optimizer {
public:
    explicit Optimizer(const ParamLayout& layout);

    // Gradient norms per group, and per tensor (tensor_sq()), in one pass over
    // `grads`; total is not finite exactly when some gradient is not.
    GradNorms norms(const AlignedVector<float>& grads);
    // Σg² of each tensor of the layout, from the last norms() call.
    const std::vector<double>& tensor_sq() const { return tensor_sq_; }
    static ClipScale clip_scale(const GradNorms& norms, const Config& knobs);

    // One update of `params` from `grads`, clipped through `norms` (their norms
    // from norms(); null: no clipping) without writing the gradients. Returns
    // false and changes nothing when the update would make a weight or moment
    // non-finite (overflow, or moments loaded from a damaged file): the caller halts.
    bool step(AlignedVector<float>& params, const AlignedVector<float>& grads, const Config& knobs,
              const GradNorms* norms = nullptr);

    long steps() const { return t_; }
    // Moments, for snapshots: m and v (AdamW) or the momentum buffer in m (SGD).
    const std::vector<float>& first_moment() const { return m_; }
    const std::vector<float>& second_moment() const { return v_; }
    // Replaces moments and step count (sizes checked by the caller).
    void set_state(std::vector<float> m, std::vector<float> v, long t);
    // Tells the optimizer that the parameters were written outside step()
    // (a snapshot loaded, a test's planted value): its bounds on them are stale.
    void params_changed() { bounds_valid_ = false; }

private:
    struct Chunk {
        long begin, end;
        int tensor, group;
        bool decay;
    };
    // Upper bounds on |p|, |m| and v over the whole buffer. When they show that
    // no update can overflow, step() is one write pass; otherwise (or when they
    // are unknown) a read-only pass checks first, as a non-finite update must change nothing.
    struct Bounds {
        double p = 0, m = 0, v = 0;
    };
    // The bounds after one update from the current ones, with |g| ≤ grad_max[group].
    Bounds next_bounds(const Config& knobs, const double* grad_max, double bc1) const;

    const ParamLayout& layout_;
    std::vector<Chunk> chunks_;
    std::vector<double> chunk_sq_, tensor_sq_;
    std::vector<float> m_, v_;
    Bounds bounds_;
    bool bounds_valid_ = false;
    long t_ = 0;
};

}  // namespace moescope
