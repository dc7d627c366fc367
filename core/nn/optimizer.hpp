#pragma once
// AdamW and SGD over the flat parameter buffer with three groups (rest,
// router, experts): the router has its own learning rate and its own gradient
// clip, everything shares the global clip. Knobs are read at every step.
#include <vector>

#include "nn/params.hpp"
#include "nn/tensor.hpp"
#include "train/config.hpp"

namespace moescope {

struct GradNorms {
    double total = 0, router = 0, experts = 0, rest = 0;  // before clipping
};

class Optimizer {
public:
    explicit Optimizer(const ParamLayout& layout);

    // Gradient norms per group; total is not finite exactly when some gradient is not.
    GradNorms norms(const AlignedVector<float>& grads) const;
    // Clips `grads` in place (router clip, then global clip) given their norms before clipping.
    void clip(AlignedVector<float>& grads, const GradNorms& norms, const Config& knobs) const;
    // One update of `params` from `grads` (already clipped). Returns false and
    // changes nothing when the update would make a weight or moment non-finite
    // (overflow, or moments loaded from a damaged file): the caller halts.
    bool step(AlignedVector<float>& params, const AlignedVector<float>& grads, const Config& knobs);

    long steps() const { return t_; }
    // Moments are exposed for snapshots: m and v (AdamW) or the momentum buffer in m (SGD).
    std::vector<float>& first_moment() { return m_; }
    std::vector<float>& second_moment() { return v_; }
    void set_steps(long t) { t_ = t; }

private:
    const ParamLayout& layout_;
    std::vector<float> m_, v_;
    std::vector<uint8_t> decay_;  // per element: weight decay applies
    long t_ = 0;
};

}  // namespace moescope
