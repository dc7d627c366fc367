#pragma once
// Every CUDA runtime and cuBLAS call goes through these: a failure throws
// moescope::Error naming file:line, the failing call and the CUDA error.
// Nothing here calls exit(); the caller decides what a failure means.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

namespace moescope::cuda_detail {

[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line);

}  // namespace moescope::cuda_detail

#define CUDA_CHECK(call)                                                                              \
    do {                                                                                              \
        const cudaError_t cuda_check_status_ = (call);                                                \
        if (cuda_check_status_ != cudaSuccess)                                                        \
            ::moescope::cuda_detail::throw_cuda_error(cuda_check_status_, #call, __FILE__, __LINE__); \
    } while (0)

#define CUBLAS_CHECK(call)                                                                                \
    do {                                                                                                  \
        const cublasStatus_t cublas_check_status_ = (call);                                               \
        if (cublas_check_status_ != CUBLAS_STATUS_SUCCESS)                                                \
            ::moescope::cuda_detail::throw_cublas_error(cublas_check_status_, #call, __FILE__, __LINE__); \
    } while (0)

// After a kernel launch: launch errors (bad configuration, no kernel image
// for this GPU) are reported here; faults inside the kernel surface at the
// next synchronising call.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
