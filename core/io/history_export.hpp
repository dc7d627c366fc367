#pragma once
// Writes a MetricsHistory (the window's, or a snapshot's) as CSV — one row per
// step per layer, pandas-friendly — or as JSON Lines — one object per step —
// chosen by the file's extension, with exactly the columns and keys of
// `moescope-cli train --metrics` (metrics_csv_header, metrics_json: the metric
// table's). A metric the history does not keep (MetricDef::kept: step_ms,
// mean_prob) is an empty cell (CSV) or null (JSONL) on every row.
//
// Rows are the steps of the loss series. Every step is there until a series
// holds 16,384 points; after that the older steps are folded to their minimum
// and maximum (metrics_history.hpp), so a cell whose series kept a different
// step of that group is empty (CSV) or null (JSONL), never interpolated.
// test_acc and churn are measured only every eval_every / probe_every steps,
// so they are empty on the other rows.
#include <string>

#include "monitor/metrics_history.hpp"

namespace moescope {

// Writes atomically (io/atomic_file.hpp: temp file, then rename; a symlink or
// special file at `path` is refused).
// Throws ConfigError for an extension other than .csv/.jsonl, DataError when
// the file cannot be written. Returns the number of steps written.
long export_history(const MetricsHistory& history, const std::string& path);

}  // namespace moescope
