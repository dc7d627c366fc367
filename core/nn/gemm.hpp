#pragma once
// The model's matrix products. Float GEMMs go to one sgemm this build links,
// chosen once per process: MOESCOPE_GEMM=onednn|openblas|eigen|eigen-avx512
// forces one (the lesson tests run under several, so their margins hold
// whichever kernels a CPU runs); auto (the default) is oneDNN where linked,
// whose JIT picks AVX-512, AVX2 or SSE4.1 for the CPU at run time (oneDNN's own
// ONEDNN_MAX_CPU_ISA=AVX2 caps it), else Eigen. Double GEMMs (the gradient
// checks) stay on Eigen.
//
// Threads: called inside an OpenMP parallel region (one expert per thread) a
// GEMM runs on the calling thread alone, so threads never nest. Results are
// the same bits for the same CPU, thread count and inputs.
#include <string>
#include <type_traits>
#include <vector>

#include "error.hpp"
#include "nn/tensor.hpp"

namespace moescope::gemm {

// C (m×n) = op(A)·op(B), or C += op(A)·op(B) with `accumulate`; column-major,
// leading dimensions lda, ldb, ldc. op(A) is m×k: A is m×k, or k×m with trans_a.
using SgemmFn = void (*)(bool trans_a, bool trans_b, long m, long n, long k, const float* A, long lda, const float* B,
                         long ldb, float* C, long ldc, bool accumulate);

// The sgemm the model uses.
void sgemm(bool trans_a, bool trans_b, long m, long n, long k, const float* A, long lda, const float* B, long ldb,
           float* C, long ldc, bool accumulate);

// One sgemm this build links, with the kernel it picked for this CPU.
struct Candidate {
    std::string name;    // "oneDNN 2.6.3", "OpenBLAS 0.3.21", "Eigen 3.4.0 AVX-512"
    std::string kernel;  // "avx512_core", "SkylakeX", "-march=x86-64-v3"
    SgemmFn fn = nullptr;
    bool used_by_model = false;
};

// Every sgemm linked that can run on this CPU; the model's own comes first.
std::vector<Candidate> candidates();

// The model's sgemm: "oneDNN 2.6.3 (avx512_core)".
std::string model_sgemm();

// Its MOESCOPE_GEMM name: "onednn", "openblas", "eigen", "eigen-avx512".
std::string model_key();

// Throws ConfigError naming MOESCOPE_GEMM and the choices when it names no
// sgemm this build links and this CPU runs (the engine calls it at start).
void check_choice();

// out = op(a)·op(b), or out += with `accumulate`, on column-major Eigen
// matrices, blocks or maps (anything with data() and outerStride()).
template <class S, class Out, class A, class B>
void matmul(Out&& out, const A& a, bool trans_a, const B& b, bool trans_b, bool accumulate) {
    const long m = out.rows(), n = out.cols(), k = trans_a ? a.rows() : a.cols();
    MS_ASSERT((trans_a ? a.cols() : a.rows()) == m && (trans_b ? b.cols() : b.rows()) == k &&
                  (trans_b ? b.rows() : b.cols()) == n,
              "matmul shapes do not agree");
    if constexpr (std::is_same_v<S, float>) {
        sgemm(trans_a, trans_b, m, n, k, a.data(), a.outerStride(), b.data(), b.outerStride(), out.data(),
              out.outerStride(), accumulate);
    } else {
        if (!accumulate) out.setZero();
        if (!trans_a && !trans_b)
            out.noalias() += a * b;
        else if (!trans_a)
            out.noalias() += a * b.transpose();
        else if (!trans_b)
            out.noalias() += a.transpose() * b;
        else
            out.noalias() += a.transpose() * b.transpose();
    }
}

}  // namespace moescope::gemm
