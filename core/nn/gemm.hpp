#pragma once
// The model's matrix products. Float GEMMs go to an sgemm this build links.
// MOESCOPE_GEMM=auto (the default) takes, per shape class (both transposes and
// m, n, k each by its power of two), the library that was fastest on this machine
// for that class: timed on the first product of the class, kept in a
// per-machine cache (tuning_cache_path) and in snapshots (tuning_json).
// MOESCOPE_GEMM=onednn|openblas|eigen|eigen-avx512 forces one library for
// every shape (the lesson tests run under several, so their margins hold
// whichever kernels a CPU runs); untuned is the build's first, oneDNN where
// linked (its JIT picks AVX-512, AVX2 or SSE4.1 at run time; oneDNN's own
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

// The model's sgemm: "oneDNN 2.6.3 (avx512_core)", or "the fastest per shape ..." for auto.
std::string model_sgemm();

// Its MOESCOPE_GEMM name: "auto", "onednn", "openblas", "eigen", "eigen-avx512"
// (untuned gives the build's first library's name).
std::string model_key();

// MOESCOPE_GEMM=auto: the library chosen for each shape class met so far (or
// loaded from the cache or a snapshot), by class: {"NT m<=64 n<=256 k<=128", "openblas"}.
struct TunedChoice {
    std::string shape, library;
};
std::vector<TunedChoice> tuned_choices();

// The per-machine cache: $MOESCOPE_GEMM_CACHE (empty: none), else
// $XDG_CACHE_HOME or ~/.cache, /moescope/gemm-<hash of the machine>.json (the
// CPU model, the build's -march, each library's version and kernel here).
std::string tuning_cache_path();

// The choices as JSON text for a snapshot ("" unless auto), and adopting a
// snapshot's: on the same machine (CPU, libraries, build) its choices replace
// this process's for their classes, so a resume runs the same kernels as the
// run it continues; elsewhere they are ignored. Returns whether they were adopted.
std::string tuning_json();
bool adopt_tuning_json(const std::string& text);

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
