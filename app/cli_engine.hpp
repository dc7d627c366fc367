#pragma once
// Which engine a moescope-cli training command runs on (`--backend
// auto|cpu|cuda`), and the one line that says which engine ran and why.
#include <ostream>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "engine/engine_factory.hpp"  // Backend

namespace moescope {

class Trainer;

// The Backend to build the Trainer with. Throws ConfigError for a name other
// than auto, cpu or cuda, and for cuda when this binary or machine cannot run
// it (naming why: not built, no usable GPU) before anything is trained.
Backend training_backend(const std::string& name);

// `auto` prints which engine the trainer got and why ("moescope: using the CPU:
// no usable GPU: ...") as one line on `log`; cpu and cuda were asked for by name.
void note_engine(Backend asked, const Trainer& tr, std::ostream& log);

// {"engine": "cpu", "engine_reason": "..."} for the run summary.
nlohmann::json engine_json(const Trainer& tr);

}  // namespace moescope
