#include "monitor/monitor.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "json_read.hpp"
#include "monitor/remedy.hpp"

namespace moescope {

namespace {

// What a rule sees at one step.
struct RuleInput {
    const StepMetrics& m;
    const LayerMetrics* layer;  // null for model-level rules
    int layer_index;            // -1 for model-level rules
    const Config& cfg;
    bool loss_spiking;
    double loss_ema;
};

struct Rule {
    const char* id;
    Severity severity;
    bool per_layer;
    // Non-finite values cannot wait for a streak: the step was already skipped.
    bool immediate;
    // Rules other than non_finite skip non-finite steps: their metrics are not trustworthy.
    bool judges_non_finite_steps;
    bool (*bad)(const RuleInput&);
    std::string (*message)(const RuleInput&);
    const char* quantity;  // what measure() reads, as the message names it
    double (*measure)(const RuleInput&);
};

std::string num(double v, const char* format = "%.3g") {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

std::string layer_prefix(const RuleInput& in) { return "layer " + std::to_string(in.layer_index) + ": "; }

bool step_is_finite(const StepMetrics& m) { return m.finite && std::isfinite(m.loss) && std::isfinite(m.aux); }

// --- collapse ---

bool collapse_bad(const RuleInput& in) {
    return in.layer->load_entropy < in.cfg.collapse_entropy || in.layer->max_util > in.cfg.collapse_max_util;
}

std::string collapse_message(const RuleInput& in) {
    return layer_prefix(in) + "routing collapsed onto few experts (load entropy " +
           num(in.layer->load_entropy, "%.2f") + ", max utilisation " + num(in.layer->max_util, "%.1f") + "×)";
}

// --- dead experts ---

bool dead_bad(const RuleInput& in) { return in.layer->dead_experts > 0; }

std::string dead_message(const RuleInput& in) {
    return layer_prefix(in) + std::to_string(in.layer->dead_experts) + " of " + std::to_string(in.cfg.experts) +
           " experts dead (utilisation below " + num(in.cfg.dead_util) + " over the last " +
           std::to_string(in.cfg.dead_window) + " steps)";
}

// --- router saturation ---

bool saturation_bad(const RuleInput& in) {
    return in.layer->router_entropy < in.cfg.saturation_entropy && in.layer->max_abs_logit > in.cfg.saturation_logit;
}

std::string saturation_message(const RuleInput& in) {
    return layer_prefix(in) + "router saturated: near one-hot choices from large logits (router entropy " +
           num(in.layer->router_entropy, "%.3f") + ", max |logit| " + num(in.layer->max_abs_logit, "%.1f") + ")";
}

// --- high drop rate ---

bool drop_bad(const RuleInput& in) { return in.layer->dropped > in.cfg.drop_warn; }

std::string drop_message(const RuleInput& in) {
    return layer_prefix(in) + num(100 * in.layer->dropped, "%.1f") +
           "% of token assignments dropped at expert capacity (capacity_factor " + num(in.cfg.capacity_factor) + ")";
}

// --- loss spike ---

bool spike_bad(const RuleInput& in) { return in.loss_spiking; }

std::string spike_message(const RuleInput& in) {
    return "cross-entropy " + num(in.m.ce) + " is " + num(in.m.ce / in.loss_ema, "%.1f") + "× its running average " +
           num(in.loss_ema);
}

// --- non-finite values ---

bool non_finite_bad(const RuleInput& in) { return !step_is_finite(in.m); }

std::string non_finite_message(const RuleInput& in) {
    return "step " + std::to_string(in.m.step) + ": loss or gradients not finite (loss " + num(in.m.loss) + ", aux " +
           num(in.m.aux) + "); training was paused and the last finite state kept";
}

double measure_loss(const RuleInput& in) { return in.m.loss; }
double measure_load_entropy(const RuleInput& in) { return in.layer->load_entropy; }
double measure_dead(const RuleInput& in) { return in.layer->dead_experts; }
double measure_router_entropy(const RuleInput& in) { return in.layer->router_entropy; }
double measure_dropped(const RuleInput& in) { return in.layer->dropped; }

// clang-format off
const Rule kRules[] = {
    {"non_finite",        Severity::Critical, false, true,  true,  non_finite_bad, non_finite_message, "loss",           measure_loss},
    {"loss_spike",        Severity::Warning,  false, false, false, spike_bad,      spike_message,      "loss",           measure_loss},
    {"collapse",          Severity::Warning,  true,  false, false, collapse_bad,   collapse_message,   "load entropy",   measure_load_entropy},
    {"dead_experts",      Severity::Warning,  true,  false, false, dead_bad,       dead_message,       "dead experts",   measure_dead},
    {"router_saturation", Severity::Warning,  true,  false, false, saturation_bad, saturation_message, "router entropy", measure_router_entropy},
    {"high_drop",         Severity::Warning,  true,  false, false, drop_bad,       drop_message,       "dropped share",  measure_dropped},
};
// clang-format on

// Keeps an EMA of the cross-entropy over finite steps and says whether this
// step's spikes above it. Cross-entropy, not the total loss: raising aux_weight
// or z_weight (a lesson, a remedy button) lifts the total by the new term at
// once, which is an intervention, not an instability. A spiking value stays out of the EMA, so a run of spikes is
// measured against the level before them rather than hiding itself.
bool loss_is_spiking(double loss, const Config& cfg, double& ema, long& seen) {
    constexpr double kAlpha = 0.05;
    constexpr long kWarmup = 20;  // early losses fall fast; an EMA over them is no baseline yet
    if (seen >= kWarmup && loss > cfg.spike_factor * ema) return true;
    ema = seen == 0 ? loss : ema + kAlpha * (loss - ema);
    ++seen;
    return false;
}

}  // namespace

const char* severity_name(Severity s) {
    switch (s) {
        case Severity::Info:
            return "info";
        case Severity::Warning:
            return "warning";
        case Severity::Critical:
            return "critical";
    }
    return "unknown";
}

Monitor::RuleState& Monitor::state(const std::string& id, int layer) {
    for (RuleState& s : states_)
        if (s.layer == layer && s.id == id) return s;
    states_.push_back(RuleState{id, layer});
    return states_.back();
}

std::vector<MonitorEvent> Monitor::observe(const StepMetrics& m, const Config& cfg) {
    const bool finite = step_is_finite(m);
    // A spiking loss leaves the EMA untouched, so messages quote the baseline it spiked above.
    const bool spiking = finite && loss_is_spiking(m.ce, cfg, loss_ema_, loss_seen_);
    const int hysteresis = std::max(1, cfg.hysteresis);
    std::vector<MonitorEvent> events;

    // Advances one rule's streak by this step; raises after `hysteresis` bad
    // steps in a row and clears after as many good ones.
    auto judge = [&](const Rule& rule, const RuleInput& in) {
        RuleState& st = state(rule.id, in.layer_index);
        if (rule.bad(in)) {
            st.good = 0;
            if (st.bad++ == 0) st.streak_start = m.step;
            if (st.history_index >= 0) {
                history_[st.history_index].last_step = m.step;
                history_[st.history_index].current_value = rule.measure(in);
            } else if (st.bad >= (rule.immediate ? 1 : hysteresis)) {
                const double value = rule.measure(in);
                Warning w{rule.id,
                          rule.severity,
                          in.layer_index,
                          st.streak_start,
                          m.step,
                          rule.message(in),
                          remedy_for(rule.id, in.cfg),
                          rule.quantity,
                          value,
                          value};
                st.history_index = static_cast<int>(history_.size());
                history_.push_back(w);
                events.push_back({MonitorEvent::Raised, w});
            }
        } else {
            st.bad = 0;
            if (st.history_index >= 0) history_[st.history_index].current_value = rule.measure(in);
            if (st.history_index >= 0 && ++st.good >= hysteresis) {
                Warning& w = history_[st.history_index];
                w.active = false;
                w.cleared_step = m.step;
                events.push_back({MonitorEvent::Cleared, w});
                st.history_index = -1;
                st.good = 0;
            }
        }
    };

    for (const Rule& rule : kRules) {
        if (!finite && !rule.judges_non_finite_steps) continue;
        if (!rule.per_layer) {
            judge(rule, {m, nullptr, -1, cfg, spiking, loss_ema_});
            continue;
        }
        // Layers missing from this step (a model being rebuilt) keep their streaks untouched.
        for (size_t l = 0; l < m.layers.size(); ++l)
            judge(rule, {m, &m.layers[l], static_cast<int>(l), cfg, spiking, loss_ema_});
    }
    return events;
}

std::vector<Warning> Monitor::active() const {
    std::vector<Warning> out;
    for (const Warning& w : history_)
        if (w.active) out.push_back(w);
    return out;
}

void Monitor::amend_active(const std::function<void(Warning&)>& f) {
    for (Warning& w : history_)
        if (w.active) f(w);
}

void Monitor::reset() {
    states_.clear();
    history_.clear();
    loss_ema_ = 0;
    loss_seen_ = 0;
}

namespace {
nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
double number_or_nan(const nlohmann::json& w, const char* key) {
    return w.contains(key) && w.at(key).is_number() ? w.at(key).get<double>() : kNaN;
}
}  // namespace

nlohmann::json Monitor::warning_to_json(const Warning& w) {
    return {{"id", w.id},
            {"severity", severity_name(w.severity)},
            {"layer", w.layer},
            {"first_step", w.first_step},
            {"last_step", w.last_step},
            {"message", w.message},
            {"remedy", {{"knob", w.remedy.knob}, {"value", w.remedy.value}, {"text", w.remedy.text}}},
            {"active", w.active},
            {"cleared_step", w.cleared_step},
            {"quantity", w.quantity},
            {"first_value", finite_or_null(w.first_value)},
            {"current_value", finite_or_null(w.current_value)}};
}

nlohmann::json Monitor::to_json() const {
    using nlohmann::json;
    json warnings = json::array(), rules = json::array();
    for (const Warning& w : history_) warnings.push_back(warning_to_json(w));
    for (const RuleState& r : states_)
        rules.push_back({{"id", r.id},
                         {"layer", r.layer},
                         {"bad", r.bad},
                         {"good", r.good},
                         {"streak_start", r.streak_start},
                         {"history_index", r.history_index}});
    return {{"warnings", warnings}, {"rules", rules}, {"loss_ema", loss_ema_}, {"loss_seen", loss_seen_}};
}

namespace {
// Reads key `key` of a monitor state object as a whole number in [lo, hi].
long whole(const nlohmann::json& v, const char* key, long lo, long hi) {
    return json_whole(v.at(key), std::string("monitor state: '") + key + "'", lo, hi);
}
constexpr long kMaxCount = 1L << 30, kMaxStep = 1L << 62;
}  // namespace

Monitor Monitor::from_json(const nlohmann::json& j) {
    Monitor m;
    try {
        for (const auto& w : j.at("warnings")) {
            Warning x;
            x.id = w.at("id").get<std::string>();
            const std::string sev = w.at("severity").get<std::string>();
            if (sev == "info")
                x.severity = Severity::Info;
            else if (sev == "warning")
                x.severity = Severity::Warning;
            else if (sev == "critical")
                x.severity = Severity::Critical;
            else
                throw DataError("monitor state: unknown severity '" + sev + "'");
            x.layer = static_cast<int>(whole(w, "layer", -1, kMaxCount));
            x.first_step = whole(w, "first_step", 0, kMaxStep);
            x.last_step = whole(w, "last_step", 0, kMaxStep);
            x.message = w.at("message").get<std::string>();
            x.remedy = {w.at("remedy").at("knob").get<std::string>(), w.at("remedy").at("value").get<double>(),
                        w.at("remedy").at("text").get<std::string>()};
            x.active = w.at("active").get<bool>();
            x.cleared_step = whole(w, "cleared_step", -1, kMaxStep);
            // Absent in snapshots written before they existed.
            x.quantity = w.value("quantity", std::string());
            x.first_value = number_or_nan(w, "first_value");
            x.current_value = number_or_nan(w, "current_value");
            m.history_.push_back(std::move(x));
        }
        for (const auto& r : j.at("rules")) {
            RuleState st{r.at("id").get<std::string>(), static_cast<int>(whole(r, "layer", -1, kMaxCount))};
            st.bad = static_cast<int>(whole(r, "bad", 0, kMaxCount));
            st.good = static_cast<int>(whole(r, "good", 0, kMaxCount));
            st.streak_start = whole(r, "streak_start", 0, kMaxStep);
            st.history_index = static_cast<int>(whole(r, "history_index", -1, kMaxCount));
            // observe() indexes history_ with it: a damaged file must not point outside.
            if (st.history_index < -1 || st.history_index >= static_cast<int>(m.history_.size()))
                throw DataError("monitor state: rule '" + st.id + "' points at warning " +
                                std::to_string(st.history_index) + " of " + std::to_string(m.history_.size()));
            m.states_.push_back(std::move(st));
        }
        m.loss_ema_ = j.at("loss_ema").get<double>();
        m.loss_seen_ = whole(j, "loss_seen", 0, kMaxStep);
    } catch (const nlohmann::json::exception& e) {
        throw DataError(std::string("monitor state: ") + json_error_text(e));
    }
    return m;
}

long Monitor::latest_step() const {
    long s = 0;
    for (const Warning& w : history_) s = std::max({s, w.first_step, w.last_step, w.cleared_step});
    for (const RuleState& r : states_) s = std::max(s, r.streak_start);
    return s;
}

}  // namespace moescope
