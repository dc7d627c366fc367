#pragma once
// Per-element work of the optimizer (core/nn/optimizer.cpp): the clip scales
// and one parameter's AdamW or SGD update, the same float arithmetic as the CPU.
#include <math.h>

#include "engine/portable.hpp"

namespace moescope::MOESCOPE_ENGINE_NS::kernels {

// The knobs of one update, from the host.
struct UpdateKnobs {
    bool adam = true;
    double lr = 1e-3, router_lr = 1e-3, weight_decay = 0;
    double grad_clip = 0, router_grad_clip = 0;
    double bc1 = 1, bc2 = 1;  // 1 − β1ᵗ, 1 − β2ᵗ
};
// Per-group constants, computed on the device from the norms.
struct Hyper {
    float grad_scale, lr, a, rs, wd;  // a = lr/(1−β1ᵗ), rs = 1/√(1−β2ᵗ)
};

// Router clip first, then the global clip on the router-clipped total
// (Optimizer::clip_scale); hyper[g] for the groups rest, router, experts.
MS_HD inline void hyper_from_norms(Hyper* hyper, double router, double experts, double rest, const UpdateKnobs& k) {
    double s_router = 1, s_others = 1, router_sq = router * router;
    if (k.router_grad_clip > 0 && router > k.router_grad_clip) {
        s_router = k.router_grad_clip / router;
        router_sq = k.router_grad_clip * k.router_grad_clip;
    }
    const double total_after = sqrt(router_sq + experts * experts + rest * rest);
    if (k.grad_clip > 0 && total_after > k.grad_clip) {
        s_others = k.grad_clip / total_after;
        s_router *= s_others;
    }
    for (int g = 0; g < 3; ++g) {
        const bool is_router = g == 1;
        const double lr = is_router ? k.router_lr : k.lr;
        hyper[g] = {float(is_router ? s_router : s_others), float(lr), float(lr / k.bc1), float(1.0 / sqrt(k.bc2)),
                    float(k.weight_decay)};
    }
}

inline constexpr float kBeta1 = 0.9f, kBeta2 = 0.999f, kAdamEps = 1e-8f, kMomentum = 0.9f;

//   AdamW: g ← s·g;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  p ← p − (a·m/(√v·rs + ε) + lr·wd·p)
//   SGD with momentum: g ← s·g;  m ← μ·m + g + wd·p;  p ← p − lr·m
MS_HD inline void update_element(bool adam, bool decay, float p, float g, float m, float v, const Hyper& h, float& po,
                                 float& mo, float& vo) {
    const float gs = g * h.grad_scale;
    if (adam) {
        mo = kBeta1 * m + float(1 - 0.9) * gs;
        vo = kBeta2 * v + float(1 - 0.999) * gs * gs;
        const float dec = decay ? h.lr * h.wd * p : 0.f;
        po = p - (h.a * mo / (sqrtf(vo) * h.rs + kAdamEps) + dec);
    } else {
        mo = kMomentum * m + gs + (decay ? h.wd * p : 0.f);
        vo = v;
        po = p - h.lr * mo;
    }
}

}  // namespace moescope::MOESCOPE_ENGINE_NS::kernels
