#pragma once
// The one place that knows which engines exist. Adding an engine means one
// more case here; nothing above the Engine interface changes.
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

// Builds the engine for `backend`, its parameters initialised from `rng`.
//   cpu  → the CPU engine;
//   auto → the best engine this build and machine have (today: the CPU), with the reason;
//   cuda → ConfigError: the CUDA engine is not built yet.
EngineChoice make_engine(const Config& cfg, Backend backend, int d_in, int classes, Rng& rng);

}  // namespace moescope
