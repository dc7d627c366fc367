#pragma once
// cuBLAS, opened with dlopen on first use rather than linked: linking it loads
// libcublas and libcublasLt (about 600 MB) at every start of moescope-cli, GPU
// or not (measured 0.2 s per start instead of 6 ms), and a CUDA build could not
// start at all on a machine without them, so it could not fall back to the CPU.
#include <cublas_v2.h>

namespace moescope::cuda_ops {

// The cuBLAS functions moescope calls; each member has the library function's signature.
struct CublasApi {
    decltype(&cublasCreate_v2) create = nullptr;
    decltype(&cublasDestroy_v2) destroy = nullptr;
    decltype(&cublasSetMathMode) set_math_mode = nullptr;
    decltype(&cublasSgemm_v2) sgemm = nullptr;
#if CUBLAS_VERSION >= 120500
    // From cuBLAS 12.5 on; null when the library found at run time lacks it (the
    // engine then runs one sgemm per expert).
    decltype(&cublasSgemmGroupedBatched) sgemm_grouped = nullptr;
#else
    void* sgemm_grouped = nullptr;
#endif
};

// Opens libcublas.so.<major> once (the loader's search path, then the toolkit's
// lib directory this was built against). Throws moescope::Error naming the
// library and the loader's reason when it cannot.
const CublasApi& cublas_api();

}  // namespace moescope::cuda_ops
