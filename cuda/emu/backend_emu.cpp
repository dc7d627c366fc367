// The emulation's device: host memory, copies that are memcpy, a synchronize
// that has nothing to wait for, and a reference GEMM with cuBLAS's exact
// column-major semantics. Plain C++: no CUDA header is included, so this builds
// without the toolkit (sanitizer builds, MOESCOPE_CUDA=OFF).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "engine/backend.hpp"
#include "error.hpp"

namespace moescope::MOESCOPE_ENGINE_NS {

void* device_alloc(size_t bytes, const std::string& what) {
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p)
        throw Error("out of memory: the emulated CUDA engine asked for " + std::to_string(bytes) + " bytes for " +
                    what);
    return p;
}
void device_free(void* p) { std::free(p); }
void copy_to_device(void* dst, const void* src, size_t bytes) {
    if (bytes) std::memcpy(dst, src, bytes);
}
void copy_to_host(void* dst, const void* src, size_t bytes) {
    if (bytes) std::memcpy(dst, src, bytes);
}
void copy_on_device(void* dst, const void* src, size_t bytes) {
    if (bytes) std::memmove(dst, src, bytes);
}
void device_zero(void* p, size_t bytes) {
    if (bytes) std::memset(p, 0, bytes);
}
void* pinned_alloc(size_t bytes) { return device_alloc(bytes, "the step summary"); }
void pinned_free(void* p) { device_free(p); }
void synchronize() {}

namespace {

// acc (m) = A·b for one column b (k) of op(B), A m × k with column stride lda:
// A's columns are read in order (acc += b_p·A[:,p]), a loop the compiler vectorises.
void column_product(const float* A, long lda, int m, int k, const float* b, float* acc) {
    std::fill(acc, acc + m, 0.f);
    for (int p = 0; p < k; ++p) {
        const float bp = b[p];
        const float* a = A + size_t(p) * lda;
        for (int i = 0; i < m; ++i) acc[i] += bp * a[i];
    }
}

}  // namespace

void gemm(const Gemm& g, float alpha, float beta) {
    MS_ASSERT(g.m >= 0 && g.n >= 0 && g.k >= 0, "gemm: negative dimension");
    MS_ASSERT(g.ldc >= std::max(1, g.m), "gemm: ldc < m");
    MS_ASSERT(g.lda >= std::max(1, g.ta ? g.k : g.m), "gemm: lda too small");
    MS_ASSERT(g.ldb >= std::max(1, g.tb ? g.n : g.k), "gemm: ldb too small");
    std::vector<float> b(g.k), acc(g.m), At;
    // op(A) = Aᵀ: transposed once into a contiguous m × k copy (m·k work against m·n·k),
    // so every product runs the same in-order, vectorised column loop.
    const float* A = g.A;
    long lda = g.lda;
    if (g.ta) {
        At.resize(size_t(g.m) * g.k);
        for (int i = 0; i < g.m; ++i)
            for (int p = 0; p < g.k; ++p) At[i + size_t(p) * g.m] = g.A[p + size_t(i) * g.lda];
        A = At.data();
        lda = std::max(1, g.m);
    }
    for (int j = 0; j < g.n; ++j) {
        // Column j of op(B): contiguous without a transpose, row j of B with one.
        if (!g.tb)
            std::copy(g.B + size_t(j) * g.ldb, g.B + size_t(j) * g.ldb + g.k, b.begin());
        else
            for (int p = 0; p < g.k; ++p) b[p] = g.B[j + size_t(p) * g.ldb];
        column_product(A, lda, g.m, g.k, b.data(), acc.data());
        float* c = g.C + size_t(j) * g.ldc;
        // cuBLAS: with beta = 0, C is not read (a NaN there does not propagate).
        if (beta == 0.f)
            for (int i = 0; i < g.m; ++i) c[i] = alpha * acc[i];
        else
            for (int i = 0; i < g.m; ++i) c[i] = alpha * acc[i] + beta * c[i];
    }
}

void gemm_grouped(const std::vector<Gemm>& products, float alpha, float beta) {
    for (const Gemm& g : products)
        if (g.m > 0 && g.n > 0 && g.k > 0) gemm(g, alpha, beta);
}

std::string gemm_path() { return "host reference"; }

}  // namespace moescope::MOESCOPE_ENGINE_NS
