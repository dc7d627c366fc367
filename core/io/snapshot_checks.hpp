#pragma once
// What a snapshot must satisfy beyond its sizes and shapes: counters within
// range and consistent with the step counter, history not ahead of it, Adam
// second moments that are squares. The loader refuses a file that breaks one of
// these, and a save refuses to write one, so every saved file loads again.
#include <optional>
#include <string>

#include "monitor/metrics_history.hpp"
#include "train/trainer.hpp"

namespace moescope {

// Largest step a snapshot may hold: counters stay exact in a double (history
// steps are F64) and `step + 1` can never overflow.
inline constexpr long kMaxSnapshotStep = 1L << 53;

// The first inconsistency of `st` (and `history`, when given), in words naming
// the value; nullopt when there is none.
std::optional<std::string> snapshot_inconsistency(const TrainerState& st, const MetricsHistory* history);

}  // namespace moescope
