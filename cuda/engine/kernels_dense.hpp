#pragma once
// Per-thread work of the dense ops (core/nn/ops.hpp's math), as MS_HD functions
// that the GPU kernels and the host emulation both run. Column-major like
// Eigen: a rows × cols matrix stores column c at data + c·rows.
#include <math.h>

#include "engine/portable.hpp"

namespace moescope::MOESCOPE_ENGINE_NS::kernels {

inline constexpr float kGeluC = 0.7978845608028654f;  // sqrt(2/π)
inline constexpr float kGeluA = 0.044715f;
inline constexpr float kRmsEps = 1e-6f;

// ½x(1 + tanh(c(x + a·x³)))
MS_HD inline float gelu(float x) { return 0.5f * x * (1.f + tanhf(kGeluC * (x + kGeluA * x * x * x))); }
// d/dx ½x(1+tanh u) = ½(1+tanh u) + ½x(1−tanh²u)·c(1+3a·x²)
MS_HD inline float gelu_slope(float x) {
    const float th = tanhf(kGeluC * (x + kGeluA * x * x * x));
    return 0.5f * (1.f + th) + 0.5f * kGeluC * x * (1.f - th * th) * (1.f + 3.f * kGeluA * x * x);
}
MS_HD inline float softplus(float x) { return x > 20.f ? x : log1pf(expf(x)); }
MS_HD inline float sigmoid(float x) { return 1.f / (1.f + expf(-x)); }

// Token t: out = g ⊙ x / r, r = sqrt(mean(x²) + eps); rstd[t] = 1/r.
MS_HD inline void rmsnorm_column(long t, float* out, float* rstd, const float* x, const float* g, int d) {
    const float* xc = x + t * d;
    float ss = 0;
    for (int i = 0; i < d; ++i) ss += xc[i] * xc[i];
    const float r = 1.f / sqrtf(ss / float(d) + kRmsEps);
    rstd[t] = r;
    float* oc = out + t * d;
    for (int i = 0; i < d; ++i) oc[i] = g[i] * xc[i] * r;
}
// Token t: dx += r·ĝ − x·r³·(ĝ·x)/d with ĝ = g ⊙ dout.
MS_HD inline void rmsnorm_backward_column(long t, float* dx, const float* dout, const float* x, const float* rstd,
                                          const float* g, int d) {
    const float* xc = x + t * d;
    const float* oc = dout + t * d;
    const float r = rstd[t];
    float dot = 0;
    for (int i = 0; i < d; ++i) dot += g[i] * oc[i] * xc[i];
    const float s = r * r * r * dot / float(d);
    float* dc = dx + t * d;
    for (int i = 0; i < d; ++i) dc[i] += r * g[i] * oc[i] - xc[i] * s;
}
// Row i: dg_i += Σ_t dout_it · x_it · rstd_t, tokens in order.
MS_HD inline void rmsnorm_gain_row(int i, float* dg, const float* dout, const float* x, const float* rstd, int d,
                                   long T) {
    float s = 0;
    for (long t = 0; t < T; ++t) s += dout[i + t * d] * x[i + t * d] * rstd[t];
    dg[i] += s;
}

// Column t of a rows × T matrix: p = softmax(x · inv_tau); returns ln Σ exp(x − max) + max (of x, untempered).
MS_HD inline void softmax_column(long t, float* p, const float* x, int rows, float inv_tau) {
    const float* xc = x + t * rows;
    float* pc = p + t * rows;
    float m = xc[0];
    for (int i = 1; i < rows; ++i) m = fmaxf(m, xc[i]);
    float sum = 0;
    for (int i = 0; i < rows; ++i) sum += pc[i] = expf((xc[i] - m) * inv_tau);
    for (int i = 0; i < rows; ++i) pc[i] /= sum;
}

// Token t: probs = softmax(logits); loss_t = −ln max(p_y, 1e-30); correct_t = first argmax is y.
MS_HD inline void cross_entropy_column(long t, float* probs, double* loss, int* correct, const float* logits,
                                       const int* labels, int C) {
    softmax_column(t, probs, logits, C, 1.f);
    const float* pc = probs + t * C;
    int arg = 0;
    for (int c = 1; c < C; ++c)
        if (pc[c] > pc[arg]) arg = c;
    const double py = pc[labels[t]];
    loss[t] = -log(py > 1e-30 ? py : 1e-30);
    correct[t] = arg == labels[t];
}

}  // namespace moescope::MOESCOPE_ENGINE_NS::kernels
