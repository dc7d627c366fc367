#include "cublas_loader.hpp"

#include <dlfcn.h>

#include <mutex>
#include <string>

#include "error.hpp"

namespace moescope::cuda_ops {

namespace {

const std::string kSoname = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);

template <class F>
void resolve(void* lib, F& f, const char* symbol) {
    f = reinterpret_cast<F>(dlsym(lib, symbol));
    if (!f) throw Error("cuBLAS (" + kSoname + ") has no symbol " + symbol);
}

CublasApi load() {
    void* lib = dlopen(kSoname.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const std::string first = dlerror();
        lib = dlopen((std::string(MOESCOPE_CUDA_LIBRARY_DIR "/") + kSoname).c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!lib) throw Error("cannot load cuBLAS: " + first);
    }
    // Never closed: the handles and kernels it creates live until the process ends.
    CublasApi api;
    resolve(lib, api.create, "cublasCreate_v2");
    resolve(lib, api.destroy, "cublasDestroy_v2");
    resolve(lib, api.set_math_mode, "cublasSetMathMode");
    resolve(lib, api.sgemm, "cublasSgemm_v2");
#if CUBLAS_VERSION >= 120500
    api.sgemm_grouped = reinterpret_cast<decltype(api.sgemm_grouped)>(dlsym(lib, "cublasSgemmGroupedBatched"));
#endif
    return api;
}

}  // namespace

const CublasApi& cublas_api() {
    // A failed load throws out of call_once, which then runs again on the next call.
    static std::once_flag once;
    static CublasApi api;
    std::call_once(once, [] { api = load(); });
    return api;
}

}  // namespace moescope::cuda_ops
