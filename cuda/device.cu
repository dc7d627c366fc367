#include "device.hpp"

#include <cuda_runtime_api.h>

#include <exception>
#include <mutex>

namespace moescope::cuda_ops {

namespace {

// The smallest kernel there is: whether the runtime finds an image of it for
// the device tells whether this binary was compiled for that GPU.
__global__ void probe_kernel() {}

std::string error_text(cudaError_t e) { return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e); }

DeviceStatus probe_uncached() {
    DeviceStatus s;
    int runtime = 0, driver = 0;
    cudaRuntimeGetVersion(&runtime);
    // Reports 0, not an error, when no driver (libcuda) is installed at all.
    cudaDriverGetVersion(&driver);
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        cudaGetLastError();  // leave no error behind for the next caller
        if (driver == 0)
            s.reason = "no CUDA device (no NVIDIA driver is installed)";
        else if (driver < runtime)
            s.reason = "driver too old for CUDA " + cuda_version_text(runtime) + " runtime (driver supports " +
                       cuda_version_text(driver) + ", runtime needs " + cuda_version_text(runtime) + ")";
        else if (e == cudaErrorNoDevice || count == 0)
            s.reason = "no CUDA device";
        else
            s.reason = "CUDA cannot start (" + error_text(e) + ")";
        return s;
    }
    cudaDeviceProp prop{};
    if (const cudaError_t pe = cudaGetDeviceProperties(&prop, 0); pe != cudaSuccess) {
        cudaGetLastError();
        s.reason = "cannot query CUDA device 0 (" + error_text(pe) + ")";
        return s;
    }
    s.name = prop.name;
    s.cc_major = prop.major;
    s.cc_minor = prop.minor;
    s.memory = prop.totalGlobalMem;
    const std::string which =
        s.name + " (compute capability " + std::to_string(s.cc_major) + "." + std::to_string(s.cc_minor) + ")";
    int compute_mode = cudaComputeModeDefault;
    cudaDeviceGetAttribute(&compute_mode, cudaDevAttrComputeMode, 0);
    if (compute_mode == cudaComputeModeProhibited) {
        s.reason = which + " is in compute-prohibited mode";
        return s;
    }
    cudaFuncAttributes attr{};
    if (const cudaError_t ke = cudaFuncGetAttributes(&attr, probe_kernel); ke != cudaSuccess) {
        cudaGetLastError();
        s.reason = which +
                   ": this binary has no kernels for it (built for CUDA architectures " MOESCOPE_CUDA_ARCHS "; " +
                   error_text(ke) + ")";
        return s;
    }
    // Creating the context is what fails on a busy exclusive-mode GPU or a broken MIG setup.
    if (const cudaError_t ce = cudaFree(nullptr); ce != cudaSuccess) {
        cudaGetLastError();
        s.reason = which + ": cannot create a CUDA context (" + error_text(ce) + ")";
        return s;
    }
    s.usable = true;
    return s;
}

}  // namespace

std::string cuda_version_text(int version) {
    return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

DeviceStatus probe_device() {
    static std::once_flag once;
    static DeviceStatus status;
    std::call_once(once, [] {
        try {
            status = probe_uncached();
        } catch (const std::exception& e) {
            status = DeviceStatus{};
            status.reason = std::string("probing the GPU failed: ") + e.what();
        }
    });
    return status;
}

}  // namespace moescope::cuda_ops
