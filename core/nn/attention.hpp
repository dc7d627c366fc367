#pragma once
// Causal multi-head self-attention, forward and backward: the first piece of
// the MoE language model (a decoder block is pre-RMSNorm attention, then the
// MoE feed-forward the rest of core/nn already has).
//
// Tokens are columns, as everywhere in core/nn: x is d × T with T = B·L, B
// sequences of L tokens side by side (sequence b is columns [b·L, (b+1)·L)).
// With H heads of size dh = d / H, for each sequence b and head h (rows
// [h·dh, (h+1)·dh) of q, k, v):
//
//   q = Wq·x, k = Wk·x, v = Wv·x                         d × T each
//   S = c · k_hᵀ·q_h, c = 1/√dh                          L × L: column t = query t, row s = key s
//   S[s, t] = −∞ for s > t (causal: a token sees itself and what came before)
//   P[:, t] = softmax(S[:, t])                           each column sums to 1
//   o_h = v_h·P                                          dh × L
//   y = Wo·o                                             d × T
//
// Every product goes through gemm::matmul (the model's sgemm for float,
// Eigen for the double gradient checks). No biases, no dropout.
#include <vector>

#include "nn/tensor.hpp"

namespace moescope {

struct AttentionShape {
    int d = 0, heads = 1;
    long batch = 1, len = 1;  // B sequences of L tokens: T = B·L columns
    long tokens() const { return batch * len; }
    int head_size() const { return d / heads; }
};

// Wq, Wk, Wv, Wo: d × d each (views into a flat parameter buffer, or owned).
template <class S>
struct AttentionWeights {
    const S *q = nullptr, *k = nullptr, *v = nullptr, *o = nullptr;
};
template <class S>
struct AttentionGrads {
    S *q = nullptr, *k = nullptr, *v = nullptr, *o = nullptr;  // overwritten
};

// What the backward needs from the forward.
template <class S>
struct AttentionCache {
    Mat<S> q, k, v, o;      // d × T
    std::vector<Mat<S>> p;  // B·H matrices L × L (sequence-major: b·H + h); 0 above the diagonal
};

// y = attention(x); fills `cache`. Throws nothing; shapes are asserted (d % heads == 0).
template <class S>
void attention_forward(const AttentionShape& shape, const AttentionWeights<S>& w, const Mat<S>& x,
                       AttentionCache<S>& cache, Mat<S>& y);

// From dL/dy: dL/dW into `g` and dL/dx into `dx` (both overwritten).
template <class S>
void attention_backward(const AttentionShape& shape, const AttentionWeights<S>& w, const Mat<S>& x,
                        const AttentionCache<S>& cache, const Mat<S>& dy, AttentionGrads<S> g, Mat<S>& dx);

}  // namespace moescope
