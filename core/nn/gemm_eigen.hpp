#pragma once
// Eigen's sgemm behind the gemm::SgemmFn signature, included by gemm.cpp (the
// build's own -march) and by gemm_eigen_avx512.cpp (AVX-512), which renames
// the Eigen namespace first so the two instantiations never merge at link time.
#include <Eigen/Core>

namespace moescope::gemm::detail {

inline void eigen_sgemm_impl(bool trans_a, bool trans_b, long m, long n, long k, const float* A, long lda,
                             const float* B, long ldb, float* C, long ldc, bool accumulate) {
    using M = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;
    using Stride = Eigen::OuterStride<>;
    Eigen::Map<M, 0, Stride> c(C, m, n, Stride(ldc));
    const Eigen::Map<const M, 0, Stride> a(A, trans_a ? k : m, trans_a ? m : k, Stride(lda));
    const Eigen::Map<const M, 0, Stride> b(B, trans_b ? n : k, trans_b ? k : n, Stride(ldb));
    if (!accumulate) c.setZero();
    if (!trans_a && !trans_b)
        c.noalias() += a * b;
    else if (!trans_a)
        c.noalias() += a * b.transpose();
    else if (!trans_b)
        c.noalias() += a.transpose() * b;
    else
        c.noalias() += a.transpose() * b.transpose();
}

}  // namespace moescope::gemm::detail
