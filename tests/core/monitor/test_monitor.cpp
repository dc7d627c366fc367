// Monitor rules driven by synthetic StepMetrics streams: hysteresis timing,
// remedies, per-layer independence, live thresholds and reset.
#include <QtTest>

#include <cmath>
#include <limits>
#include <vector>

#include <nlohmann/json.hpp>

#include "monitor/monitor.hpp"

using moescope::Config;
using moescope::LayerMetrics;
using moescope::Monitor;
using moescope::MonitorEvent;
using moescope::Severity;
using moescope::StepMetrics;

namespace {

// A layer no rule objects to.
LayerMetrics healthy_layer() {
    LayerMetrics l;
    l.load_entropy = 0.95;
    l.max_util = 1.3;
    l.router_entropy = 0.8;
    l.max_abs_logit = 1.5;
    l.dropped = 0.0;
    l.dead_experts = 0;
    return l;
}

StepMetrics healthy_step(long step, int layers = 1) {
    StepMetrics m;
    m.step = step;
    m.loss = 1.0;
    m.ce = 1.0;
    m.aux = 1.0;
    m.layers.assign(layers, healthy_layer());
    return m;
}

StepMetrics collapsed_step(long step, int layers = 1, int bad_layer = 0) {
    StepMetrics m = healthy_step(step, layers);
    m.layers[bad_layer].load_entropy = 0.55;
    m.layers[bad_layer].max_util = 5.1;
    return m;
}

Config test_config() {
    Config cfg;
    cfg.hysteresis = 3;
    return cfg;
}

int count_raised(const std::vector<MonitorEvent>& events) {
    int n = 0;
    for (const MonitorEvent& e : events) n += e.kind == MonitorEvent::Raised ? 1 : 0;
    return n;
}

}  // namespace

class TestMonitor : public QObject {
    Q_OBJECT

private slots:
    void severity_names();
    void collapse_raises_at_hysteresis_and_clears();
    void collapse_on_max_util_alone();
    void raised_warning_follows_its_current_value();
    void collapse_remedy_values();
    void interrupted_streak_does_not_raise();
    void bad_step_while_clearing_restarts_the_count();
    void dead_experts();
    void saturation_needs_both_conditions();
    void saturation_remedy_values();
    void high_drop();
    void loss_spike_after_stable_stretch();
    void loss_spike_needs_warmup();
    void raising_aux_weight_is_not_a_loss_spike();
    void non_finite_is_immediate_and_critical();
    void non_finite_step_freezes_other_rules();
    void layers_are_independent();
    void layers_may_appear_and_disappear();
    void thresholds_are_live();
    void reset_forgets_everything();
};

void TestMonitor::severity_names() {
    QCOMPARE(moescope::severity_name(Severity::Info), "info");
    QCOMPARE(moescope::severity_name(Severity::Warning), "warning");
    QCOMPARE(moescope::severity_name(Severity::Critical), "critical");
}

