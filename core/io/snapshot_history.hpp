#pragma once
// History-only snapshots: what a watched job (docs/integrations.md) leaves
// behind. The same `.moesnap` layout as a run snapshot (snapshot.hpp), with
// metadata `kind` "history" and no weights, optimizer or RNG state: only the
// `history/...` tensors, the warnings and what the log said about the job.
//
//   metadata: format "moescope-snapshot", version "1", kind "history", step "N",
//             job       {source, format, framework, model, layers, experts, top_k,
//                        ep, ranks, last_step, records, bad_lines}
//             warnings  every warning raised, as in a run snapshot
//             latest    optional: the newest step's metrics (the load bars)
//
// load_snapshot() refuses such a file (training cannot resume without weights)
// with one message saying so; load_history_snapshot() reads either kind for
// viewing and for the ghost overlay.
#include <string>
#include <vector>

#include "monitor/metrics_history.hpp"
#include "monitor/monitor.hpp"

namespace moescope {

inline constexpr const char* kSnapshotKindRun = "run";
inline constexpr const char* kSnapshotKindHistory = "history";

// What a watched job's log says about the job.
struct JobInfo {
    std::string source;     // the watched file or directory
    std::string format;     // "moescope router log" | "Megatron tokens-per-expert"
    std::string framework;  // megatron | hf | deepspeed | pytorch | "" (unknown)
    std::string model;      // as the log's header names it; "" when it does not
    int layers = 0, experts = 0, top_k = 0, ep = 0, ranks = 0;
    long last_step = -1, records = 0, bad_lines = 0;
    double records_per_s = 0;  // live only; not saved
};

// A run's history without its weights: from a history-only snapshot, or the
// history part of a run snapshot.
struct SavedHistory {
    bool history_only = true;  // false: read from a run snapshot (which can also resume)
    std::string name;          // the run's config name, or "watched: <source file name>"
    long step = 0;
    JobInfo job;  // history-only snapshots
    std::vector<Warning> warnings;
    MetricsHistory history;
};

// Writes a history-only snapshot atomically (as save_snapshot does). `history`
// must be shaped (reset) to job.layers × job.experts. Throws DataError naming the
// problem: a history that does not fit the job, or a file that cannot be written.
void save_history_snapshot(const std::string& path, const JobInfo& job, const MetricsHistory& history,
                           const std::vector<Warning>& warnings);

// Reads the history of either kind of snapshot, checked as load_snapshot checks
// (a run snapshot is read in full, weights included, so a damaged one is refused
// here too). Throws one DataError "<path>: <what is wrong>".
SavedHistory load_history_snapshot(const std::string& path);

// The kind a snapshot's header states: kSnapshotKindHistory, or kSnapshotKindRun
// (also for files that are no snapshot at all: the full loaders then say what is wrong).
// Reads the header only.
std::string snapshot_kind(const std::string& path);

// The refusal load_snapshot() gives a history-only file, after "<path>: ".
inline constexpr const char* kHistoryOnlyRefusal =
    "holds the history of a watched job only (no weights): it can be opened to view or compared with, "
    "but training cannot resume from it";

}  // namespace moescope
