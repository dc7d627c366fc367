#include "io/snapshot_checks.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "error.hpp"

namespace moescope {

namespace {
std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}
}  // namespace

std::optional<std::string> snapshot_inconsistency(const TrainerState& st, const MetricsHistory* history) {
    const std::string step = std::to_string(st.steps);
    if (st.steps < 0 || st.steps > kMaxSnapshotStep)
        return "step " + step + " is outside [0, " + std::to_string(kMaxSnapshotStep) + "]";
    // Every optimizer update is one step; a halted step makes none.
    if (st.optimizer_steps < 0 || st.optimizer_steps > st.steps)
        return "trainer optimizer_steps " + std::to_string(st.optimizer_steps) + " is not in [0, step " + step + "]";
    for (long seen : st.dead.seen)
        if (seen < 0 || seen > kMaxSnapshotStep)
            return "trainer dead_seen " + std::to_string(seen) + " is outside [0, " + std::to_string(kMaxSnapshotStep) +
                   "]";
    for (const Intervention& iv : st.interventions)
        if (iv.step < 0 || iv.step > st.steps)
            return "intervention on '" + clip_text(iv.knob, 60) + "' at step " + std::to_string(iv.step) +
                   " is after step " + step;
    if (const long m = st.monitor.latest_step(); m > st.steps)
        return "monitor refers to step " + std::to_string(m) + ", after step " + step;
    // AdamW's v is a running mean of squares; a negative one makes the next update NaN.
    const auto neg = std::find_if(st.moment2.begin(), st.moment2.end(), [](float v) { return v < 0; });
    if (neg != st.moment2.end())
        return "optimizer second moment (optim.v) holds a negative value " + std::to_string(*neg) + " at element " +
               std::to_string(neg - st.moment2.begin());
    if (!history) return std::nullopt;
    for (const auto& [key, series] : history->all_series()) {
        const auto& x = series.x();
        for (size_t i = 0; i < x.size(); ++i)
            if (!(x[i] >= 0 && x[i] <= double(st.steps)) || (i > 0 && x[i] < x[i - 1]))
                return "history series '" + clip_text(std::get<0>(key), 60) + "' has step " + number(x[i]) +
                       " at point " + std::to_string(i) + " (steps must be ordered and within [0, step " + step + "])";
    }
    if (history->last_step() > st.steps)
        return "the latest metrics are of step " + std::to_string(history->last_step()) + ", after step " + step;
    return std::nullopt;
}

}  // namespace moescope