void TestMonitor::collapse_raises_at_hysteresis_and_clears() {
    Monitor mon;
    const Config cfg = test_config();  // hysteresis 3, aux_weight 0.01
    QVERIFY(mon.observe(healthy_step(10), cfg).empty());
    QVERIFY(mon.observe(collapsed_step(11), cfg).empty());
    QVERIFY(mon.observe(collapsed_step(12), cfg).empty());
    const auto raised = mon.observe(collapsed_step(13), cfg);
    QCOMPARE(raised.size(), size_t(1));
    const moescope::Warning& w = raised[0].warning;
    QCOMPARE(raised[0].kind, MonitorEvent::Raised);
    QCOMPARE(w.id, std::string("collapse"));
    QCOMPARE(w.severity, Severity::Warning);
    QCOMPARE(w.layer, 0);
    QCOMPARE(w.first_step, 11L);
    QCOMPARE(w.last_step, 13L);
    QVERIFY(w.active);
    QCOMPARE(w.cleared_step, -1L);
    QCOMPARE(w.message,
             std::string("layer 0: routing collapsed onto few experts (load entropy 0.55, max utilisation 5.1×)"));
    // max(0.1, 10 × 0.01) = 0.1
    QCOMPARE(w.remedy.knob, std::string("aux_weight"));
    QCOMPARE(w.remedy.value, 0.1);
    QVERIFY(w.remedy.text.rfind("set aux_weight to 0.1", 0) == 0);

    // Still bad: no new event, last_step follows.
    QVERIFY(mon.observe(collapsed_step(14), cfg).empty());
    QCOMPARE(mon.active().size(), size_t(1));
    QCOMPARE(mon.active()[0].last_step, 14L);

    QVERIFY(mon.observe(healthy_step(15), cfg).empty());
    QVERIFY(mon.observe(healthy_step(16), cfg).empty());
    QCOMPARE(mon.active().size(), size_t(1));
    const auto cleared = mon.observe(healthy_step(17), cfg);
    QCOMPARE(cleared.size(), size_t(1));
    QCOMPARE(cleared[0].kind, MonitorEvent::Cleared);
    QCOMPARE(cleared[0].warning.id, std::string("collapse"));
    QCOMPARE(cleared[0].warning.cleared_step, 17L);
    QVERIFY(!cleared[0].warning.active);
    QVERIFY(mon.active().empty());
    QCOMPARE(mon.history().size(), size_t(1));
    QVERIFY(!mon.history()[0].active);
    QCOMPARE(mon.history()[0].first_step, 11L);
    QCOMPARE(mon.history()[0].last_step, 14L);
    QCOMPARE(mon.history()[0].cleared_step, 17L);
}

void TestMonitor::raised_warning_follows_its_current_value() {
    Monitor mon;
    const Config cfg = test_config();  // hysteresis 3
    for (long s = 1; s <= 3; ++s) mon.observe(collapsed_step(s), cfg);
    QCOMPARE(mon.active().size(), size_t(1));
    QCOMPARE(mon.active()[0].quantity, std::string("load entropy"));
    QCOMPARE(mon.active()[0].first_value, 0.55);
    QCOMPARE(mon.active()[0].current_value, 0.55);
    StepMetrics worse = collapsed_step(4);
    worse.layers[0].load_entropy = 0.4;
    mon.observe(worse, cfg);
    QCOMPARE(mon.active()[0].current_value, 0.4);
    // A remedy lifts it: the value follows during the hysteresis before the warning clears,
    // while the message keeps the numbers it was raised with.
    mon.observe(healthy_step(5), cfg);
    QCOMPARE(mon.active().size(), size_t(1));
    QCOMPARE(mon.active()[0].current_value, 0.95);
    QCOMPARE(mon.active()[0].first_value, 0.55);
    QVERIFY(mon.active()[0].message.find("0.55") != std::string::npos);
    // Snapshots keep both; a monitor state written before they existed reads as unknown.
    const Monitor back = Monitor::from_json(mon.to_json());
    QCOMPARE(back.active()[0].current_value, 0.95);
    QCOMPARE(back.active()[0].quantity, std::string("load entropy"));
    nlohmann::json old = mon.to_json();
    for (auto& w : old["warnings"]) w.erase("current_value"), w.erase("first_value"), w.erase("quantity");
    QVERIFY(std::isnan(Monitor::from_json(old).active()[0].current_value));
}

void TestMonitor::collapse_on_max_util_alone() {
    Monitor mon;
    const Config cfg = test_config();
    StepMetrics m = healthy_step(0);
    m.layers[0].max_util = 3.5;  // entropy 0.95 is fine, max_util > 3
    for (long s = 1; s <= 2; ++s) {
        m.step = s;
        QVERIFY(mon.observe(m, cfg).empty());
    }
    m.step = 3;
    QCOMPARE(count_raised(mon.observe(m, cfg)), 1);
    QCOMPARE(mon.active()[0].id, std::string("collapse"));

    // Low entropy alone as well, on a fresh monitor.
    Monitor mon2;
    StepMetrics low = healthy_step(0);
    low.layers[0].load_entropy = 0.7;  // < 0.75, max_util 1.3 fine
    for (int s = 0; s < 2; ++s) QVERIFY(mon2.observe(low, cfg).empty());
    QCOMPARE(count_raised(mon2.observe(low, cfg)), 1);
}

