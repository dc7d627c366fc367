#include "nn/attention.hpp"

#include <cmath>
#include <limits>

#include "error.hpp"
#include "nn/gemm.hpp"
#include "nn/ops.hpp"

namespace moescope {

namespace {

template <class S>
void check_shape(const AttentionShape& s, const Mat<S>& x) {
    MS_ASSERT(s.d > 0 && s.heads > 0 && s.d % s.heads == 0, "attention: d must be a multiple of heads");
    MS_ASSERT(s.batch > 0 && s.len > 0, "attention: batch and len must be positive");
    MS_ASSERT(x.rows() == s.d && x.cols() == s.tokens(), "attention: x must be d × batch·len");
}

}  // namespace

template <class S>
void attention_forward(const AttentionShape& shape, const AttentionWeights<S>& w, const Mat<S>& x,
                       AttentionCache<S>& cache, Mat<S>& y) {
    check_shape(shape, x);
    const int d = shape.d, H = shape.heads, dh = shape.head_size();
    const long L = shape.len, T = shape.tokens();
    const CMatMap<S> Wq(w.q, d, d), Wk(w.k, d, d), Wv(w.v, d, d), Wo(w.o, d, d);
    cache.q.resize(d, T);
    cache.k.resize(d, T);
    cache.v.resize(d, T);
    cache.o.resize(d, T);
    gemm::matmul<S>(cache.q, Wq, false, x, false, false);
    gemm::matmul<S>(cache.k, Wk, false, x, false, false);
    gemm::matmul<S>(cache.v, Wv, false, x, false, false);
    const S c = S(1) / std::sqrt(S(dh));
    const long pairs = shape.batch * H;
    cache.p.resize(size_t(pairs));
    // Sequence–head pairs own disjoint blocks of P and o: one per thread, each product single-threaded.
#pragma omp parallel for schedule(static) if (pairs > 1 && T * d > ops::kParallelMin)
    for (long bh = 0; bh < pairs; ++bh) {
        const long b = bh / H;
        const int h = int(bh % H);
        Mat<S>& P = cache.p[size_t(bh)];
        P.resize(L, L);
        gemm::matmul<S>(P, cache.k.block(h * dh, b * L, dh, L), true, cache.q.block(h * dh, b * L, dh, L), false,
                        false);
        // Column t: softmax over the keys s ≤ t; the keys after t get weight 0.
        for (long t = 0; t < L; ++t) {
            S* col = P.col(t).data();
            S top = -std::numeric_limits<S>::infinity();
            for (long s = 0; s <= t; ++s) top = std::max(top, col[s] *= c);
            S sum = 0;
            for (long s = 0; s <= t; ++s) sum += col[s] = std::exp(col[s] - top);
            for (long s = 0; s <= t; ++s) col[s] /= sum;
            for (long s = t + 1; s < L; ++s) col[s] = 0;
        }
        gemm::matmul<S>(cache.o.block(h * dh, b * L, dh, L), cache.v.block(h * dh, b * L, dh, L), false, P, false,
                        false);
    }
    y.resize(d, T);
    gemm::matmul<S>(y, Wo, false, cache.o, false, false);
}

template <class S>
void attention_backward(const AttentionShape& shape, const AttentionWeights<S>& w, const Mat<S>& x,
                        const AttentionCache<S>& cache, const Mat<S>& dy, AttentionGrads<S> g, Mat<S>& dx) {
    check_shape(shape, x);
    MS_ASSERT(dy.rows() == x.rows() && dy.cols() == x.cols(), "attention: dy must have x's shape");
    const int d = shape.d, H = shape.heads, dh = shape.head_size();
    const long L = shape.len, T = shape.tokens();
    const CMatMap<S> Wq(w.q, d, d), Wk(w.k, d, d), Wv(w.v, d, d), Wo(w.o, d, d);
    MatMap<S> dWq(g.q, d, d), dWk(g.k, d, d), dWv(g.v, d, d), dWo(g.o, d, d);
    gemm::matmul<S>(dWo, dy, false, cache.o, true, false);  // y = Wo·o
    Mat<S> dO(d, T), dq(d, T), dk(d, T), dv(d, T);
    gemm::matmul<S>(dO, Wo, true, dy, false, false);
    const S c = S(1) / std::sqrt(S(dh));
    const long pairs = shape.batch * H;
    // As in the forward: a sequence–head pair per thread, disjoint blocks of dq, dk, dv.
#pragma omp parallel for schedule(static) if (pairs > 1 && T * d > ops::kParallelMin)
    for (long bh = 0; bh < pairs; ++bh) {
        const long b = bh / H;
        const int h = int(bh % H);
        const Mat<S>& P = cache.p[size_t(bh)];
        Mat<S> dS(L, L);
        const auto dOh = dO.block(h * dh, b * L, dh, L);
        // o_h = v_h·P
        gemm::matmul<S>(dv.block(h * dh, b * L, dh, L), dOh, false, P, true, false);
        gemm::matmul<S>(dS, cache.v.block(h * dh, b * L, dh, L), true, dOh, false, false);  // dP, in place
        // Softmax per column, then the scale: dS = c·P ⊙ (dP − Σ_s P·dP); 0 where masked (P = 0).
        for (long t = 0; t < L; ++t) {
            S* col = dS.col(t).data();
            const S* p = P.col(t).data();
            S dot = 0;
            for (long s = 0; s <= t; ++s) dot += p[s] * col[s];
            for (long s = 0; s <= t; ++s) col[s] = c * p[s] * (col[s] - dot);
            for (long s = t + 1; s < L; ++s) col[s] = 0;
        }
        // S = c·k_hᵀ·q_h (c folded into dS above)
        gemm::matmul<S>(dq.block(h * dh, b * L, dh, L), cache.k.block(h * dh, b * L, dh, L), false, dS, false, false);
        gemm::matmul<S>(dk.block(h * dh, b * L, dh, L), cache.q.block(h * dh, b * L, dh, L), false, dS, true, false);
    }
    gemm::matmul<S>(dWq, dq, false, x, true, false);
    gemm::matmul<S>(dWk, dk, false, x, true, false);
    gemm::matmul<S>(dWv, dv, false, x, true, false);
    dx.resize(d, T);
    gemm::matmul<S>(dx, Wq, true, dq, false, false);
    gemm::matmul<S>(dx, Wk, true, dk, false, true);
    gemm::matmul<S>(dx, Wv, true, dv, false, true);
}

template void attention_forward<float>(const AttentionShape&, const AttentionWeights<float>&, const Mat<float>&,
                                       AttentionCache<float>&, Mat<float>&);
template void attention_forward<double>(const AttentionShape&, const AttentionWeights<double>&, const Mat<double>&,
                                        AttentionCache<double>&, Mat<double>&);
template void attention_backward<float>(const AttentionShape&, const AttentionWeights<float>&, const Mat<float>&,
                                        const AttentionCache<float>&, const Mat<float>&, AttentionGrads<float>,
                                        Mat<float>&);
template void attention_backward<double>(const AttentionShape&, const AttentionWeights<double>&, const Mat<double>&,
                                         const AttentionCache<double>&, const Mat<double>&, AttentionGrads<double>,
                                         Mat<double>&);

}  // namespace moescope
