#include "monitor/remedy.hpp"

#include <algorithm>
#include <cstdio>

#include "train/knobs.hpp"

namespace moescope {

namespace {

std::string num(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

// One rung of `knob`'s ladder from `current`: `proposed`, held within `limit`
// (the remedy's cap going up, its floor going down) and the knob's range. No
// knob, and a sentence saying so, when that does not move the knob in the
// remedy's direction: a button that lowers a weight it should raise, or sets
// the value the knob already has, must not be offered.
Remedy rung(std::string_view knob_name, double current, double proposed, double limit, const std::string& why) {
    const KnobDef& k = knob(knob_name);
    const std::string name(knob_name);
    const int dir = remedy_direction(knob_name);
    double value = dir > 0 ? std::min(proposed, limit) : std::max(proposed, limit);
    value = std::clamp(value, k.min, k.max);
    if (dir > 0 ? value > current : value < current)
        return {name, value, "set " + name + " to " + num(value) + ": " + why};
    return {"", 0,
            name + " is already " + num(current) + (dir > 0 ? ", at or above " : ", at or below ") + num(value) +
                ", the most this remedy suggests: look at the other knobs or the data"};
}

// 10× the current value, or `floor` when that is more: from 0 the first rung is the floor.
double ten_times(double current, double floor) { return std::max(floor, 10 * current); }

Remedy bias_rate_remedy(const Config& cfg, const std::string& why) {
    return rung("bias_update_rate", cfg.bias_update_rate, ten_times(cfg.bias_update_rate, 1e-3), 0.1, why);
}

Remedy collapse(const Config& cfg) {
    // bias_balanced routing balances through its selection bias, not through the aux loss.
    if (cfg.policy == "bias_balanced")
        return bias_rate_remedy(cfg, "the selection bias then moves tokens off overloaded experts faster");
    // 0.1 is the smallest weight that undid collapse in the prototype runs
    // (docs/lessons.md "Making phenomena visible").
    return rung("aux_weight", cfg.aux_weight, ten_times(cfg.aux_weight, 0.1), 1.0,
                "the load-balancing loss pushes the router to spread tokens over all experts");
}

// The balancing loss reaches an expert with no tokens: its gradient on that
// expert's logit is (E/T)·p_j·(f_j − Σ f_i p_i), negative at f_j = 0. Logit noise
// revived nothing lasting in lesson 5's runs (docs/lessons.md, seeds 1–6), so it
// is not the remedy.
Remedy dead_experts(const Config& cfg) {
    if (cfg.policy == "bias_balanced")
        return bias_rate_remedy(cfg, "the selection bias then lifts experts that get too few tokens faster");
    return rung("aux_weight", cfg.aux_weight, ten_times(cfg.aux_weight, 0.1), 1.0,
                "the load-balancing loss raises a dead expert's logit in proportion to its probability, "
                "so it wins tokens again");
}

Remedy router_saturation(const Config& cfg) {
    // Below 1e-3 the first rung is 1e-3 itself: smaller z-losses did not soften a saturated router.
    const double z = cfg.z_weight;
    return rung("z_weight", z, z < 1e-3 ? 1e-3 : 10 * z, 0.1,
                "the z-loss shrinks router logits so choices stay soft and keep learning");
}

Remedy high_drop(const Config& cfg) {
    const double cf = cfg.capacity_factor;
    // Dropless capacity cannot be raised further; the drops come from the policy itself.
    if (cf <= 0) return {"", 0, "capacity is already dropless (capacity_factor 0); the routing policy drops tokens"};
    return rung("capacity_factor", cf, cf + 1.0, 16.0,
                "raise capacity_factor so fewer tokens overflow their expert and skip it");
}

// Below 1e-6 a smaller lr no longer trains at all in these models.
constexpr double kLrFloor = 1e-6;

Remedy loss_spike(const Config& cfg) {
    return rung("lr", cfg.lr, cfg.lr / 2, kLrFloor, "smaller steps keep the optimizer from overshooting");
}

Remedy non_finite(const Config& cfg) {
    return rung("lr", cfg.lr, cfg.lr / 10, kLrFloor, "a much smaller step keeps the update finite");
}

}  // namespace

Remedy remedy_for(std::string_view warning_id, const Config& cfg) {
    if (warning_id == "collapse") return collapse(cfg);
    if (warning_id == "dead_experts") return dead_experts(cfg);
    if (warning_id == "router_saturation") return router_saturation(cfg);
    if (warning_id == "high_drop") return high_drop(cfg);
    if (warning_id == "loss_spike") return loss_spike(cfg);
    if (warning_id == "non_finite") return non_finite(cfg);
    return {};
}

int remedy_direction(std::string_view knob) {
    if (knob == "aux_weight" || knob == "z_weight" || knob == "bias_update_rate" || knob == "capacity_factor")
        return +1;
    if (knob == "lr") return -1;
    return 0;
}

}  // namespace moescope