void TestMonitor::collapse_remedy_values() {
    auto remedy_for = [](Config cfg) {
        Monitor mon;
        std::vector<MonitorEvent> events;
        for (long s = 0; s < cfg.hysteresis; ++s) events = mon.observe(collapsed_step(s), cfg);
        return events.at(0).warning.remedy;
    };
    Config cfg = test_config();
    cfg.aux_weight = 0.05;  // 10× = 0.5
    QCOMPARE(remedy_for(cfg).value, 0.5);
    cfg.aux_weight = 0.3;  // 10× = 3, capped at 1
    QCOMPARE(remedy_for(cfg).value, 1.0);
    cfg.aux_weight = 0.0;  // floor 0.1
    QCOMPARE(remedy_for(cfg).value, 0.1);
    cfg.aux_weight = 2.0;  // already past the cap: never suggest lowering it, nor the same value
    QVERIFY(remedy_for(cfg).knob.empty());

    cfg.policy = "bias_balanced";
    cfg.bias_update_rate = 1e-3;
    const auto r = remedy_for(cfg);
    QCOMPARE(r.knob, std::string("bias_update_rate"));
    QCOMPARE(r.value, 1e-2);
    cfg.bias_update_rate = 0.05;  // 10× = 0.5, capped at 0.1
    QCOMPARE(remedy_for(cfg).value, 0.1);
}

void TestMonitor::interrupted_streak_does_not_raise() {
    Monitor mon;
    const Config cfg = test_config();
    QVERIFY(mon.observe(collapsed_step(1), cfg).empty());
    QVERIFY(mon.observe(collapsed_step(2), cfg).empty());
    QVERIFY(mon.observe(healthy_step(3), cfg).empty());
    QVERIFY(mon.observe(collapsed_step(4), cfg).empty());
    QVERIFY(mon.observe(collapsed_step(5), cfg).empty());
    QVERIFY(mon.history().empty());
    const auto events = mon.observe(collapsed_step(6), cfg);
    QCOMPARE(events.size(), size_t(1));
    QCOMPARE(events[0].warning.first_step, 4L);
}

void TestMonitor::bad_step_while_clearing_restarts_the_count() {
    Monitor mon;
    const Config cfg = test_config();
    for (long s = 1; s <= 3; ++s) mon.observe(collapsed_step(s), cfg);
    QCOMPARE(mon.active().size(), size_t(1));
    mon.observe(healthy_step(4), cfg);
    mon.observe(healthy_step(5), cfg);
    QVERIFY(mon.observe(collapsed_step(6), cfg).empty());
    QCOMPARE(mon.active()[0].last_step, 6L);
    QVERIFY(mon.observe(healthy_step(7), cfg).empty());
    QVERIFY(mon.observe(healthy_step(8), cfg).empty());
    const auto events = mon.observe(healthy_step(9), cfg);
    QCOMPARE(events.size(), size_t(1));
    QCOMPARE(events[0].kind, MonitorEvent::Cleared);
    QCOMPARE(mon.history().size(), size_t(1));  // one warning, not two
}

