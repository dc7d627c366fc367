// The remedy rule (core/monitor/remedy.hpp): for every warning kind, from every
// value on its knob's ladder and from values past it, the offered value moves
// the knob in the remedy's direction, within the knob's range, or no knob is
// offered at all; and the ladder ends.
#include <QtTest>

#include <string>
#include <vector>

#include "monitor/remedy.hpp"
#include "train/knobs.hpp"

using moescope::Config;
using moescope::Remedy;

namespace {

const std::vector<std::string> kWarningKinds = {"collapse",  "dead_experts", "router_saturation",
                                                "high_drop", "loss_spike",   "non_finite"};

// The policies whose remedies differ (bias_balanced balances through its bias).
const std::vector<std::string> kPolicies = {"topk", "bias_balanced"};

// The knob a warning's remedy turns under `cfg`, whatever its value now.
std::string remedy_knob(const std::string& id, const Config& cfg) {
    if (id == "collapse" || id == "dead_experts")
        return cfg.policy == "bias_balanced" ? "bias_update_rate" : "aux_weight";
    if (id == "router_saturation") return "z_weight";
    if (id == "high_drop") return "capacity_factor";
    return "lr";
}

// Checks one offer: either no knob (with a reason), or the expected knob moved
// strictly in its direction and inside its range.
void check_offer(const std::string& id, const Config& cfg, const Remedy& r) {
    const std::string knob = remedy_knob(id, cfg);
    const moescope::KnobDef& k = moescope::knob(knob);
    const double current = k.get_number(cfg);
    const QByteArray where =
        QByteArray::fromStdString(id + " with " + knob + " = " + std::to_string(current) + " (" + cfg.policy +
                                  "): offered '" + r.knob + "' " + std::to_string(r.value));
    if (r.knob.empty()) {
        QVERIFY2(!r.text.empty(), where.constData());
        return;
    }
    QVERIFY2(r.knob == knob, where.constData());
    const int dir = moescope::remedy_direction(knob);
    QVERIFY2(dir != 0, where.constData());
    QVERIFY2(dir > 0 ? r.value > current : r.value < current, where.constData());
    QVERIFY2(r.value >= k.min && r.value <= k.max, where.constData());
    QVERIFY2(r.text.rfind("set " + knob + " to ", 0) == 0, where.constData());
}

}  // namespace

class TestRemedy : public QObject {
    Q_OBJECT
private slots:
    void every_rung_moves_the_knob_in_the_remedys_direction();
    void values_past_the_ladder_offer_nothing();
    void stale_remedy_case_from_the_window();
    void unknown_warning_has_no_remedy();
};

// Starting from the knob's lowest useful value, take the offered value again and
// again: each offer moves the knob the right way, and the walk ends in a
// bounded number of rungs with the remedy hidden.
void TestRemedy::every_rung_moves_the_knob_in_the_remedys_direction() {
    for (const std::string& policy : kPolicies)
        for (const std::string& id : kWarningKinds) {
            Config cfg;
            cfg.policy = policy;
            const std::string knob = remedy_knob(id, cfg);
            const moescope::KnobDef& k = moescope::knob(knob);
            // Up-ladders start at the knob's minimum (capacity: 0.5, above dropless); lr starts at its maximum.
            const double start =
                moescope::remedy_direction(knob) > 0 ? (knob == "capacity_factor" ? 0.5 : k.min) : k.max;
            k.set_number(cfg, start);
            int rungs = 0;
            for (;; ++rungs) {
                QVERIFY2(rungs < 40, (id + ": the ladder of " + knob + " does not end").c_str());
                const Remedy r = moescope::remedy_for(id, cfg);
                check_offer(id, cfg, r);
                if (QTest::currentTestFailed()) return;
                if (r.knob.empty()) break;
                k.set_number(cfg, r.value);
            }
            QVERIFY2(rungs >= 1, (id + ": no rung at all from " + std::to_string(start)).c_str());
        }
}

// Values anywhere in the knob's range, on and between the rungs and past the cap.
void TestRemedy::values_past_the_ladder_offer_nothing() {
    for (const std::string& policy : kPolicies)
        for (const std::string& id : kWarningKinds) {
            Config cfg;
            cfg.policy = policy;
            const moescope::KnobDef& k = moescope::knob(remedy_knob(id, cfg));
            for (double v : {0.0, 1e-7, 1e-6, 1e-4, 1e-3, 3e-3, 0.01, 0.05, 0.1, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0, 16.0}) {
                if (v < k.min || v > k.max) continue;
                k.set_number(cfg, v);
                check_offer(id, cfg, moescope::remedy_for(id, cfg));
                if (QTest::currentTestFailed()) return;
            }
            k.set_number(cfg, k.max);
            const Remedy top = moescope::remedy_for(id, cfg);
            if (moescope::remedy_direction(k.name) > 0) QVERIFY2(top.knob.empty(), (id + " at its maximum").c_str());
        }
}

// The window's case: collapse raised with aux_weight 0, then aux_weight set to
// 0.3 by hand or a lesson script. The remedy must raise it (to 1), never offer 0.1.
void TestRemedy::stale_remedy_case_from_the_window() {
    Config cfg;
    cfg.aux_weight = 0.3;
    for (const char* id : {"collapse", "dead_experts"}) {
        const Remedy r = moescope::remedy_for(id, cfg);
        QCOMPARE(r.knob, std::string("aux_weight"));
        QCOMPARE(r.value, 1.0);
    }
    cfg.aux_weight = 1.0;
    QVERIFY(moescope::remedy_for("collapse", cfg).knob.empty());
    QVERIFY(moescope::remedy_for("collapse", cfg).text.find("already 1") != std::string::npos);
}

void TestRemedy::unknown_warning_has_no_remedy() {
    const Remedy r = moescope::remedy_for("no_such_rule", Config{});
    QVERIFY(r.knob.empty());
}

QTEST_APPLESS_MAIN(TestRemedy)
#include "test_remedy.moc"
