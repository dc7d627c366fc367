#pragma once
// The one place that knows which engines exist. The core stays free of CUDA:
// a GPU engine is registered at start by the app layer (register_gpu_engine),
// and make_engine uses it for `cuda` and `auto`. Nothing above the Engine
// interface changes.
#include <functional>
#include <memory>
#include <string>

#include "engine/engine.hpp"

namespace moescope {

// Which engine a run asks for (`--backend auto|cpu|cuda`).
enum class Backend { Auto, Cpu, Cuda };
// Throws ConfigError unless `name` is auto, cpu or cuda.
Backend parse_backend(const std::string& name);
const char* backend_name(Backend backend);

struct EngineChoice {
    std::unique_ptr<Engine> engine;
    std::string reason;  // one line: which engine runs and why, e.g. "using the CPU: no CUDA engine in this build"
};

// A GPU engine as the factory sees it.
struct GpuEngineProvider {
    std::string name;                                   // "CUDA"
    std::function<std::string()> unavailable;           // "" when a device is usable, else why not
    std::function<std::string()> device;                // the device in words, e.g. "NVIDIA H100 (cc 9.0)"
    std::function<std::string(const Config&)> refusal;  // "" when it can run cfg, else one line why not
    std::function<std::unique_ptr<Engine>(const Config&, int d_in, int classes, Rng&)> make;
};
// Makes `provider` the GPU engine of make_engine (replacing any earlier one);
// an empty provider (no make function) removes it.
void register_gpu_engine(GpuEngineProvider provider);

// Builds the engine for `backend`, its parameters initialised from `rng`.
//   cpu  → the CPU engine;
//   auto → the GPU engine when one is registered, its device usable and cfg not
//          refused; else the CPU, with one reason line ("using the CPU: no CUDA device");
//   cuda → the GPU engine, or ConfigError with one line naming why not.
EngineChoice make_engine(const Config& cfg, Backend backend, int d_in, int classes, Rng& rng);

}  // namespace moescope