void TestMonitor::dead_experts() {
    Monitor mon;
    Config cfg = test_config();
    cfg.aux_weight = 0.02;  // 10× = 0.2
    StepMetrics m = healthy_step(0);
    m.layers[0].dead_experts = 2;
    QVERIFY(mon.observe(m, cfg).empty());
    QVERIFY(mon.observe(m, cfg).empty());
    const auto events = mon.observe(m, cfg);
    QCOMPARE(events.size(), size_t(1));
    const moescope::Warning& w = events[0].warning;
    QCOMPARE(w.id, std::string("dead_experts"));
    QCOMPARE(w.layer, 0);
    // The balancing loss revives dead experts; logit noise did not (lesson 5).
    QCOMPARE(w.remedy.knob, std::string("aux_weight"));
    QCOMPARE(w.remedy.value, 0.2);
    QVERIFY(w.message.find("2 of 8 experts") != std::string::npos);
    QVERIFY(w.remedy.text.find("dead expert's logit") != std::string::npos);

    auto remedy = [&](double aux, const std::string& policy) {
        Config c = test_config();
        c.aux_weight = aux;
        c.policy = policy;
        Monitor fresh;
        std::vector<MonitorEvent> ev;
        for (int s = 0; s < c.hysteresis; ++s) ev = fresh.observe(m, c);
        return ev.at(0).warning.remedy;
    };
    QCOMPARE(remedy(0.0, "topk").value, 0.1);  // max(0.1, 0)
    QCOMPARE(remedy(0.5, "topk").value, 1.0);  // 5 capped at 1
    QCOMPARE(remedy(0.0, "bias_balanced").knob, std::string("bias_update_rate"));
}

void TestMonitor::saturation_needs_both_conditions() {
    const Config cfg = test_config();  // saturation_entropy 0.1, saturation_logit 8
    Monitor mon;
    StepMetrics sharp = healthy_step(0);
    sharp.layers[0].router_entropy = 0.05;  // low entropy, small logits
    StepMetrics big = healthy_step(0);
    big.layers[0].max_abs_logit = 12.0;  // big logits, entropy 0.8
    for (int s = 0; s < 10; ++s) {
        QVERIFY(mon.observe(sharp, cfg).empty());
        QVERIFY(mon.observe(big, cfg).empty());
    }
    StepMetrics both = sharp;
    both.layers[0].max_abs_logit = 12.0;
    QVERIFY(mon.observe(both, cfg).empty());
    QVERIFY(mon.observe(both, cfg).empty());
    const auto events = mon.observe(both, cfg);
    QCOMPARE(events.size(), size_t(1));
    QCOMPARE(events[0].warning.id, std::string("router_saturation"));
    QCOMPARE(events[0].warning.remedy.knob, std::string("z_weight"));
    QCOMPARE(events[0].warning.remedy.value, 1e-3);  // z_weight 0 → 1e-3
}

void TestMonitor::saturation_remedy_values() {
    StepMetrics both = healthy_step(0);
    both.layers[0].router_entropy = 0.01;
    both.layers[0].max_abs_logit = 20.0;
    auto remedy_value = [&](double z) {
        Config c = test_config();
        c.z_weight = z;
        Monitor mon;
        std::vector<MonitorEvent> ev;
        for (int s = 0; s < c.hysteresis; ++s) ev = mon.observe(both, c);
        return ev.at(0).warning.remedy.value;
    };
    QCOMPARE(remedy_value(5e-4), 1e-3);
    QCOMPARE(remedy_value(2e-3), 2e-2);
    QCOMPARE(remedy_value(0.02), 0.1);  // 0.2 capped
}

void TestMonitor::high_drop() {
    Config cfg = test_config();  // drop_warn 0.05
    cfg.capacity_factor = 1.25;
    Monitor mon;
    StepMetrics ok = healthy_step(0);
    ok.layers[0].dropped = 0.05;  // not above the threshold
    for (int s = 0; s < 5; ++s) QVERIFY(mon.observe(ok, cfg).empty());
    StepMetrics m = healthy_step(0);
    m.layers[0].dropped = 0.125;
    mon.observe(m, cfg);
    mon.observe(m, cfg);
    const auto events = mon.observe(m, cfg);
    QCOMPARE(events.size(), size_t(1));
    const moescope::Warning& w = events[0].warning;
    QCOMPARE(w.id, std::string("high_drop"));
    QCOMPARE(w.remedy.knob, std::string("capacity_factor"));
    QCOMPARE(w.remedy.value, 2.25);
    QVERIFY(w.remedy.text.find("raise capacity_factor") != std::string::npos);
    QVERIFY(w.message.find("12.5%") != std::string::npos);

    cfg.capacity_factor = 15.5;  // 16.5 capped at 16
    Monitor capped;
    std::vector<MonitorEvent> ev;
    for (int s = 0; s < 3; ++s) ev = capped.observe(m, cfg);
    QCOMPARE(ev.at(0).warning.remedy.value, 16.0);
}

