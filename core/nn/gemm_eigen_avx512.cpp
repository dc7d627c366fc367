// Eigen's sgemm compiled for AVX-512 (CMake gives this file alone
// -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma): one of the bench's
// roofline candidates, called only where the CPU has AVX-512.
#ifdef MOESCOPE_EIGEN_AVX512
// Every Eigen template instantiated here gets its own mangled name, so the
// linker never swaps an AVX-512 copy into the rest of the program.
#define Eigen moescope_eigen_avx512
#include "nn/gemm_eigen.hpp"

namespace moescope::gemm::detail {

void eigen_avx512_sgemm(bool trans_a, bool trans_b, long m, long n, long k, const float* A, long lda, const float* B,
                        long ldb, float* C, long ldc, bool accumulate) {
    eigen_sgemm_impl(trans_a, trans_b, m, n, k, A, lda, B, ldb, C, ldc, accumulate);
}

}  // namespace moescope::gemm::detail
#endif
