#include "nn/optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace moescope {

namespace {
constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kAdamEps = 1e-8, kMomentum = 0.9;
// Elements per chunk: the unit of parallel work and of the fixed summation order.
constexpr long kChunk = 1L << 15;
constexpr long kParallelMin = 100000;
// An update whose bounds stay below this cannot overflow a float (3.4e38),
// intermediate products included; the margin covers float rounding.
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kSafeLimit = 1e36, kRoundingMargin = 1.0 + 1e-6;

// Per-group constants of one update.
struct Hyper {
    float grad_scale, lr, a, rs, wd;  // a = lr/(1−β1ᵗ), rs = 1/√(1−β2ᵗ)
};

// One element's update, written once and used by the checking and the writing
// pass, so the check sees exactly the values the update stores.
//   AdamW: g ← s·g;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  p ← p − (a·m/(√v·rs + ε) + lr·wd·p)
//   SGD with momentum: g ← s·g;  m ← μ·m + g + wd·p;  p ← p − lr·m
template <bool kAdam, bool kDecay>
inline void update_element(float p, float g, float m, float v, const Hyper& h, float& po, float& mo, float& vo) {
    const float gs = g * h.grad_scale;
    if constexpr (kAdam) {
        mo = float(kBeta1) * m + float(1 - kBeta1) * gs;
        vo = float(kBeta2) * v + float(1 - kBeta2) * gs * gs;
        const float decay = kDecay ? h.lr * h.wd * p : 0.f;
        po = p - (h.a * mo / (std::sqrt(vo) * h.rs + float(kAdamEps)) + decay);
    } else {
        mo = float(kMomentum) * m + gs + (kDecay ? h.wd * p : 0.f);
        vo = v;
        po = p - h.lr * mo;
    }
}

// The write pass over [b, e): reads p, g, m, v once, writes p, m, v once.
template <bool kAdam, bool kDecay>
void write_range(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v, long b,
                 long e, const Hyper& h) {
    for (long i = b; i < e; ++i) update_element<kAdam, kDecay>(p[i], g[i], m[i], v[i], h, p[i], m[i], v[i]);
}

// The read-only pass over [b, e): the largest |p|, |m|, v the update would
// store; false when one of them would not be finite.
template <bool kAdam, bool kDecay>
bool check_range(const float* p, const float* g, const float* m, const float* v, long b, long e, const Hyper& h,
                 double& pmax, double& mmax, double& vmax) {
    bool finite = true;
    for (long i = b; i < e; ++i) {
        float po, mo, vo;
        update_element<kAdam, kDecay>(p[i], g[i], m[i], v[i], h, po, mo, vo);
        finite = finite && std::isfinite(po) && std::isfinite(mo) && std::isfinite(vo);
        pmax = std::max(pmax, double(std::fabs(po)));
        mmax = std::max(mmax, double(std::fabs(mo)));
        vmax = std::max(vmax, double(vo));
    }
    return finite;
}

template <class F>
auto dispatch(bool adam, bool decay, F&& f) {
    if (adam) return decay ? f.template operator()<true, true>() : f.template operator()<true, false>();
    return decay ? f.template operator()<false, true>() : f.template operator()<false, false>();
}

}  // namespace

Optimizer::Optimizer(const ParamLayout& layout)
    : layout_(layout), tensor_sq_(layout.tensors.size(), 0.0), m_(layout.total, 0.f), v_(layout.total, 0.f) {
    for (int t = 0; t < static_cast<int>(layout.tensors.size()); ++t) {
        const TensorInfo& ti = layout.tensors[t];
        for (long b = ti.offset; b < ti.offset + ti.size(); b += kChunk)
            chunks_.push_back(
                {b, std::min(b + kChunk, ti.offset + ti.size()), t, static_cast<int>(ti.group), ti.decay});
    }
    chunk_sq_.assign(chunks_.size(), 0.0);
}

void Optimizer::set_state(std::vector<float> m, std::vector<float> v, long t) {
    m_ = std::move(m);
    v_ = std::move(v);
    t_ = t;
    bounds_valid_ = false;
}

GradNorms Optimizer::norms(const AlignedVector<float>& grads) {
    const long n = static_cast<long>(chunks_.size());
    const float* g = grads.data();
#pragma omp parallel for schedule(static) if (layout_.total > kParallelMin)
    for (long c = 0; c < n; ++c) {
        double s = 0;
        for (long i = chunks_[c].begin; i < chunks_[c].end; ++i) s += double(g[i]) * g[i];
        chunk_sq_[c] = s;
    }
    // Chunks summed in their fixed order: independent of the thread count.
    double group_sq[kParamGroups] = {};
    std::fill(tensor_sq_.begin(), tensor_sq_.end(), 0.0);
    for (long c = 0; c < n; ++c) {
        tensor_sq_[chunks_[c].tensor] += chunk_sq_[c];
        group_sq[chunks_[c].group] += chunk_sq_[c];
    }
    GradNorms out;
    out.router = std::sqrt(group_sq[int(ParamGroup::Router)]);
    out.experts = std::sqrt(group_sq[int(ParamGroup::Experts)]);
    out.rest = std::sqrt(group_sq[int(ParamGroup::Rest)]);
    // Squares of finite floats summed in double cannot overflow, so only inf/NaN make this non-finite.
    out.total = std::sqrt(group_sq[0] + group_sq[1] + group_sq[2]);
    return out;
}