void TestMonitor::loss_spike_after_stable_stretch() {
    Monitor mon;
    Config cfg = test_config();  // spike_factor 3, lr 1e-3
    long step = 0;
    for (; step < 30; ++step) QVERIFY(mon.observe(healthy_step(step), cfg).empty());  // EMA = 1
    StepMetrics spike = healthy_step(0);
    spike.ce = spike.loss = 2.0;  // below 3 × 1
    spike.step = step++;
    QVERIFY(mon.observe(spike, cfg).empty());
    spike.ce = spike.loss = 3.5;
    const long first = step;
    spike.step = step++;
    QVERIFY(mon.observe(spike, cfg).empty());
    spike.step = step++;
    QVERIFY(mon.observe(spike, cfg).empty());
    spike.step = step++;
    const auto events = mon.observe(spike, cfg);
    QCOMPARE(events.size(), size_t(1));
    const moescope::Warning& w = events[0].warning;
    QCOMPARE(w.id, std::string("loss_spike"));
    QCOMPARE(w.layer, -1);
    QCOMPARE(w.first_step, first);
    QCOMPARE(w.remedy.knob, std::string("lr"));
    QCOMPARE(w.remedy.value, 5e-4);
    // The spikes did not leak into the EMA: 2.0 moved it to 1 + 0.05·(2 − 1) = 1.05,
    // and the three 3.5s left it there, so 3.5 is 3.3× it.
    QVERIFY2(w.message.find("running average 1.05") != std::string::npos, w.message.c_str());
    QVERIFY2(w.message.find("3.3×") != std::string::npos, w.message.c_str());
}

void TestMonitor::loss_spike_needs_warmup() {
    Monitor mon;
    const Config cfg = test_config();
    for (long s = 0; s < 5; ++s) mon.observe(healthy_step(s), cfg);
    // Steps 5..14 are far above the EMA but fewer than 20 finite steps came before.
    StepMetrics high = healthy_step(0);
    high.ce = high.loss = 10.0;
    for (long s = 5; s < 15; ++s) {
        high.step = s;
        QVERIFY(mon.observe(high, cfg).empty());
    }
    QVERIFY(mon.history().empty());
}

// Clicking "Apply: aux_weight → 0.1" lifts the total loss by 0.1 × aux at once
// (here 1000×); the task's cross-entropy is unchanged, so nothing spikes.
void TestMonitor::raising_aux_weight_is_not_a_loss_spike() {
    Monitor mon;
    const Config cfg = test_config();
    long step = 0;
    for (; step < 30; ++step) mon.observe(healthy_step(step), cfg);
    StepMetrics after = healthy_step(0);
    after.loss = 1000.0;
    for (; step < 60; ++step) {
        after.step = step;
        QVERIFY(mon.observe(after, cfg).empty());
    }
    QVERIFY(mon.history().empty());
}

