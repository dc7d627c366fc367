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

// Notes which file is at `path` when the run starts (none, or the one resumed),
// so that a save finding another process's file there keeps it (two runs with
// the same --snapshot: the first to finish wins, whole).
void remember_snapshot_target(const std::string& path);

// Saves `tr` and `history` to `path` and prints one line with the time it took.
// When that save fails (another process's file is there, the directory was
// removed), the run is saved beside it or in the current or temp directory as
// "<name>.pid<PID>.moesnap" and DataError says why and where the run went.
void save_run(const std::string& path, const Trainer& tr, const MetricsHistory& history, bool allow_non_finite,
              bool quiet);

}  // namespace moescope