ClipScale Optimizer::clip_scale(const GradNorms& n, const Config& knobs) {
    ClipScale s;
    double router_sq = n.router * n.router;
    const double others_sq = n.experts * n.experts + n.rest * n.rest;
    // The router clip first; the global clip then sees the router's clipped norm.
    if (knobs.router_grad_clip > 0 && n.router > knobs.router_grad_clip) {
        s.router = knobs.router_grad_clip / n.router;
        router_sq = knobs.router_grad_clip * knobs.router_grad_clip;
    }
    const double total_after = std::sqrt(router_sq + others_sq);
    if (knobs.grad_clip > 0 && total_after > knobs.grad_clip) {
        s.others = knobs.grad_clip / total_after;
        s.router *= s.others;
    }
    return s;
}

Optimizer::Bounds Optimizer::next_bounds(const Config& knobs, const double* grad_max, double bc1) const {
    Bounds next;
    const bool adam = knobs.optimizer == "adamw";
    for (int g = 0; g < kParamGroups; ++g) {
        const double lr = g == int(ParamGroup::Router) ? knobs.router_lr : knobs.lr, G = grad_max[g];
        double m, v, p;
        if (adam) {
            m = kBeta1 * bounds_.m + (1 - kBeta1) * G;
            v = std::max(kBeta2 * bounds_.v + (1 - kBeta2) * G * G, G * G);  // g² is formed too
            // |m̂/(√v̂+ε)| ≤ |m|/(bc1·ε)
            p = bounds_.p * (1 + lr * knobs.weight_decay) + lr / bc1 * m / kAdamEps;
        } else {
            m = kMomentum * bounds_.m + G + knobs.weight_decay * bounds_.p;
            v = bounds_.v;
            p = bounds_.p + lr * m;
        }
        next.p = std::max(next.p, p * kRoundingMargin);
        next.m = std::max(next.m, m * kRoundingMargin);
        next.v = std::max(next.v, v * kRoundingMargin);
    }
    return next;
}

bool Optimizer::step(AlignedVector<float>& params, const AlignedVector<float>& grads, const Config& knobs,
                     const GradNorms* norms) {
    const long t = t_ + 1;
    const bool adam = knobs.optimizer == "adamw";
    const double bc1 = 1.0 - std::pow(kBeta1, double(t)), bc2 = 1.0 - std::pow(kBeta2, double(t));
    const ClipScale clip = norms ? clip_scale(*norms, knobs) : ClipScale{};
    Hyper hyper[kParamGroups];
    double grad_max[kParamGroups];
    for (int g = 0; g < kParamGroups; ++g) {
        const bool router = g == int(ParamGroup::Router);
        const double lr = router ? knobs.router_lr : knobs.lr;
        hyper[g] = {float(router ? clip.router : clip.others), float(lr), float(lr / bc1), float(1.0 / std::sqrt(bc2)),
                    float(knobs.weight_decay)};
        // Every |g_i| is at most its group's norm.
        const double group_norm = !norms                          ? kInf
                                  : router                        ? norms->router
                                  : g == int(ParamGroup::Experts) ? norms->experts
                                                                  : norms->rest;
        grad_max[g] = group_norm * double(hyper[g].grad_scale);
    }
    float* p = params.data();
    const float* gr = grads.data();
    float* m = m_.data();
    float* v = v_.data();
    const long n = static_cast<long>(chunks_.size());

    const Bounds next = bounds_valid_ ? next_bounds(knobs, grad_max, bc1) : Bounds{kInf, kInf, kInf};
    if (next.p < kSafeLimit && next.m < kSafeLimit && next.v < kSafeLimit) {
        // No element can overflow: one pass, nothing to check.
#pragma omp parallel for schedule(static) if (layout_.total > kParallelMin)
        for (long c = 0; c < n; ++c) {
            const Chunk& ch = chunks_[c];
            dispatch(adam, ch.decay,
                     [&]<bool A, bool D>() { write_range<A, D>(p, gr, m, v, ch.begin, ch.end, hyper[ch.group]); });
        }
        bounds_ = next;
    } else {
        // Read-only first: a step that would leave a weight or moment non-finite is not taken at all.
        bool finite = true;
        double pmax = 0, mmax = 0, vmax = 0;
#pragma omp parallel for schedule(static) reduction(&& : finite) reduction(max : pmax, mmax, vmax) \
    if (layout_.total > kParallelMin)
        for (long c = 0; c < n; ++c) {
            const Chunk& ch = chunks_[c];
            const bool ok = dispatch(adam, ch.decay, [&]<bool A, bool D>() {
                return check_range<A, D>(p, gr, m, v, ch.begin, ch.end, hyper[ch.group], pmax, mmax, vmax);
            });
            finite = finite && ok;
        }
        if (!finite) return false;
#pragma omp parallel for schedule(static) if (layout_.total > kParallelMin)
        for (long c = 0; c < n; ++c) {
            const Chunk& ch = chunks_[c];
            dispatch(adam, ch.decay,
                     [&]<bool A, bool D>() { write_range<A, D>(p, gr, m, v, ch.begin, ch.end, hyper[ch.group]); });
        }
        bounds_ = {pmax, mmax, vmax};
        bounds_valid_ = true;
    }
    t_ = t;
    return true;
}

}  // namespace moescope
