// The GPU's device: cudaMalloc'd memory, checked copies, and the products on
// cuBLAS (fp32 math, no TF32) through the dlopen'd table of cublas_loader.hpp.
#include <cuda_runtime_api.h>

#include <mutex>
#include <vector>

#include "cublas_loader.hpp"
#include "cuda_check.hpp"
#include "engine/backend.hpp"
#include "error.hpp"
#include "ops.cuh"

namespace moescope::MOESCOPE_ENGINE_NS {

namespace {

std::string mib(size_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

const cuda_ops::Blas& blas() {
    static const cuda_ops::Blas handle;  // one per process, on the default stream
    return handle;
}

cublasOperation_t op(bool t) { return t ? CUBLAS_OP_T : CUBLAS_OP_N; }

}  // namespace

void* device_alloc(size_t bytes, const std::string& what) {
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, bytes);
    if (e == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        throw Error("out of GPU memory: the CUDA engine asked for " + mib(bytes) + " (" + std::to_string(bytes) +
                    " bytes) for " + what + "; " + mib(free_b) + " of " + mib(total_b) + " free");
    }
    CUDA_CHECK(e);
    return p;
}
void device_free(void* p) {
    if (p) cudaFree(p);  // no throw from a destructor; a sticky error shows at the next checked call
}
void copy_to_device(void* dst, const void* src, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}
void copy_to_host(void* dst, const void* src, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}
void copy_on_device(void* dst, const void* src, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
}
void device_zero(void* p, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemset(p, 0, bytes));
}
void* pinned_alloc(size_t bytes) {
    void* p = nullptr;
    CUDA_CHECK(cudaMallocHost(&p, bytes));
    return p;
}
void pinned_free(void* p) {
    if (p) cudaFreeHost(p);
}
void synchronize() { CUDA_CHECK(cudaDeviceSynchronize()); }

void gemm(const Gemm& g, float alpha, float beta) {
    CUBLAS_CHECK(cuda_ops::cublas_api().sgemm(blas().handle(), op(g.ta), op(g.tb), g.m, g.n, g.k, &alpha, g.A, g.lda,
                                              g.B, g.ldb, &beta, g.C, g.ldc));
}

#if CUBLAS_VERSION >= 120500
void grouped_call(decltype(&cublasSgemmGroupedBatched) grouped, const std::vector<const Gemm*>& live, float alpha,
                  float beta);
#endif

void gemm_grouped(const std::vector<Gemm>& products, float alpha, float beta) {
    std::vector<const Gemm*> live;
    for (const Gemm& g : products)
        if (g.m > 0 && g.n > 0 && g.k > 0) live.push_back(&g);
    if (live.empty()) return;
#if CUBLAS_VERSION >= 120500
    if (const auto grouped = cuda_ops::cublas_api().sgemm_grouped) {
        grouped_call(grouped, live, alpha, beta);
        return;
    }
#endif
    for (const Gemm* g : live) gemm(*g, alpha, beta);
}

#if CUBLAS_VERSION >= 120500
void grouped_call(decltype(&cublasSgemmGroupedBatched) grouped, const std::vector<const Gemm*>& live, float alpha,
                  float beta) {
    // One group per product (group_size 1): the per-group arrays live on the host,
    // the pointer arrays on the device (uploaded here, a few hundred bytes).
    const int n = int(live.size());
    std::vector<cublasOperation_t> ta(n), tb(n);
    std::vector<int> m(n), nn(n), k(n), lda(n), ldb(n), ldc(n), size(n, 1);
    std::vector<float> alphas(n, alpha), betas(n, beta);
    std::vector<const float*> A(n), B(n);
    std::vector<float*> C(n);
    for (int i = 0; i < n; ++i) {
        const Gemm& g = *live[i];
        ta[i] = op(g.ta);
        tb[i] = op(g.tb);
        m[i] = g.m, nn[i] = g.n, k[i] = g.k, lda[i] = g.lda, ldb[i] = g.ldb, ldc[i] = g.ldc;
        A[i] = g.A, B[i] = g.B, C[i] = g.C;
    }
    static Buffer<const float*> ptrs;
    if (ptrs.size() < size_t(3 * n)) ptrs = Buffer<const float*>(size_t(3 * n), "grouped GEMM pointers");
    std::vector<const float*> all(3 * n);
    for (int i = 0; i < n; ++i) all[i] = A[i], all[n + i] = B[i], all[2 * n + i] = C[i];
    ptrs.upload_prefix(all.data(), all.size());
    const float* const* dA = ptrs.data();
    const float* const* dB = ptrs.data() + n;
    float* const* dC = const_cast<float* const*>(ptrs.data() + 2 * n);
    CUBLAS_CHECK(grouped(blas().handle(), ta.data(), tb.data(), m.data(), nn.data(), k.data(), alphas.data(), dA,
                         lda.data(), dB, ldb.data(), betas.data(), dC, ldc.data(), n, size.data()));
}
#endif

std::string gemm_path() {
    return cuda_ops::cublas_api().sgemm_grouped ? "cublasSgemmGroupedBatched" : "per-expert sgemm loop";
}

}  // namespace moescope::MOESCOPE_ENGINE_NS