void TestMonitor::non_finite_is_immediate_and_critical() {
    Monitor mon;
    Config cfg = test_config();
    cfg.lr = 2e-3;
    mon.observe(healthy_step(1), cfg);
    StepMetrics bad = healthy_step(2);
    bad.finite = false;
    const auto events = mon.observe(bad, cfg);
    QCOMPARE(events.size(), size_t(1));
    const moescope::Warning& w = events[0].warning;
    QCOMPARE(w.id, std::string("non_finite"));
    QCOMPARE(w.severity, Severity::Critical);
    QCOMPARE(w.layer, -1);
    QCOMPARE(w.first_step, 2L);
    QCOMPARE(w.remedy.knob, std::string("lr"));
    QCOMPARE(w.remedy.value, 2e-4);
    QVERIFY(w.message.find("paused") != std::string::npos);
    QVERIFY(w.message.find("last finite state") != std::string::npos);

    // Clears after `hysteresis` good steps, like the others.
    QVERIFY(mon.observe(healthy_step(3), cfg).empty());
    QVERIFY(mon.observe(healthy_step(4), cfg).empty());
    const auto cleared = mon.observe(healthy_step(5), cfg);
    QCOMPARE(cleared.size(), size_t(1));
    QCOMPARE(cleared[0].kind, MonitorEvent::Cleared);

    // A NaN loss or aux flags it even when the trainer reported finite.
    StepMetrics nan_loss = healthy_step(6);
    nan_loss.loss = std::numeric_limits<double>::quiet_NaN();
    QCOMPARE(count_raised(mon.observe(nan_loss, cfg)), 1);
    Monitor mon2;
    StepMetrics inf_aux = healthy_step(7);
    inf_aux.aux = std::numeric_limits<double>::infinity();
    QCOMPARE(count_raised(mon2.observe(inf_aux, cfg)), 1);
}

// A non-finite step neither extends nor breaks another rule's streak: its layer
// metrics look healthy here but are not trusted.
void TestMonitor::non_finite_step_freezes_other_rules() {
    Monitor mon;
    const Config cfg = test_config();
    mon.observe(collapsed_step(1), cfg);
    mon.observe(collapsed_step(2), cfg);
    StepMetrics nan_step = healthy_step(3);
    nan_step.finite = false;
    nan_step.loss = std::numeric_limits<double>::quiet_NaN();
    const auto at_nan = mon.observe(nan_step, cfg);
    QCOMPARE(at_nan.size(), size_t(1));
    QCOMPARE(at_nan[0].warning.id, std::string("non_finite"));
    const auto events = mon.observe(collapsed_step(4), cfg);
    QCOMPARE(events.size(), size_t(1));
    QCOMPARE(events[0].warning.id, std::string("collapse"));
    QCOMPARE(events[0].warning.first_step, 1L);
}

void TestMonitor::layers_are_independent() {
    Monitor mon;
    const Config cfg = test_config();
    // Layer 1 collapses from step 0, layer 0 from step 2.
    StepMetrics m = collapsed_step(0, 2, 1);
    QVERIFY(mon.observe(m, cfg).empty());
    m.step = 1;
    QVERIFY(mon.observe(m, cfg).empty());
    m.step = 2;
    m.layers[0] = m.layers[1];
    auto events = mon.observe(m, cfg);
    QCOMPARE(events.size(), size_t(1));
    QCOMPARE(events[0].warning.layer, 1);
    QCOMPARE(events[0].warning.first_step, 0L);
    QVERIFY(events[0].warning.message.rfind("layer 1:", 0) == 0);
    m.step = 3;
    QVERIFY(mon.observe(m, cfg).empty());
    m.step = 4;
    events = mon.observe(m, cfg);
    QCOMPARE(events.size(), size_t(1));
    QCOMPARE(events[0].warning.layer, 0);
    QCOMPARE(events[0].warning.first_step, 2L);

    const auto active = mon.active();  // raise order
    QCOMPARE(active.size(), size_t(2));
    QCOMPARE(active[0].layer, 1);
    QCOMPARE(active[1].layer, 0);

    // Layer 1 recovers; layer 0 stays raised.
    m.layers[1] = healthy_layer();
    for (long s = 5; s < 7; ++s) {
        m.step = s;
        QVERIFY(mon.observe(m, cfg).empty());
    }
    m.step = 7;
    events = mon.observe(m, cfg);
    QCOMPARE(events.size(), size_t(1));
    QCOMPARE(events[0].kind, MonitorEvent::Cleared);
    QCOMPARE(events[0].warning.layer, 1);
    QCOMPARE(mon.active().size(), size_t(1));
    QCOMPARE(mon.active()[0].layer, 0);
}

