#include "engine/engine_factory.hpp"

#include "engine/cpu_engine.hpp"
#include "error.hpp"

namespace moescope {

Backend parse_backend(const std::string& name) {
    if (name == "auto") return Backend::Auto;
    if (name == "cpu") return Backend::Cpu;
    if (name == "cuda") return Backend::Cuda;
    throw ConfigError("--backend expects auto, cpu or cuda, got '" + name + "'");
}

const char* backend_name(Backend backend) {
    switch (backend) {
        case Backend::Auto:
            return "auto";
        case Backend::Cpu:
            return "cpu";
        case Backend::Cuda:
            return "cuda";
    }
    return "unknown";
}

namespace {

GpuEngineProvider& gpu_provider() {
    static GpuEngineProvider provider;
    return provider;
}

// Why the GPU engine cannot run cfg here ("" when it can).
std::string gpu_obstacle(const Config& cfg) {
    const GpuEngineProvider& gpu = gpu_provider();
    if (!gpu.make) return "no CUDA engine in this build";
    if (std::string why = gpu.unavailable ? gpu.unavailable() : ""; !why.empty()) return why;
    return gpu.refusal ? gpu.refusal(cfg) : "";
}

EngineChoice make_gpu_engine(const Config& cfg, int d_in, int classes, Rng& rng, const std::string& why) {
    const GpuEngineProvider& gpu = gpu_provider();
    const std::string device = gpu.device ? gpu.device() : "";
    return {gpu.make(cfg, d_in, classes, rng),
            "using the " + gpu.name + " engine" + (device.empty() ? "" : " on " + device) + ": " + why};
}

}  // namespace

void register_gpu_engine(GpuEngineProvider provider) { gpu_provider() = std::move(provider); }

EngineChoice make_engine(const Config& cfg, Backend backend, int d_in, int classes, Rng& rng) {
    switch (backend) {
        case Backend::Cuda: {
            if (const std::string why = gpu_obstacle(cfg); !why.empty())
                throw ConfigError("--backend cuda: " + why + " (use --backend cpu or auto)");
            return make_gpu_engine(cfg, d_in, classes, rng, "asked for with --backend cuda");
        }
        case Backend::Auto: {
            const std::string why = gpu_obstacle(cfg);
            if (why.empty()) return make_gpu_engine(cfg, d_in, classes, rng, "a usable GPU was found");
            return {std::make_unique<CpuEngine>(cfg, d_in, classes, rng), "using the CPU: " + why};
        }
        case Backend::Cpu:
            break;
    }
    return {std::make_unique<CpuEngine>(cfg, d_in, classes, rng),
            "using the CPU: the CPU engine was chosen (--backend cpu, the default of train and bench; --backend auto "
            "takes a usable GPU)"};
}

}  // namespace moescope
