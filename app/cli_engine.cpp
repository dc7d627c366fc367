#include "cli_engine.hpp"

#include <iostream>

#include <nlohmann/json.hpp>

#include "backend_choice.hpp"
#include "train/trainer.hpp"

namespace moescope {

Backend training_backend(const std::string& name) {
    const Backend backend = parse_backend(name);
    // The probe names the reason (no CUDA in this build, no device, an old driver ...);
    // with a usable GPU the engine factory builds the CUDA engine or says why not.
    if (backend == Backend::Cuda) choose_backend(name, /*has_cuda_path=*/true, "training", std::cerr);
    return backend;
}

void note_engine(Backend asked, const Trainer& tr, std::ostream& log) {
    if (asked == Backend::Auto) log << "moescope: " << tr.engine_reason() << std::endl;
}

nlohmann::json engine_json(const Trainer& tr) {
    return {{"engine", tr.engine().name()}, {"engine_reason", tr.engine_reason()}};
}

}  // namespace moescope
