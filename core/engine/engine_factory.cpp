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

EngineChoice make_engine(const Config& cfg, Backend backend, int d_in, int classes, Rng& rng) {
    switch (backend) {
        case Backend::Cuda:
            throw ConfigError("the CUDA engine is not built yet: train with --backend cpu or auto");
        case Backend::Auto:
            return {std::make_unique<CpuEngine>(cfg, d_in, classes, rng),
                    "using the CPU: no CUDA engine in this build"};
        case Backend::Cpu:
            break;
    }
    return {std::make_unique<CpuEngine>(cfg, d_in, classes, rng), "using the CPU: asked for with --backend cpu"};
}

}  // namespace moescope
