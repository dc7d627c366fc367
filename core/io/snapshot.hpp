#pragma once
// Run snapshots: a TrainerState and the metrics history in one `.moesnap`
// file with the safetensors layout, so Python opens it with `safetensors` or a
// few lines of numpy:
//
//   u64 little-endian N | N bytes of JSON header (space-padded to 8) | raw tensors
//
// The header maps tensor name → {"dtype": F32|F64|I32, "shape": [...],
// "data_offsets": [begin, end]} (offsets into the data after the header) and
// "__metadata__" → string → string. Tensors are little-endian, row-major, in
// their natural math shape (W is [d_out, d_in]):
//
//   <param>                  F32  every ParamLayout tensor: "embed.W" [d_model, d_in],
//                                 "layer0.router.W" [E, d_model], "layer0.experts.W1"
//                                 [E, d_ff, d_model], ".W2" [E, d_model, d_ff], ".b1"
//                                 [E, d_ff], ".b2" [E, d_model], vectors [n], ...
//   optim.m.<param>          F32  AdamW first moment (SGD: momentum), same shape
//   optim.v.<param>          F32  AdamW second moment, same shape
//   layer<l>.router.selection_bias  F32 [E]   bias_balanced only
//   state.dead.ring          F64  [L, dead_window, E]  utilisation window
//   state.dead.sum           F64  [L, E]               its running sums
//   state.probe_top1         I32  [L, probe tokens]    absent before the first probe
//   history/<name>[/<layer>[/<expert>]]  F64 [2, n]   row 0 steps, row 1 values
//
// Metadata (safetensors allows string values only; structured ones are JSON text):
//   format "moescope-snapshot", version "1", step "N", kind "run" (or absent;
//                  "history": a watched job's history only, snapshot_history.hpp),
//   engine         the engine that wrote it, "cpu" or "cuda" (informational: a run
//                  resumes on either; absent in older files, which the CPU wrote)
//   config         the config JSON (live knob values of the moment, lesson script)
//   dataset        {kind, d_in, classes, train, test, probe, fingerprint, summary};
//                  fingerprint: FNV-1a of samples and labels as 16 hex digits
//   rng            {s: [4 u64], has_spare, spare}   xoshiro256** and Box–Muller state
//   trainer        {halted, optimizer_steps, dead_seen: [per layer], elapsed_s (optional:
//                  the window's training clock, seconds)}
//   interventions  [{step, knob, old, new, source}]
//   warnings       every warning raised: [{id, severity, layer, first_step, last_step,
//                  message, remedy: {knob, value, text}, active, cleared_step}]
//   monitor        {rules: [{id, layer, bad, good, streak_start, history_index}],
//                  loss_ema, loss_seen}
//   latest         optional: the newest step's metrics as in the JSONL log, plus each
//                  layer's classes and class_expert counts (what the histogram and the
//                  specialisation map show before the resumed run takes a step)
#include <cstddef>
#include <string>

#include "error.hpp"
#include "io/atomic_file.hpp"
#include "monitor/metrics_history.hpp"
#include "train/trainer.hpp"

namespace moescope {

inline constexpr const char* kSnapshotFormat = "moescope-snapshot";
inline constexpr int kSnapshotVersion = 1;

// Writes atomically: a temp file next to `path`, fsynced, renamed over it, then
// the directory fsynced, so a crash at any moment leaves the old file or the
// new one. Refuses (DataError naming the tensor) a state holding NaN or inf
// unless allow_non_finite. `history` may be null. With `expected`, the save is
// refused when another process put a different file at `path` since
// (write_file_atomically), and `*expected` becomes the file written.
void save_snapshot(const std::string& path, const TrainerState& st, const MetricsHistory* history,
                   bool allow_non_finite = false, FileIdentity* expected = nullptr);

struct Snapshot {
    TrainerState state;
    MetricsHistory history;  // reset to the config's layers and experts; no series when none were saved
    size_t file_bytes = 0;
    size_t tensor_count = 0;
};

// Reads and checks every size, offset, dtype and shape against the snapshot's
// config before copying any value; unknown tensors are an error (a file from
// a different model must not load half-way). Any problem throws one DataError
// "<path>: <what is wrong>". Non-finite weights are refused unless allowed.
Snapshot load_snapshot(const std::string& path, bool allow_non_finite = false);

}  // namespace moescope
