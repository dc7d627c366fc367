// cuBLAS half of cuda/ops.cuh: the handle, sgemm, and the sgemm speed probe.
// Host code only, so the host compiler builds it (no nvcc pass).
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>

#include "cublas_loader.hpp"
#include "cuda_check.hpp"
#include "device_buffer.hpp"
#include "ops.cuh"

namespace moescope::cuda_ops {

Blas::Blas() {
    const CublasApi& api = cublas_api();
    CUBLAS_CHECK(api.create(&handle_));
    // fp32 in, fp32 math: no TF32 tensor cores, so results are comparable with Eigen.
    if (const cublasStatus_t st = api.set_math_mode(handle_, CUBLAS_DEFAULT_MATH); st != CUBLAS_STATUS_SUCCESS) {
        api.destroy(handle_);
        CUBLAS_CHECK(st);
    }
}

Blas::~Blas() { cublas_api().destroy(handle_); }

void sgemm(const Blas& blas, bool transpose_a, bool transpose_b, int m, int n, int k, float alpha, const float* A,
           int lda, const float* B, int ldb, float beta, float* C, int ldc) {
    CUBLAS_CHECK(cublas_api().sgemm(blas.handle(), transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                    transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k, &alpha, A, lda, B, ldb, &beta, C,
                                    ldc));
}

namespace {

class Event {
public:
    Event() { CUDA_CHECK(cudaEventCreate(&e_)); }
    ~Event() { cudaEventDestroy(e_); }
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;
    cudaEvent_t get() const { return e_; }

private:
    cudaEvent_t e_ = nullptr;
};

}  // namespace

double measure_sgemm_peak(int m, int n, int k) {
    MS_ASSERT(m > 0 && n > 0 && k > 0, "sgemm shape must be positive");
    const Blas blas;
    DeviceBuffer<float> A(size_t(m) * k), B(size_t(k) * n), C(size_t(m) * n);
    // Byte 0x3c everywhere is the float 0.0115: small, finite, non-zero data.
    CUDA_CHECK(cudaMemset(A.data(), 0x3c, A.size() * sizeof(float)));
    CUDA_CHECK(cudaMemset(B.data(), 0x3c, B.size() * sizeof(float)));
    const double flops = 2.0 * m * n * k;
    // Enough products per batch that launch latency does not dominate large shapes.
    const int per_batch = int(std::clamp(5e10 / flops, 3.0, 1000.0));
    auto product = [&] { sgemm(blas, false, false, m, n, k, 1.f, A.data(), m, B.data(), k, 0.f, C.data(), m); };
    for (int i = 0; i < 3; ++i) product();  // warm-up: kernel selection, clocks
    const Event start, stop;
    float best_ms = 0;
    for (int batch = 0; batch < 5; ++batch) {
        CUDA_CHECK(cudaEventRecord(start.get()));
        for (int i = 0; i < per_batch; ++i) product();
        CUDA_CHECK(cudaEventRecord(stop.get()));
        CUDA_CHECK(cudaEventSynchronize(stop.get()));
        float ms = 0;
        CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
        if (batch == 0 || ms < best_ms) best_ms = ms;
    }
    return flops * per_batch / (best_ms * 1e-3) * 1e-9;
}

}  // namespace moescope::cuda_ops
