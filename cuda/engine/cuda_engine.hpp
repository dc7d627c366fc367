#pragma once
// The CUDA engine behind the engine seam (core/engine/engine.hpp). One source,
// two builds (cuda/CMakeLists.txt, cuda/emu/CMakeLists.txt), each with this API:
//   moescope::cuda_dev — kernels compiled by nvcc, run on the GPU (library
//                        moescope_cuda_dev, only when CUDA is enabled);
//   moescope::cuda_emu — the same kernels as plain C++ over the host emulation
//                        of cuda/emu/ (library moescope_cuda_emu, always built
//                        with the tests), so CI checks the engine without a GPU.
// Plain C++: no CUDA header, so tests and the app include it anywhere.
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.hpp"

#define MOESCOPE_CUDA_ENGINE_API                                                                                \
    struct CudaEngineOptions {                                                                                  \
        /* tests: draw noise with the run's Rng exactly as CpuEngine does (then uploaded), for parity */        \
        bool host_noise = false;                                                                                \
    };                                                                                                          \
    /* "" when this engine can run cfg; else one line naming what it refuses and why. */                        \
    std::string refusal(const Config& cfg);                                                                     \
    /* Parameters initialised on the host exactly as CpuEngine does (same draws from rng), then uploaded. */    \
    /* Throws ConfigError with refusal(cfg) when it refuses cfg, Error when the device is out of memory. */     \
    std::unique_ptr<Engine> make_engine(const Config& cfg, int d_in, int classes, Rng& rng,                     \
                                        const CudaEngineOptions& options = {});                                 \
    /* Tests: the last training step's gradients (layout() order) of an engine made by make_engine above. */    \
    std::vector<float> gradients(const Engine& engine);                                                         \
    /* Which GEMM path the expert products take ("cublasSgemmGroupedBatched", "per-expert sgemm loop", ...). */ \
    std::string expert_gemm_path();

namespace moescope::cuda_dev {
MOESCOPE_CUDA_ENGINE_API
}
namespace moescope::cuda_emu {
MOESCOPE_CUDA_ENGINE_API
}
