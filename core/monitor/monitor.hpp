#pragma once
// The monitor: rules with hysteresis over the stream of StepMetrics that raise
// and clear warnings (collapse, dead experts, router saturation, high drop
// rate, loss spike, non-finite values), each with a suggested remedy
// (monitor/remedy.hpp: computed from the knobs at the step it is raised).
#include <functional>
#include <string>
#include <vector>

#include "monitor/metrics.hpp"
#include "train/config.hpp"

namespace moescope {

enum class Severity { Info, Warning, Critical };
const char* severity_name(Severity s);

struct Remedy {
    std::string knob;  // a knob name from the knob table; empty when none applies
    double value = 0;  // the value to set it to
    std::string text;  // "set aux_weight to 0.1"
};

struct Warning {
    std::string id;  // collapse | dead_experts | router_saturation | high_drop | loss_spike | non_finite
    Severity severity = Severity::Warning;
    int layer = -1;       // -1: whole model
    long first_step = 0;  // step of the first bad metric of the streak that raised it
    long last_step = 0;   // last step at which it was (still) bad
    std::string message;  // one sentence with the values measured when it was raised
    Remedy remedy;
    // The rule's headline quantity ("load entropy") when raised and at the latest
    // step judged, so a view can show that a remedy is working before it clears.
    std::string quantity;
    double first_value = kNaN;
    double current_value = kNaN;
    bool active = true;
    long cleared_step = -1;
};

struct MonitorEvent {
    enum Kind { Raised, Cleared } kind;
    Warning warning;
};

class Monitor {
public:
    // Thresholds are read from the config at every observe(), so they are live.
    std::vector<MonitorEvent> observe(const StepMetrics& m, const Config& cfg);
    std::vector<Warning> active() const;                              // currently raised, in raise order
    const std::vector<Warning>& history() const { return history_; }  // every warning ever raised (cleared ones too)
    // The largest step any warning or rule streak refers to (0 when none): a
    // snapshot's monitor must not be ahead of its step counter.
    long latest_step() const;
    void reset();
    // Lets an owner that knows more than the metrics (the run watcher: a job's
    // own layer ids, how bad a watched job is) reword or re-grade the active
    // warnings; the owner amends the events it was handed itself.
    void amend_active(const std::function<void(Warning&)>& f);

    // The whole state (rule streaks, every warning, loss EMA) as JSON, for
    // snapshots: {"warnings":[...], "rules":[...], "loss_ema":x, "loss_seen":n}.
    // Doubles round-trip exactly, so a resumed monitor raises at the same steps.
    nlohmann::json to_json() const;
    // One warning as to_json() writes it (a history-only snapshot stores its warnings the same way).
    static nlohmann::json warning_to_json(const Warning& w);
    // Throws DataError naming the first bad field.
    static Monitor from_json(const nlohmann::json& j);

private:
    struct RuleState {
        std::string id;
        int layer;
        int bad = 0, good = 0;
        long streak_start = 0;
        int history_index = -1;  // index in history_ while raised
    };
    RuleState& state(const std::string& id, int layer);
    std::vector<RuleState> states_;
    std::vector<Warning> history_;
    double loss_ema_ = 0;
    long loss_seen_ = 0;
};

}  // namespace moescope
