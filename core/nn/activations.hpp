#pragma once
// Activation storage, llm.c style: every per-batch activation and scratch
// matrix of a Workspace is a named view into one contiguous buffer at an
// offset this table gives (like ParamLayout for the parameters), so an engine
// can allocate a batch's activations as one block, on the host or a device.
// Column-major, one token (or one dispatch slot) per column.
#include <string>
#include <vector>

#include "train/config.hpp"

namespace moescope {

struct ActivationInfo {
    std::string name;  // "layer0.u" ...
    long offset = 0;   // into the flat buffer, in scalars
    long rows = 0, cols = 0;
    long size() const { return rows * cols; }
};

struct ActivationLayout {
    // Every offset is a multiple of this many scalars, so each view starts at the
    // same alignment in every run and fork (Eigen's sums depend on alignment).
    static constexpr long kAlign = 16;

    std::vector<ActivationInfo> tensors;
    long total = 0;
    long T = 0, slot_capacity = 0;  // tokens, and dispatch slots room is made for
    // Tensors sized by the dispatch slots come last, from this offset on: growing
    // the slots (expert choice, a live capacity change) moves nothing before it.
    long slot_begin = 0;

    struct Layer {
        int u, z, s, a, q, p, eps_noisy, eps_jitter;  // d × T, then E × T (s: E × T for noisy_topk, else empty)
        int U, H, Act, Y;                             // dispatched tokens: d, d_ff, d_ff, d × slots
    };
    int x;                    // d_in × T inputs
    std::vector<int> h;       // L+1 residual streams, d × T
    int v, logits, probs;     // d × T, C × T, C × T
    int dh, du, dv, dlogits;  // backward scratch: d, d, d, C × T
    int da, dq, dp, dz, ds;   // E × T (ds: as s)
    int dY, dAct, dU;         // d, d_ff, d × slots
    std::vector<Layer> layers;

    // The layout of a batch of T tokens with room for `slots` dispatched assignments.
    static ActivationLayout build(const Config& c, long T, long slots, int d_in, int classes);
};

}  // namespace moescope
