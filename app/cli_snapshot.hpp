#pragma once
// The CLI's snapshot commands: `inspect FILE [--json]`, and the pieces of
// `train` that resume from and save to a `.moesnap` file. Bad input throws
// moescope::Error (one line, caught in main).
#include <memory>
#include <string>
#include <vector>

#include "monitor/metrics_history.hpp"
#include "train/trainer.hpp"

namespace moescope {

int cmd_inspect(const std::vector<std::string>& args);

// A trainer continuing the snapshot at `path`, with `sets` (KEY=VALUE) queued as
// live knob changes; structural knobs are refused. Fills `history` from the file.
// The run continues on `backend`'s engine, whichever engine wrote the file.
std::unique_ptr<Trainer> resume_from_snapshot(const std::string& path, const std::vector<std::string>& sets,
                                              MetricsHistory& history, bool quiet, Backend backend = Backend::Cpu);

// Saves `tr` and `history` to `path` and prints one line with the time it took.
void save_run(const std::string& path, const Trainer& tr, const MetricsHistory& history, bool allow_non_finite,
              bool quiet);

}  // namespace moescope
