#include "nn/gemm.hpp"

#include <algorithm>
#include <cstdlib>

#include "nn/gemm_eigen.hpp"
#include "nn/gemm_internal.hpp"

#ifdef MOESCOPE_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif
#ifdef MOESCOPE_HAVE_OPENBLAS
#include <cblas.h>
extern "C" char* openblas_get_corename(void);
#endif

namespace moescope::gemm {

namespace detail {
#ifdef MOESCOPE_EIGEN_AVX512
void eigen_avx512_sgemm(bool trans_a, bool trans_b, long m, long n, long k, const float* A, long lda, const float* B,
                        long ldb, float* C, long ldc, bool accumulate);
#endif
}  // namespace detail

namespace {

// The build's own -march (x86-64-v3 by default).
void eigen_sgemm(bool trans_a, bool trans_b, long m, long n, long k, const float* A, long lda, const float* B, long ldb,
                 float* C, long ldc, bool accumulate) {
    detail::eigen_sgemm_impl(trans_a, trans_b, m, n, k, A, lda, B, ldb, C, ldc, accumulate);
}

std::string eigen_version() {
    return std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
           std::to_string(EIGEN_MINOR_VERSION);
}

#ifdef MOESCOPE_HAVE_DNNL
// dnnl_sgemm is row-major. A column-major m×n C is a row-major n×m Cᵀ, and
// Cᵀ = op(B)ᵀ·op(A)ᵀ, so B goes first and m, n swap.
void dnnl_sgemm_colmajor(bool trans_a, bool trans_b, long m, long n, long k, const float* A, long lda, const float* B,
                         long ldb, float* C, long ldc, bool accumulate) {
    const dnnl_status_t st = dnnl_sgemm(trans_b ? 'T' : 'N', trans_a ? 'T' : 'N', n, m, k, 1.0f, B, ldb, A, lda,
                                        accumulate ? 1.0f : 0.0f, C, ldc);
    MS_ASSERT(st == dnnl_success, "dnnl_sgemm failed with status " + std::to_string(int(st)));
}

std::string dnnl_isa() {
    switch (dnnl_get_effective_cpu_isa()) {
        case dnnl_cpu_isa_sse41:
            return "sse41";
        case dnnl_cpu_isa_avx:
            return "avx";
        case dnnl_cpu_isa_avx2:
            return "avx2";
        case dnnl_cpu_isa_avx2_vnni:
            return "avx2_vnni";
        case dnnl_cpu_isa_avx512_mic:
            return "avx512_mic";
        case dnnl_cpu_isa_avx512_mic_4ops:
            return "avx512_mic_4ops";
        case dnnl_cpu_isa_avx512_core:
            return "avx512_core";
        case dnnl_cpu_isa_avx512_core_vnni:
            return "avx512_core_vnni";
        case dnnl_cpu_isa_avx512_core_bf16:
            return "avx512_core_bf16";
        case dnnl_cpu_isa_avx512_core_amx:
            return "avx512_core_amx";
        default:
            return "generic";
    }
}

std::string dnnl_version_text() {
    const dnnl_version_t* v = dnnl_version();
    return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}
#endif

#ifdef MOESCOPE_HAVE_OPENBLAS
// Debian's OpenBLAS (openmp flavour) dispatches to its kernels for this CPU at
// load time (DYNAMIC_ARCH; OPENBLAS_CORETYPE overrides it) and runs one thread
// inside an OpenMP parallel region.
void openblas_sgemm(bool trans_a, bool trans_b, long m, long n, long k, const float* A, long lda, const float* B,
                    long ldb, float* C, long ldc, bool accumulate) {
    cblas_sgemm(CblasColMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, blasint(m),
                blasint(n), blasint(k), 1.0f, A, blasint(lda), B, blasint(ldb), accumulate ? 1.0f : 0.0f, C,
                blasint(ldc));
}
#endif

}  // namespace

std::vector<Named> linked() {
    std::vector<Named> out;
    const Candidate eigen{"Eigen " + eigen_version(), MOESCOPE_BUILD_MARCH, eigen_sgemm, false};
#ifdef MOESCOPE_HAVE_DNNL
    out.push_back(
        {"onednn", {"oneDNN " + dnnl_version_text() + " dnnl_sgemm", dnnl_isa(), dnnl_sgemm_colmajor, false}});
#endif
#ifdef MOESCOPE_HAVE_OPENBLAS
    std::string openblas = OPENBLAS_VERSION;  // " OpenBLAS 0.3.21 "
    openblas.erase(0, openblas.find_first_not_of(' '));
    openblas.erase(openblas.find_last_not_of(' ') + 1);
    out.push_back({"openblas", {openblas, openblas_get_corename(), openblas_sgemm, false}});
#endif
    out.push_back({"eigen", eigen});
#ifdef MOESCOPE_EIGEN_AVX512
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        out.push_back({"eigen-avx512", {"Eigen " + eigen_version(), "AVX-512", detail::eigen_avx512_sgemm, false}});
#endif
    return out;
}

namespace {

std::string known_keys(const std::vector<Named>& all) {
    std::string keys = "auto, untuned";
    for (const Named& n : all) keys += std::string(", ") + n.key;
    return keys;
}

// The model's sgemm: per shape, the fastest on this machine (auto, the
// default: gemm_tuning.cpp); the build's first library for every shape
// (untuned: oneDNN where linked, whose JIT picks the ISA at run time and
// ONEDNN_MAX_CPU_ISA caps, else Eigen); or the one MOESCOPE_GEMM names.
struct Choice {
    SgemmFn fn = nullptr;  // nullptr: per shape (auto)
    std::string key, error;
};

Choice choose() {
    const std::vector<Named> all = linked();
    const char* env = std::getenv("MOESCOPE_GEMM");
    const std::string want = env && *env ? env : "auto";
    if (want == "auto") return {nullptr, "auto", {}};
    if (want == "untuned") return {all.front().candidate.fn, all.front().key, {}};
    for (const Named& n : all)
        if (want == n.key) return {n.candidate.fn, n.key, {}};
    return {all.front().candidate.fn, all.front().key,
            "MOESCOPE_GEMM=" + want +
                " is not a GEMM this build links and this CPU runs (choose one of: " + known_keys(all) + ")"};
}

const Choice& model_choice() {
    static const Choice choice = choose();  // thread-safe, once per process
    return choice;
}

}  // namespace

void check_choice() {
    if (!model_choice().error.empty()) throw ConfigError(model_choice().error);
}

void sgemm(bool trans_a, bool trans_b, long m, long n, long k, const float* A, long lda, const float* B, long ldb,
           float* C, long ldc, bool accumulate) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        // An empty sum: C = 0, or C unchanged when accumulating.
        if (!accumulate)
            for (long j = 0; j < n; ++j) std::fill(C + j * ldc, C + j * ldc + m, 0.0f);
        return;
    }
    // Libraries insist on leading dimensions ≥ 1 even for a single row.
    lda = std::max(1L, lda), ldb = std::max(1L, ldb), ldc = std::max(1L, ldc);
    SgemmFn fn = model_choice().fn;
    if (!fn) fn = tuned_sgemm(trans_a, trans_b, m, n, k, A, lda, B, ldb, accumulate);
    fn(trans_a, trans_b, m, n, k, A, lda, B, ldb, C, ldc, accumulate);
}

std::vector<Candidate> candidates() {
    std::vector<Candidate> out;
    // auto: the model's products go through sgemm() itself, each shape to its own library.
    if (model_choice().key == "auto") out.push_back({"moescope per shape", "MOESCOPE_GEMM=auto", sgemm, true});
    for (Named& n : linked()) {
        n.candidate.used_by_model = n.key == model_choice().key;
        out.insert(n.candidate.used_by_model ? out.begin() : out.end(), n.candidate);
    }
    return out;
}

std::string model_key() { return model_choice().key; }

std::string model_sgemm() {
    if (model_key() == "auto") return "the fastest per shape on this machine (MOESCOPE_GEMM=auto)";
    for (const Candidate& c : candidates())
        if (c.used_by_model) return c.name + " (" + c.kernel + ")";
    return "none";
}

}  // namespace moescope::gemm
