#include "backend_choice.hpp"

#include "error.hpp"

#ifdef MOESCOPE_HAVE_CUDA
#include "device.hpp"
#include "engine/cuda_engine.hpp"
#include "ops.cuh"
#endif

namespace moescope {

namespace {
constexpr const char* kNotBuilt = "the CUDA backend is not built in this binary";
}

void check_backend_name(const std::string& name) {
    if (name != "auto" && name != "cpu" && name != "cuda")
        throw ConfigError("--backend expects auto, cpu or cuda, got '" + name + "'");
}

GpuInfo gpu_info() {
    GpuInfo g;
#ifdef MOESCOPE_HAVE_CUDA
    const cuda_ops::DeviceStatus s = cuda_ops::probe_device();
    g.usable = s.usable;
    g.reason = s.reason;
    g.name = s.name;
    g.cc_major = s.cc_major;
    g.cc_minor = s.cc_minor;
    g.memory = s.memory;
#else
    g.reason = kNotBuilt;
#endif
    return g;
}

Backend choose_backend(const std::string& name, bool has_cuda_path, const std::string& what, std::ostream& log) {
    check_backend_name(name);
    if (name == "cpu") return Backend::Cpu;
    const GpuInfo gpu = gpu_info();
    if (name == "auto") {
        if (gpu.usable && has_cuda_path) return Backend::Cuda;
        log << "moescope: using the CPU: "
            << (gpu.usable ? "the CUDA " + what + " engine is not available yet" : "no usable GPU: " + gpu.reason)
            << std::endl;
        return Backend::Cpu;
    }
#ifndef MOESCOPE_HAVE_CUDA
    throw ConfigError(std::string(kNotBuilt) + " (configure with -DMOESCOPE_CUDA=ON, or use --backend cpu)");
#endif
    if (!gpu.usable) throw ConfigError("--backend cuda: no usable GPU: " + gpu.reason);
    if (!has_cuda_path)
        throw ConfigError("--backend cuda: " + what + " on the GPU is not implemented yet (use --backend cpu or auto)");
    return Backend::Cuda;
}

void register_cuda_engine() {
#ifdef MOESCOPE_HAVE_CUDA
    GpuEngineProvider p;
    p.name = "CUDA";
    p.unavailable = [] { return cuda_ops::probe_device().reason; };
    p.device = [] {
        const cuda_ops::DeviceStatus s = cuda_ops::probe_device();
        return s.name + " (compute capability " + std::to_string(s.cc_major) + "." + std::to_string(s.cc_minor) + ")";
    };
    p.refusal = [](const Config& c) { return cuda_dev::refusal(c); };
    p.make = [](const Config& c, int d_in, int classes, Rng& rng) {
        return cuda_dev::make_engine(c, d_in, classes, rng);
    };
    register_gpu_engine(std::move(p));
#endif
}

double gpu_sgemm_gflops(int m, int n, int k) {
#ifdef MOESCOPE_HAVE_CUDA
    return cuda_ops::measure_sgemm_peak(m, n, k);
#else
    throw Error(kNotBuilt);
#endif
}

}  // namespace moescope
