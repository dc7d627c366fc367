#pragma once
// A run's report folder, the same from the window (File → Export report folder)
// and the CLI (`moescope-cli train --report DIR`): config.json, metrics.csv
// (export_history) and report.md (the model, a per-layer table of the latest
// step, every knob change). The window adds its plot images beside them and
// names them here so report.md shows them.
#include <string>
#include <vector>

#include "monitor/metrics_history.hpp"
#include "train/config.hpp"

namespace moescope {

struct ReportContent {
    const Config* config = nullptr;
    const MetricsHistory* history = nullptr;
    // The run's knob changes (the history's own, or the trainer's in the CLI).
    const std::vector<Intervention>* interventions = nullptr;
    std::string title_note;          // appended to the title, e.g. " (branch)"
    std::string run_file;            // the snapshot the run came from or went to; "" when none
    std::vector<std::string> plots;  // image stems written beside report.md ("entropy" → entropy.png)
};

// Creates `dir` (and its parents) when missing. Throws ConfigError when `dir`
// exists but is not a folder, DataError when it cannot be created or holds a
// symlink or special file where config.json, metrics.csv or report.md goes. Call it
// before a long run so a bad path fails at once.
void prepare_report_folder(const std::string& dir);

// Writes config.json, metrics.csv and report.md into `dir` (prepared first).
// Throws DataError naming the file that could not be written.
void write_report(const std::string& dir, const ReportContent& content);

}  // namespace moescope
