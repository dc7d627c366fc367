#pragma once
// The model's elementary operations, llm.c style: op_forward(out, in, ...) and
// op_backward(din, ..., dout, ...), `d`-prefixed gradients. Backward functions
// ACCUMULATE into parameter gradients (they are zeroed once per step) and
// OVERWRITE input gradients unless the name says `_add`. Templated on the
// scalar so tests check every gradient by finite differences in double.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "nn/gemm.hpp"
#include "nn/tensor.hpp"

namespace moescope::ops {

// Below this many elements a loop runs on one thread: waking OpenMP threads
// costs more than the work, and far more when the machine is busy.
inline constexpr long kParallelMin = 1 << 18;

// ---------- linear: out = W·in + b·1ᵀ ----------
// The matrix products go through gemm::matmul (float: the runtime-dispatched sgemm).
template <class S, class Out, class In>
void linear_forward(Out&& out, const Eigen::Ref<const Mat<S>>& W, const Eigen::Ref<const Vec<S>>& b, const In& in) {
    gemm::matmul<S>(out, W, false, in, false, false);
    out.colwise() += b;
}

// dW += dout·inᵀ; db += dout·1; din = Wᵀ·dout
template <class S, class DIn, class DW, class DB, class DOut, class In>
void linear_backward(DIn&& din, DW&& dW, DB&& db, const DOut& dout, const Eigen::Ref<const Mat<S>>& W, const In& in) {
    gemm::matmul<S>(dW, dout, false, in, true, true);
    db += dout.rowwise().sum();
    gemm::matmul<S>(din, W, true, dout, false, false);
}

// ---------- GELU (tanh approximation, as in GPT-2 / llm.c) ----------
// Eigen's array tanh is vectorised for float (a rational approximation within a
// few ulp); these loops run inside the per-expert parallel region, so no OpenMP here.
inline constexpr double kGeluC = 0.7978845608028654;  // sqrt(2/π)
inline constexpr double kGeluA = 0.044715;
inline constexpr long kGeluChunk = 256;  // stack scratch for tanh, reused by value and slope

template <class S>
using ArrMap = Eigen::Map<Eigen::Array<S, Eigen::Dynamic, 1>>;
template <class S>
using CArrMap = Eigen::Map<const Eigen::Array<S, Eigen::Dynamic, 1>>;

// out = ½x(1 + tanh(c(x + a·x³)))
template <class S>
void gelu_forward(S* out, const S* in, long n) {
    const CArrMap<S> x(in, n);
    ArrMap<S>(out, n) = S(0.5) * x * (S(1) + (S(kGeluC) * (x + S(kGeluA) * x.cube())).tanh());
}
// din = dout ⊙ gelu'(in); din may alias dout
// d/dx ½x(1+tanh u) = ½(1+tanh u) + ½x(1−tanh²u)·c(1+3a·x²)
template <class S>
void gelu_backward(S* din, const S* dout, const S* in, long n) {
    Eigen::Array<S, Eigen::Dynamic, 1, 0, kGeluChunk, 1> th;
    for (long i0 = 0; i0 < n; i0 += kGeluChunk) {
        const long m = std::min(kGeluChunk, n - i0);
        const CArrMap<S> x(in + i0, m);
        th = (S(kGeluC) * (x + S(kGeluA) * x.cube())).tanh();
        ArrMap<S>(din + i0, m) =
            CArrMap<S>(dout + i0, m) *
            (S(0.5) * (S(1) + th) + S(0.5 * kGeluC) * x * (S(1) - th.square()) * (S(1) + S(3 * kGeluA) * x.square()));
    }
}

// GELU and its slope in one pass: act = GELU(x), then x ← GELU'(x) (one tanh for both).
template <class S>
void gelu_forward_keep_slope(S* act, S* x_then_slope, long n) {
    Eigen::Array<S, Eigen::Dynamic, 1, 0, kGeluChunk, 1> th;
    for (long i0 = 0; i0 < n; i0 += kGeluChunk) {
        const long m = std::min(kGeluChunk, n - i0);
        ArrMap<S> x(x_then_slope + i0, m);
        th = (S(kGeluC) * (x + S(kGeluA) * x.cube())).tanh();
        ArrMap<S>(act + i0, m) = S(0.5) * x * (S(1) + th);
        x = S(0.5) * (S(1) + th) + S(0.5 * kGeluC) * x * (S(1) - th.square()) * (S(1) + S(3 * kGeluA) * x.square());
    }
}

// ---------- expert up-projection: Act = GELU(W·in + b·1ᵀ); h ← GELU'(W·in + b·1ᵀ) ----------
// Bias, GELU and its slope in one pass over each column while it is still in
// cache. The backward needs only the slope (dH = dAct ⊙ h), so it runs no tanh:
// in the bench's replay (AVX-512 VM) the expert phases' bias, GELU and gradient
// work fell from about 37 to about 25 ms per step (docs/performance.md).
template <class S, class H, class Act, class In>
void linear_gelu_forward(H&& h, Act&& act, const Eigen::Ref<const Mat<S>>& W, const Eigen::Ref<const Vec<S>>& b,
                         const In& in) {
    gemm::matmul<S>(h, W, false, in, false, false);
    for (long j = 0; j < h.cols(); ++j) {
        h.col(j) += b;
        gelu_forward_keep_slope(act.col(j).data(), h.col(j).data(), h.rows());
    }
}

// ---------- RMSNorm per column: out = g ⊙ x / r,  r = sqrt(mean(x²) + eps) ----------
inline constexpr double kRmsEps = 1e-6;

template <class S>
void rmsnorm_forward(Eigen::Ref<Mat<S>> out, Vec<S>& rstd, const Eigen::Ref<const Mat<S>>& x,
                     const Eigen::Ref<const Vec<S>>& g) {
    const long T = x.cols();
#pragma omp parallel for schedule(static) if (x.size() > kParallelMin)
    for (long t = 0; t < T; ++t) {
        const S r = S(1) / std::sqrt(x.col(t).squaredNorm() / S(x.rows()) + S(kRmsEps));
        rstd(t) = r;
        out.col(t) = g.cwiseProduct(x.col(t)) * r;
    }
}
// dx_add: dx += ∂/∂x;  dg += Σ_t dout ⊙ x·r
// with ĝ = g⊙dout:  dx = r·ĝ − x·r³·(ĝ·x)/d
template <class S, class DG>
void rmsnorm_backward_add(Eigen::Ref<Mat<S>> dx, DG&& dg, const Eigen::Ref<const Mat<S>>& dout,
                          const Eigen::Ref<const Mat<S>>& x, const Vec<S>& rstd, const Eigen::Ref<const Vec<S>>& g) {
    const long T = x.cols();
    const S inv_d = S(1) / S(x.rows());
#pragma omp parallel for schedule(static) if (x.size() > kParallelMin)
    for (long t = 0; t < T; ++t) {
        const S r = rstd(t);
        const S dot = (g.cwiseProduct(dout.col(t))).dot(x.col(t));
        dx.col(t) += r * g.cwiseProduct(dout.col(t)) - x.col(t) * (r * r * r * dot * inv_d);
    }
    // Serial over tokens so the sum is deterministic.
    for (long t = 0; t < T; ++t) dg += dout.col(t).cwiseProduct(x.col(t)) * rstd(t);
}

// ---------- softmax over each column (numerically stable) ----------
template <class S, class In>
void softmax_columns(Eigen::Ref<Mat<S>> p, const In& logits, S inv_temperature = S(1)) {
    const long T = logits.cols();
#pragma omp parallel for schedule(static) if (logits.size() > kParallelMin)
    for (long t = 0; t < T; ++t) {
        const S m = logits.col(t).maxCoeff();
        p.col(t) = ((logits.col(t).array() - m) * inv_temperature).exp();
        p.col(t) /= p.col(t).sum();
    }
}
// dlogits = p ⊙ (dp − (p·dp)) · inv_temperature, added to dlogits
template <class S>
void softmax_backward_add(Eigen::Ref<Mat<S>> dlogits, const Eigen::Ref<const Mat<S>>& p,
                          const Eigen::Ref<const Mat<S>>& dp, S inv_temperature = S(1)) {
    const long T = p.cols();
#pragma omp parallel for schedule(static) if (p.size() > kParallelMin)
    for (long t = 0; t < T; ++t) {
        const S dot = p.col(t).dot(dp.col(t));
        dlogits.col(t).array() += p.col(t).array() * (dp.col(t).array() - dot) * inv_temperature;
    }
}

// ---------- cross-entropy, mean over tokens ----------
// probs = softmax(logits); returns −mean_t ln probs[y_t, t]; counts correct argmax.
template <class S>
S cross_entropy_forward(Eigen::Ref<Mat<S>> probs, const Eigen::Ref<const Mat<S>>& logits, const int32_t* labels,
                        long* correct) {
    softmax_columns<S>(probs, logits);
    const long T = logits.cols();
    double loss = 0;
    long right = 0;
    for (long t = 0; t < T; ++t) {
        loss -= std::log(std::max<double>(probs(labels[t], t), 1e-30));
        Eigen::Index arg;
        probs.col(t).maxCoeff(&arg);
        right += arg == labels[t];
    }
    if (correct) *correct = right;
    return S(loss / static_cast<double>(T));
}
// dlogits = (probs − onehot(y)) / T
template <class S>
void cross_entropy_backward(Eigen::Ref<Mat<S>> dlogits, const Eigen::Ref<const Mat<S>>& probs, const int32_t* labels) {
    const long T = probs.cols();
    dlogits = probs / S(T);
    for (long t = 0; t < T; ++t) dlogits(labels[t], t) -= S(1) / S(T);
}

// ---------- router loss terms (each: value, and gradient added with a weight) ----------

// L_balance = E·Σ_i f_i·P_i, P_i = mean_t p_ti, f_i = C_i/(T·k) held constant (Switch/GShard).
// ∂L/∂p_ti = E·f_i / T
template <class S>
S balance_loss(const Eigen::Ref<const Mat<S>>& p, const Vec<S>& f) {
    return S(p.rows()) * f.dot(p.rowwise().mean());
}
template <class S>
void balance_loss_backward_add(Eigen::Ref<Mat<S>> dp, const Vec<S>& f, long T, S weight) {
    dp.colwise() += f * (weight * S(dp.rows()) / S(T));
}

// L_z = mean_t (logsumexp z_t)²  (ST-MoE).  ∂L/∂z_ti = 2·lse_t·softmax(z_t)_i / T
template <class S>
S z_loss(const Eigen::Ref<const Mat<S>>& z, Vec<S>& lse) {
    const long T = z.cols();
    for (long t = 0; t < T; ++t) {
        const S m = z.col(t).maxCoeff();
        lse(t) = m + std::log((z.col(t).array() - m).exp().sum());
    }
    return lse.squaredNorm() / S(T);
}
template <class S>
void z_loss_backward_add(Eigen::Ref<Mat<S>> dz, const Eigen::Ref<const Mat<S>>& z, const Vec<S>& lse, S weight) {
    const long T = z.cols();
    for (long t = 0; t < T; ++t)
        dz.col(t).array() += (z.col(t).array() - lse(t)).exp() * (weight * S(2) * lse(t) / S(T));
}

// CV²(I), I_i = Σ_t p_ti (importance, Shazeer et al. 2017), population variance.
// With m = mean(I), v = mean((I−m)²):  ∂(v/m²)/∂I_i = 2(I_i−m)/(E·m²) − 2v/(E·m³)
template <class S>
S importance_cv2(const Eigen::Ref<const Mat<S>>& p, Vec<S>& importance) {
    importance = p.rowwise().sum();
    const S m = importance.mean();
    if (m <= S(0)) return S(0);
    const S v = (importance.array() - m).square().mean();
    return v / (m * m);
}
template <class S>
void importance_cv2_backward_add(Eigen::Ref<Mat<S>> dp, const Vec<S>& importance, S weight) {
    const S E = S(importance.size());
    const S m = importance.mean();
    if (m <= S(0)) return;
    const S v = (importance.array() - m).square().mean();
    const Vec<S> dI = ((importance.array() - m) * (S(2) / (E * m * m)) - S(2) * v / (E * m * m * m)).matrix();
    dp.colwise() += dI * weight;
}

// Normalised mean router entropy: mean_t H(p_t) / ln E.  ∂/∂p_ti = −(ln p_ti + 1)/(T·ln E)
template <class S>
S entropy_reg(const Eigen::Ref<const Mat<S>>& p) {
    const long T = p.cols();
    const S lnE = std::log(S(p.rows()));
    if (lnE <= S(0)) return S(0);
    S h = 0;
    for (long t = 0; t < T; ++t)
        for (long i = 0; i < p.rows(); ++i)
            if (p(i, t) > S(0)) h -= p(i, t) * std::log(p(i, t));
    return h / (S(T) * lnE);
}
template <class S>
void entropy_reg_backward_add(Eigen::Ref<Mat<S>> dp, const Eigen::Ref<const Mat<S>>& p, S weight) {
    const long T = p.cols();
    const S lnE = std::log(S(p.rows()));
    if (lnE <= S(0)) return;
    const S scale = -weight / (S(T) * lnE);
    dp.array() += (p.array().max(S(1e-30)).log() + S(1)) * scale;
}

}  // namespace moescope::ops
