#include "nn/optimizer.hpp"

#include <algorithm>
#include <cmath>

namespace moescope {

namespace {
constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kAdamEps = 1e-8, kMomentum = 0.9;

// Fixed chunks summed in a fixed order: the result does not depend on the
// thread count or scheduling, which keeps runs and resumes bit-exact.
double sum_squares(const AlignedVector<float>& g, long begin, long end) {
    constexpr long kChunks = 64;
    double partial[kChunks] = {};
    const long n = end - begin, chunk = (n + kChunks - 1) / kChunks;
#pragma omp parallel for schedule(static) if (n > 100000)
    for (long c = 0; c < kChunks; ++c) {
        double s = 0;
        for (long i = begin + c * chunk; i < std::min(end, begin + (c + 1) * chunk); ++i) s += double(g[i]) * g[i];
        partial[c] = s;
    }
    double s = 0;
    for (double v : partial) s += v;
    return s;
}
void scale(AlignedVector<float>& g, long begin, long end, float factor) {
#pragma omp parallel for schedule(static) if (end - begin > 100000)
    for (long i = begin; i < end; ++i) g[i] *= factor;
}
}  // namespace

Optimizer::Optimizer(const ParamLayout& layout)
    : layout_(layout), m_(layout.total, 0.f), v_(layout.total, 0.f), decay_(layout.total, 0) {
    for (const auto& t : layout.tensors)
        if (t.decay) std::fill(decay_.begin() + t.offset, decay_.begin() + t.offset + t.size(), 1);
}

GradNorms Optimizer::norms(const AlignedVector<float>& grads) const {
    auto sq = [&](ParamGroup g) { return sum_squares(grads, layout_.group_begin[int(g)], layout_.group_end[int(g)]); };
    const double router_sq = sq(ParamGroup::Router), experts_sq = sq(ParamGroup::Experts),
                 rest_sq = sq(ParamGroup::Rest);
    GradNorms n;
    n.router = std::sqrt(router_sq);
    n.experts = std::sqrt(experts_sq);
    n.rest = std::sqrt(rest_sq);
    // Squares of finite floats summed in double cannot overflow, so only inf/NaN make this non-finite.
    n.total = std::sqrt(router_sq + experts_sq + rest_sq);
    return n;
}

void Optimizer::clip(AlignedVector<float>& grads, const GradNorms& n, const Config& knobs) const {
    const long rb = layout_.group_begin[int(ParamGroup::Router)], re = layout_.group_end[int(ParamGroup::Router)];
    double router_sq = n.router * n.router;
    const double others_sq = n.experts * n.experts + n.rest * n.rest;
    if (knobs.router_grad_clip > 0 && n.router > knobs.router_grad_clip) {
        scale(grads, rb, re, float(knobs.router_grad_clip / n.router));
        router_sq = knobs.router_grad_clip * knobs.router_grad_clip;
    }
    const double total_after = std::sqrt(router_sq + others_sq);
    if (knobs.grad_clip > 0 && total_after > knobs.grad_clip)
        scale(grads, 0, layout_.total, float(knobs.grad_clip / total_after));
}

bool Optimizer::step(AlignedVector<float>& params, const AlignedVector<float>& grads, const Config& knobs) {
    const long t = t_ + 1;
    const bool adam = knobs.optimizer == "adamw";
    const double bc1 = 1.0 - std::pow(kBeta1, double(t)), bc2 = 1.0 - std::pow(kBeta2, double(t));
    const float wd = float(knobs.weight_decay);
    float* p = params.data();
    const float* gr = grads.data();
    float* m = m_.data();
    float* v = v_.data();
    const uint8_t* dec = decay_.data();
    // One element's update, written once and used by both passes below, so the
    // check sees exactly the values the update stores.
    //   AdamW: m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  p ← p − lr·(m̂/(√v̂+ε) + wd·p)
    //   SGD with momentum: m ← μ·m + g + wd·p;  p ← p − lr·m
    auto update = [&](long i, float lr, float a, float rs, float& mi, float& vi, float& pi) {
        if (adam) {
            mi = float(kBeta1) * m[i] + float(1 - kBeta1) * gr[i];
            vi = float(kBeta2) * v[i] + float(1 - kBeta2) * gr[i] * gr[i];
            const float decay = dec[i] ? lr * wd * p[i] : 0.f;
            pi = p[i] - (a * mi / (std::sqrt(vi) * rs + float(kAdamEps)) + decay);
        } else {
            mi = float(kMomentum) * m[i] + gr[i] + (dec[i] ? wd * p[i] : 0.f);
            vi = v[i];
            pi = p[i] - lr * mi;
        }
    };
    for (int pass = 0; pass < 2; ++pass) {
        bool finite = true;
        for (int g = 0; g < kParamGroups; ++g) {
            const float lr = float(g == int(ParamGroup::Router) ? knobs.router_lr : knobs.lr);
            const float a = float(lr / bc1), rs = float(1.0 / std::sqrt(bc2));
            const long begin = layout_.group_begin[g], end = layout_.group_end[g];
            if (pass == 0) {
                // Read-only: a step that would leave a weight or moment non-finite is not taken at all.
#pragma omp parallel for schedule(static) reduction(&& : finite) if (end - begin > 100000)
                for (long i = begin; i < end; ++i) {
                    float mi, vi, pi;
                    update(i, lr, a, rs, mi, vi, pi);
                    finite = finite && std::isfinite(pi) && std::isfinite(mi) && std::isfinite(vi);
                }
            } else {
#pragma omp parallel for schedule(static) if (end - begin > 100000)
                for (long i = begin; i < end; ++i) update(i, lr, a, rs, m[i], v[i], p[i]);
            }
        }
        if (!finite) return false;
    }
    t_ = t;
    return true;
}

}  // namespace moescope