void TestMonitor::layers_may_appear_and_disappear() {
    Monitor mon;
    const Config cfg = test_config();
    for (long s = 0; s < 3; ++s) mon.observe(collapsed_step(s, 3, 2), cfg);
    QCOMPARE(mon.active().size(), size_t(1));
    QCOMPARE(mon.active()[0].layer, 2);
    // Fewer layers: layer 2's warning stays as it was.
    QVERIFY(mon.observe(healthy_step(3, 1), cfg).empty());
    QVERIFY(mon.observe(healthy_step(4, 0), cfg).empty());
    QCOMPARE(mon.active().size(), size_t(1));
    // More layers than ever before: layer 4 collapses while layer 2, back and
    // healthy, clears after three good steps.
    for (long s = 5; s < 7; ++s) QVERIFY(mon.observe(collapsed_step(s, 5, 4), cfg).empty());
    const auto events = mon.observe(collapsed_step(7, 5, 4), cfg);
    QCOMPARE(events.size(), size_t(2));
    QCOMPARE(events[0].kind, MonitorEvent::Cleared);
    QCOMPARE(events[0].warning.layer, 2);
    QCOMPARE(events[1].kind, MonitorEvent::Raised);
    QCOMPARE(events[1].warning.layer, 4);
    QCOMPARE(mon.active().size(), size_t(1));
    QCOMPARE(mon.history().size(), size_t(2));
}

void TestMonitor::thresholds_are_live() {
    Monitor mon;
    Config cfg = test_config();
    cfg.hysteresis = 5;
    for (long s = 0; s < 3; ++s) QVERIFY(mon.observe(collapsed_step(s), cfg).empty());
    cfg.hysteresis = 2;  // the streak of 3 already exceeds it: the next bad step raises
    QCOMPARE(count_raised(mon.observe(collapsed_step(3), cfg)), 1);
    QCOMPARE(mon.active()[0].first_step, 0L);

    // A threshold moved below the measured value turns the step good.
    Monitor mon2;
    Config c2 = test_config();
    StepMetrics m = healthy_step(0);
    m.layers[0].load_entropy = 0.7;
    c2.collapse_entropy = 0.6;
    for (int s = 0; s < 5; ++s) QVERIFY(mon2.observe(m, c2).empty());
    c2.collapse_entropy = 0.75;
    mon2.observe(m, c2);
    mon2.observe(m, c2);
    QCOMPARE(count_raised(mon2.observe(m, c2)), 1);
}

void TestMonitor::reset_forgets_everything() {
    Monitor mon;
    const Config cfg = test_config();
    for (long s = 0; s < 3; ++s) mon.observe(collapsed_step(s), cfg);
    QCOMPARE(mon.active().size(), size_t(1));
    mon.reset();
    QVERIFY(mon.active().empty());
    QVERIFY(mon.history().empty());
    // Streak counts are gone too: two bad steps before and one after do not raise.
    mon.observe(collapsed_step(10), cfg);
    mon.observe(collapsed_step(11), cfg);
    mon.reset();
    QVERIFY(mon.observe(collapsed_step(12), cfg).empty());
    QVERIFY(mon.observe(collapsed_step(13), cfg).empty());
    QCOMPARE(count_raised(mon.observe(collapsed_step(14), cfg)), 1);
    QCOMPARE(mon.active()[0].first_step, 12L);

    // The loss EMA is gone too: a high loss right after reset is within warm-up.
    Monitor spiky;
    for (long s = 0; s < 30; ++s) spiky.observe(healthy_step(s), cfg);
    spiky.reset();
    StepMetrics high = healthy_step(30);
    high.loss = 10.0;
    for (int s = 0; s < 5; ++s) QVERIFY(spiky.observe(high, cfg).empty());
}

QTEST_APPLESS_MAIN(TestMonitor)
#include "test_monitor.moc"
