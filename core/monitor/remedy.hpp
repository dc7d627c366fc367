#pragma once
// A warning's remedy, computed from the knobs as they are now: the monitor
// uses it when it raises a warning (the CLI's `--set` hint), and the window
// again whenever a knob changes, so a remedy never offers a value that was
// right for the knobs of an earlier step.
//
// The rule: a remedy moves one knob in one direction (the balance weights,
// bias_update_rate and capacity_factor up, lr down), from the knob's current
// value to the next rung of its ladder, within the remedy's cap and the knob's
// range. When the knob is already at or past the last rung, no value can help:
// the remedy then names no knob and says why.
#include <string>
#include <string_view>

#include "monitor/monitor.hpp"
#include "train/config.hpp"

namespace moescope {

// The remedy for warning `warning_id` (collapse, dead_experts, ...) with the knobs in `cfg`.
// An unknown id gets an empty remedy.
Remedy remedy_for(std::string_view warning_id, const Config& cfg);

// +1 when the remedies raise `knob`, -1 when they lower it, 0 when no remedy sets it.
int remedy_direction(std::string_view knob);

}  // namespace moescope
