// Lessons 13–19 (issue 18 §1/§3): each preset's claim against its control run,
// as its text (resources/lessons/lesson13_* … lesson19_*) states it. The models
// are small (one layer, d_model 32, 256 tokens per step) so the whole suite
// runs in seconds on one thread. CTest runs it on six seeds and three GEMM paths
// (tests/CMakeLists.txt); the thresholds come from seeds 1–30 on two paths
// (scripts/lesson_seeds, docs/lesson_seeds.md) with a margin from their spread.
#include <QElapsedTimer>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "lesson_claims.hpp"
#include "test_presets.hpp"
#include "train/trainer.hpp"

using namespace moescope;

namespace {

using test_presets::control_of;
using test_presets::seeded;

// A one-layer run being played: every step's metrics and the step at which
// each monitor warning was first raised.
class Run {
public:
    explicit Run(const Config& cfg) : tr(cfg) {}

    // Steps until `steps_done() == until`, or until the non-finite guard halts the run.
    Run& play(long until) {
        while (tr.steps_done() < until && !tr.halted()) {
            steps_.push_back(tr.step());
            for (const auto& ev : tr.last_events())
                if (ev.kind == MonitorEvent::Raised && first_raised(ev.warning.id) < 0)
                    raised_.push_back({ev.warning.id, tr.steps_done()});
        }
        return *this;
    }

    // Mean over the finite steps in (from, to] of a model-wide or a layer-0 field, NaN (unmeasured) values skipped.
    double mean(double StepMetrics::*field, long from, long to) const {
        return reduce(from, to, false, [&](const StepMetrics& m) { return m.*field; });
    }
    double mean(double LayerMetrics::*field, long from, long to) const {
        return reduce(from, to, false, [&](const StepMetrics& m) { return m.layers[0].*field; });
    }
    double max(double StepMetrics::*field, long from, long to) const {
        return reduce(from, to, true, [&](const StepMetrics& m) { return m.*field; });
    }
    double max(double LayerMetrics::*field, long from, long to) const {
        return reduce(from, to, true, [&](const StepMetrics& m) { return m.layers[0].*field; });
    }
    double dead(long from, long to) const {
        return reduce(from, to, false, [](const StepMetrics& m) { return double(m.layers[0].dead_experts); });
    }
    // The first step's routing: computed from the initial weights, before any update.
    const LayerMetrics& first() const { return steps_.front().layers[0]; }

    long first_raised(const std::string& id) const {
        for (const auto& [wid, step] : raised_)
            if (wid == id) return step;
        return -1;
    }
    bool scripted(long step, const std::string& knob, const std::string& value) const {
        for (const auto& iv : tr.interventions())
            if (iv.step == step && iv.knob == knob && iv.new_value == value && iv.source == "script") return true;
        return false;
    }

    Trainer tr;

private:
    template <class F>
    double reduce(long from, long to, bool take_max, F value) const {
        double acc = take_max ? -INFINITY : 0;
        long n = 0;
        for (const auto& m : steps_) {
            if (!m.finite || m.step <= from || m.step > to) continue;
            const double v = value(m);
            if (std::isnan(v)) continue;
            acc = take_max ? std::max(acc, v) : acc + v;
            ++n;
        }
        return n == 0 ? kNaN : take_max ? acc : acc / double(n);
    }

    std::vector<StepMetrics> steps_;
    std::vector<std::pair<std::string, long>> raised_;
};

}  // namespace

class TestLessonsMore : public QObject {
    Q_OBJECT

private slots:
    void initTestCase_data() { lesson_claims::add_seed_rows(); }
    void init() { LESSON_SEED_INIT(); }
    void initTestCase() { clock_.start(); }
    void cleanupTestCase() { qInfo("lessons 13-19: %.1f s in all", clock_.elapsed() / 1000.0); }
    void every_new_lesson_is_small();
    void lesson13_uniform_collapse();
    void lesson14_router_init();
    void lesson15_clip_adam_sgd();
    void lesson16_entropy_reg();
    void lesson17_instability();
    void lesson18_top1_top2();
    void lesson19_capacity_imbalance();

private:
    QElapsedTimer clock_;
};

// CI budget: one layer, 256 tokens per step, a few hundred steps.
void TestLessonsMore::every_new_lesson_is_small() {
    for (const char* name :
         {"lesson13_uniform_collapse", "lesson14_router_init", "lesson15_clip_adam_sgd", "lesson16_entropy_reg",
          "lesson17_instability", "lesson18_top1_top2", "lesson19_capacity_imbalance"}) {
        const Config c = load_preset(name);
        QCOMPARE(QString::fromStdString(c.name), QString(name));
        QVERIFY(!c.description.empty());
        QCOMPARE(c.layers, 1);
        QVERIFY(c.batch_tokens <= 256 && c.d_model <= 32 && c.d_ff <= 64);
        QVERIFY(c.lesson_steps > 0 && c.lesson_steps <= 450);
        for (const auto& ch : c.script) QVERIFY(ch.step > 0 && ch.step < c.lesson_steps);
    }
}

// Uniform data, top-1 over 32 experts, no aux loss: nothing in the data favours
// an expert, yet experts die and more die as training goes on. The control
// with aux_weight 0.1 keeps them alive.
void TestLessonsMore::lesson13_uniform_collapse() {
    const Config cfg = seeded("lesson13_uniform_collapse");
    CLAIM("13", cfg.zipf == 0.0);
    CLAIM("13", cfg.aux_weight == 0.0);
    Run l(cfg);
    Run control(control_of("lesson13_uniform_collapse", [](Config& c) { c.aux_weight = 0.1; }));
    // A second control: the router frozen at its initial weights (router_lr 0).
    Run frozen(control_of("lesson13_uniform_collapse", [](Config& c) { c.router_lr = 0; }));
    l.play(300);
    control.play(300);
    frozen.play(300);
    const double df0 = frozen.dead(50, 70), df1 = frozen.dead(280, 300);
    qInfo("lesson13 frozen router: dead %.1f (steps 50-70) -> %.1f (280-300)", df0, df1);
    MEASURES("13", {{"frozen_d0", df0}, {"frozen_d1", df1}});
    const double d0 = l.dead(50, 70), d1 = l.dead(280, 300), dc = control.dead(280, 300);
    const double h1 = l.mean(&LayerMetrics::load_entropy, 280, 300);
    const double hc = control.mean(&LayerMetrics::load_entropy, 280, 300);
    const double u1 = l.mean(&LayerMetrics::max_util, 280, 300);
    const double acc = l.tr.evaluate(), acc_c = control.tr.evaluate();
    qInfo(
        "lesson13: dead %.1f (steps 50-70) -> %.1f (280-300), load entropy %.3f, max util %.2f, held-out %.3f, "
        "dead-experts warning at %ld; control aux 0.1: dead %.1f, load entropy %.3f, held-out %.3f",
        d0, d1, h1, u1, acc, l.first_raised("dead_experts"), dc, hc, acc_c);
    MEASURES("13", {{"d0", double(d0)},
                    {"d1", double(d1)},
                    {"h1", double(h1)},
                    {"u1", double(u1)},
                    {"acc", double(acc)},
                    {"l.first_raised(\"dead_experts\")", double(l.first_raised("dead_experts"))},
                    {"dc", double(dc)},
                    {"hc", double(hc)},
                    {"acc_c", double(acc_c)}});
    // Thresholds: seeds 1–30 × two GEMM paths (docs/lesson_seeds.md), with a margin from the spread.
    CLAIM("13", d0 >= 1);
    CLAIM("13", d1 > d0 + 0.2);  // the collapse grows: by 0.3 to 8.5 experts
    // A frozen router does not save them: the layers before it keep moving what it reads.
    CLAIM("13", df1 >= 2.5 && df1 >= df0);
    CLAIM("13", l.first_raised("dead_experts") > 0 && l.first_raised("dead_experts") <= 50);
    CLAIM("13", std::abs(acc - acc_c) < 0.03);  // the cost is wasted experts, not accuracy: within 0.019
    CLAIM("13", dc <= 4.5 && dc < d1 - 2.5);
    CLAIM("13", hc > h1 + 0.04);
}

// Near-zero router init: every probability is 1/E, so the router looks
// undecided, but top-1 is an argmax, and scaling all logits by 0.01 does not
// change it: the first step's assignment is the same as with a 100× larger
// init, and just as uneven. The balance loss, E·Σ f_i·P_i, reads 1 whatever f is.
void TestLessonsMore::lesson14_router_init() {
    Run l(seeded("lesson14_router_init"));
    Run control(control_of("lesson14_router_init", [](Config& c) { c.router_init_std = 1.0; }));
    l.play(150);
    control.play(150);
    const LayerMetrics &a = l.first(), &b = control.first();
    const double aux = l.mean(&StepMetrics::aux, 0, 1), aux_c = control.mean(&StepMetrics::aux, 0, 1);
    const double rh = l.mean(&LayerMetrics::router_entropy, 100, 150);
    const double rh_c = control.mean(&LayerMetrics::router_entropy, 100, 150);
    qInfo(
        "lesson14: step 1, init 0.01: router entropy %.4f, load entropy %.3f, max util %.2f, balance loss %.4f; "
        "init 1: %.3f, %.3f, %.2f, %.3f; steps 100-150 router entropy %.3f vs %.3f",
        a.router_entropy, a.load_entropy, a.max_util, aux, b.router_entropy, b.load_entropy, b.max_util, aux_c, rh,
        rh_c);
    MEASURES("14", {{"a.router_entropy", double(a.router_entropy)},
                    {"a.load_entropy", double(a.load_entropy)},
                    {"a.max_util", double(a.max_util)},
                    {"aux", double(aux)},
                    {"b.router_entropy", double(b.router_entropy)},
                    {"b.load_entropy", double(b.load_entropy)},
                    {"b.max_util", double(b.max_util)},
                    {"aux_c", double(aux_c)},
                    {"rh", double(rh)},
                    {"rh_c", double(rh_c)}});
    CLAIM("14", a.router_entropy > 0.99);
    CLAIM("14", a.max_util > 1.25 && a.load_entropy < 0.99);  // uniform probabilities, uneven assignment
    CLAIM("14", std::abs(a.load_entropy - b.load_entropy) < 0.01);
    CLAIM("14", std::abs(a.max_util - b.max_util) < 0.05);
    CLAIM("14", b.router_entropy < 0.4);
    CLAIM("14", std::abs(aux - 1.0) < 0.02 && aux_c > aux + 0.03);
    CLAIM("14", rh > rh_c + 0.3);
}

// Router gradient clipping (0.001, a twentieth of the router's gradient norm)
// from the first step: under AdamW it does not hold the logits back, since Adam
// divides each gradient by its running scale; under SGD it does. Switched on at
// step 100 under AdamW it slows the router for a while, until that scale catches up.
void TestLessonsMore::lesson15_clip_adam_sgd() {
    const std::string name = "lesson15_clip_adam_sgd";
    auto sgd = [](Config& c) {
        c.optimizer = "sgd";
        c.lr = 0.1;
        c.router_lr = 1.0;
    };
    auto no_clip = [](Config& c) { c.router_grad_clip = 0; };
    Run adam(seeded(name));
    Run adam_off(control_of(name, no_clip));
    Run sgd_on(control_of(name, sgd));
    Run sgd_off(control_of(name, [&](Config& c) { sgd(c), no_clip(c); }));
    Run late(control_of(name, no_clip));
    for (Run* r : {&adam, &adam_off, &sgd_on, &sgd_off}) r->play(300);
    late.play(100);
    late.tr.request_knob("router_grad_clip", "0.001");
    late.play(300);
    auto logit = [](const Run& r) { return r.mean(&LayerMetrics::max_abs_logit, 250, 300); };
    auto churn = [](const Run& r) { return r.mean(&LayerMetrics::churn, 150, 300); };
    qInfo(
        "lesson15: max |logit| at steps 250-300 (churn 150-300): AdamW clip %.1f (%.3f), no clip %.1f (%.3f), "
        "clip from step 100 %.1f (%.3f); SGD clip %.1f (%.3f), no clip %.1f (%.3f); router grad norm %.4f",
        logit(adam), churn(adam), logit(adam_off), churn(adam_off), logit(late), churn(late), logit(sgd_on),
        churn(sgd_on), logit(sgd_off), churn(sgd_off), adam_off.mean(&LayerMetrics::router_grad_norm, 0, 100));
    MEASURES("15", {{"logit(adam)", double(logit(adam))},
                    {"churn(adam)", double(churn(adam))},
                    {"logit(adam_off)", double(logit(adam_off))},
                    {"churn(adam_off)", double(churn(adam_off))},
                    {"logit(late)", double(logit(late))},
                    {"churn(late)", double(churn(late))},
                    {"logit(sgd_on)", double(logit(sgd_on))},
                    {"churn(sgd_on)", double(churn(sgd_on))},
                    {"logit(sgd_off)", double(logit(sgd_off))},
                    {"churn(sgd_off)", double(churn(sgd_off))},
                    {"adam_off.mean(&LayerMetrics::router_grad_norm, 0, 100)",
                     double(adam_off.mean(&LayerMetrics::router_grad_norm, 0, 100))}});
    CLAIM("15", adam.mean(&LayerMetrics::router_grad_norm, 0, 100) > 0.005);  // the clip is active: 5× or more
    // Thresholds from seeds 1–30 × two GEMM paths: AdamW with the clip from the start ends at 0.76–1.92
    // of the unclipped logits, the late clip at most 0.93, SGD's clip at most 0.44.
    CLAIM("15", logit(adam) > 0.7 * logit(adam_off));
    CLAIM("15", logit(sgd_on) < 0.5 * logit(sgd_off));
    CLAIM("15", logit(late) < logit(adam_off));
}

// The entropy term moves the router's confidence both ways, and the load not
// at all in the balancing direction: an undecided router (weight −1) still
// picks by argmax, churns, and scales its expert's output by a gate near 1/E.
void TestLessonsMore::lesson16_entropy_reg() {
    const std::string name = "lesson16_entropy_reg";
    Run l(seeded(name));
    Run control(control_of(name, [](Config&) {}));
    l.play(300);
    control.play(300);
    const double acc = l.tr.evaluate(), acc_c = control.tr.evaluate();
    l.play(450);
    control.play(450);
    QVERIFY(l.scripted(150, "entropy_weight", "-1"));
    QVERIFY(l.scripted(300, "entropy_weight", "1"));
    // Each phase's last 50 steps: steps 250-300 (weight −1) and 400-450 (weight 1).
    auto at = [](const Run& r, double LayerMetrics::*f, long to) { return r.mean(f, to - 50, to); };
    const double rh[] = {at(l, &LayerMetrics::router_entropy, 300), at(l, &LayerMetrics::router_entropy, 450)};
    const double rhc[] = {at(control, &LayerMetrics::router_entropy, 300),
                          at(control, &LayerMetrics::router_entropy, 450)};
    const double z[] = {at(l, &LayerMetrics::max_abs_logit, 300), at(l, &LayerMetrics::max_abs_logit, 450)};
    const double zc[] = {at(control, &LayerMetrics::max_abs_logit, 300),
                         at(control, &LayerMetrics::max_abs_logit, 450)};
    const double h[] = {at(l, &LayerMetrics::load_entropy, 300), at(l, &LayerMetrics::load_entropy, 450)};
    const double hc[] = {at(control, &LayerMetrics::load_entropy, 300), at(control, &LayerMetrics::load_entropy, 450)};
    const double churn = l.mean(&LayerMetrics::churn, 200, 300), churn_c = control.mean(&LayerMetrics::churn, 200, 300);
    qInfo(
        "lesson16: weight -1 (steps 250-300) / weight 1 (400-450) against the control: router entropy %.3f / %.3f "
        "(%.3f / %.3f), max |logit| %.1f / %.1f (%.1f / %.1f), load entropy %.3f / %.3f (%.3f / %.3f); weight -1: "
        "churn 200-300 %.3f (%.3f), held-out at step 300 %.3f (%.3f)",
        rh[0], rh[1], rhc[0], rhc[1], z[0], z[1], zc[0], zc[1], h[0], h[1], hc[0], hc[1], churn, churn_c, acc, acc_c);
    MEASURES("16", {{"rh[0]", double(rh[0])},
                    {"rh[1]", double(rh[1])},
                    {"rhc[0]", double(rhc[0])},
                    {"rhc[1]", double(rhc[1])},
                    {"z[0]", double(z[0])},
                    {"z[1]", double(z[1])},
                    {"zc[0]", double(zc[0])},
                    {"zc[1]", double(zc[1])},
                    {"h[0]", double(h[0])},
                    {"h[1]", double(h[1])},
                    {"hc[0]", double(hc[0])},
                    {"hc[1]", double(hc[1])},
                    {"churn", double(churn)},
                    {"churn_c", double(churn_c)},
                    {"acc", double(acc)},
                    {"acc_c", double(acc_c)}});
    CLAIM("16", rh[0] > 0.9 && z[0] < 0.4 * zc[0]);           // undecided
    CLAIM("16", rh[1] < 0.7 * rhc[1] && z[1] > zc[1] + 1);    // decisive
    CLAIM("16", h[0] < hc[0] + 0.02 && h[1] < hc[1] + 0.02);  // and no better balanced either way
    CLAIM("16", h[1] < hc[1]);  // weight 1: less balanced than the control on every run (by 0.012 to 0.16)
    CLAIM("16", churn > 1.5 * churn_c);
    CLAIM("16", acc < acc_c);
}

// Too high a router LR spikes the loss; a genuine divergence is stopped by the
// non-finite guard, which keeps the last finite parameters and halts.
void TestLessonsMore::lesson17_instability() {
    const std::string name = "lesson17_instability";
    Run l(seeded(name));
    Run control(control_of(name, [](Config&) {}));
    l.play(300);
    control.play(300);
    QVERIFY(l.scripted(150, "router_lr", "1"));
    const double ce0 = l.mean(&StepMetrics::ce, 100, 150), peak = l.max(&StepMetrics::ce, 150, 200);
    const double end = l.mean(&StepMetrics::ce, 280, 300), peak_c = control.max(&StepMetrics::ce, 150, 200);
    auto diverging = [](Config& c) {
        c.optimizer = "sgd";
        c.lr = c.router_lr = 1.0;
        c.z_weight = 1.0;
        c.grad_clip = 0;
    };
    Run boom(control_of(name, diverging));
    Run clipped(control_of(name, [&](Config& c) { diverging(c), c.grad_clip = 1; }));
    boom.play(300);
    clipped.play(300);
    // The same SGD run with the z-loss at 0 and at ST-MoE's 1e-3 instead of 1.
    Run z0(control_of(name, [&](Config& c) { diverging(c), c.z_weight = 0; }));
    Run z_st(control_of(name, [&](Config& c) { diverging(c), c.z_weight = 1e-3; }));
    z0.play(300);
    z_st.play(300);
    qInfo("lesson17: SGD lr 1, no clip, z 0: %ld steps (halted %d); z 1e-3: %ld steps (halted %d)", z0.tr.steps_done(),
          int(z0.tr.halted()), z_st.tr.steps_done(), int(z_st.tr.halted()));
    MEASURES("17", {{"z0_steps", double(z0.tr.steps_done())},
                    {"z0_halted", double(z0.tr.halted())},
                    {"zst_steps", double(z_st.tr.steps_done())},
                    {"zst_halted", double(z_st.tr.halted())}});
    // The divergence needs the z-loss at 1 (1000× ST-MoE's): at 0 or 1e-3 the same SGD run trains on.
    CLAIM("17", !z0.tr.halted() && z0.tr.steps_done() == 300);
    CLAIM("17", !z_st.tr.halted() && z_st.tr.steps_done() == 300);
    const double acc_boom = boom.tr.evaluate(), z_boom = boom.max(&LayerMetrics::max_abs_logit, 0, 300);
    qInfo(
        "lesson17: CE %.4f (steps 100-150) -> peak %.3f after router_lr 1 (x%.0f), spike warning at %ld, CE %.4f at "
        "280-300; control peak %.4f, spike warning %ld. SGD lr 1, z 1, no clip: halted at step %ld (non-finite "
        "warning %ld), max |logit| before %.3g, held-out of the kept state %.3f; with grad_clip 1: %ld steps, halted "
        "%d",
        ce0, peak, peak / ce0, l.first_raised("loss_spike"), end, peak_c, control.first_raised("loss_spike"),
        boom.tr.steps_done(), boom.first_raised("non_finite"), z_boom, acc_boom, clipped.tr.steps_done(),
        int(clipped.tr.halted()));
    MEASURES("17", {{"ce0", double(ce0)},
                    {"peak", double(peak)},
                    {"peak / ce0", double(peak / ce0)},
                    {"l.first_raised(\"loss_spike\")", double(l.first_raised("loss_spike"))},
                    {"end", double(end)},
                    {"peak_c", double(peak_c)},
                    {"control.first_raised(\"loss_spike\")", double(control.first_raised("loss_spike"))},
                    {"boom.tr.steps_done()", double(boom.tr.steps_done())},
                    {"boom.first_raised(\"non_finite\")", double(boom.first_raised("non_finite"))},
                    {"z_boom", double(z_boom)},
                    {"acc_boom", double(acc_boom)},
                    {"clipped.tr.steps_done()", double(clipped.tr.steps_done())},
                    {"int(clipped.tr.halted())", double(int(clipped.tr.halted()))}});
    CLAIM("17", peak > 10 * ce0);
    CLAIM("17", l.first_raised("loss_spike") > 150 && l.first_raised("loss_spike") <= 200);
    CLAIM("17", end < 0.2 * peak);  // it recovers
    CLAIM("17", peak_c < 0.15 * peak);
    CLAIM("17", control.first_raised("loss_spike") == -1L);
    CLAIM("17", boom.tr.halted() && boom.tr.steps_done() < 300);
    CLAIM("17", boom.first_raised("non_finite") >= 0);
    CLAIM("17", z_boom > 1e5);                               // 2.8e5–1.7e16 at the last finite step
    CLAIM("17", std::isfinite(acc_boom) && acc_boom < 0.5);  // kept, but already damaged: 0.04–0.32
    CLAIM("17", !clipped.tr.halted() && clipped.tr.steps_done() == 300);
}

// Top-2 against top-1 (a structural knob: two runs). Without any balancing
// loss, the second choice keeps the load even, and on 200 clusters the pair of
// experts learns more; each token costs two experts' compute.
void TestLessonsMore::lesson18_top1_top2() {
    const std::string name = "lesson18_top1_top2";
    Run l(seeded(name));
    Run control(control_of(name, [](Config& c) { c.top_k = 1; }));
    l.play(300);
    control.play(300);
    const double h = l.mean(&LayerMetrics::load_entropy, 250, 300),
                 hc = control.mean(&LayerMetrics::load_entropy, 250, 300);
    const double u = l.mean(&LayerMetrics::max_util, 250, 300), uc = control.mean(&LayerMetrics::max_util, 250, 300);
    const double ce = l.mean(&StepMetrics::ce, 250, 300), ce_c = control.mean(&StepMetrics::ce, 250, 300);
    const double acc = l.tr.evaluate(), acc_c = control.tr.evaluate();
    qInfo(
        "lesson18: steps 250-300, top-2 vs top-1: load entropy %.3f vs %.3f, max util %.2f vs %.2f, CE %.4f vs %.4f, "
        "held-out %.3f vs %.3f",
        h, hc, u, uc, ce, ce_c, acc, acc_c);
    MEASURES("18", {{"h", double(h)},
                    {"hc", double(hc)},
                    {"u", double(u)},
                    {"uc", double(uc)},
                    {"ce", double(ce)},
                    {"ce_c", double(ce_c)},
                    {"acc", double(acc)},
                    {"acc_c", double(acc_c)}});
    CLAIM("18", h > hc + 0.01);
    CLAIM("18", u < uc - 0.1);
    CLAIM("18", ce < 0.5 * ce_c);
    CLAIM("18", acc > acc_c + 0.005);
}

// Capacity under real imbalance: with the busiest expert at over 3× its share,
// capacity factors of 1, 1.25 and 2 all drop a large share of the assignments;
// hash routing (balanced by construction) at the same factors drops a few
// percent, then nothing. The drops come from the imbalance, not from a factor below 1.
void TestLessonsMore::lesson19_capacity_imbalance() {
    Run l(seeded("lesson19_capacity_imbalance"));
    Config hash = seeded("lesson19_capacity_imbalance");
    hash.policy = "hash";
    Run control(hash);
    l.play(450);
    control.play(450);
    QVERIFY(l.scripted(150, "capacity_factor", "1.25"));
    QVERIFY(l.scripted(300, "capacity_factor", "2"));
    QVERIFY(control.scripted(300, "capacity_factor", "2"));
    const double dr[] = {l.mean(&LayerMetrics::dropped, 100, 150), l.mean(&LayerMetrics::dropped, 250, 300),
                         l.mean(&LayerMetrics::dropped, 400, 450)};
    const double dc[] = {control.mean(&LayerMetrics::dropped, 100, 150), control.mean(&LayerMetrics::dropped, 250, 300),
                         control.mean(&LayerMetrics::dropped, 400, 450)};
    const double u = l.mean(&LayerMetrics::max_util, 400, 450), uc = control.mean(&LayerMetrics::max_util, 400, 450);
    const double acc = l.tr.evaluate(), acc_c = control.tr.evaluate();
    qInfo(
        "lesson19: dropped at cf 1 / 1.25 / 2: %.3f / %.3f / %.3f, max util %.2f, held-out %.3f; hash: %.4f / "
        "%.4f / %.4f, max util %.2f, held-out %.3f",
        dr[0], dr[1], dr[2], u, acc, dc[0], dc[1], dc[2], uc, acc_c);
    MEASURES("19", {{"dr[0]", double(dr[0])},
                    {"dr[1]", double(dr[1])},
                    {"dr[2]", double(dr[2])},
                    {"u", double(u)},
                    {"acc", double(acc)},
                    {"dc[0]", double(dc[0])},
                    {"dc[1]", double(dc[1])},
                    {"dc[2]", double(dc[2])},
                    {"uc", double(uc)},
                    {"acc_c", double(acc_c)}});
    CLAIM("19", u > 2.8);
    CLAIM("19", dr[0] > dr[2] + 0.02);
    CLAIM("19", dr[2] > 0.1);  // capacity 2 still drops: 13–36 %
    CLAIM("19", dc[0] < 0.1 && dc[1] < 0.02);
    CLAIM("19", dc[2] == 0.0);
    CLAIM("19", acc > acc_c);  // balance alone is not the goal: hash routing ignores what a token is
    // At or above a factor of 1 drops are bounded below by the overload of the busiest expert.
    CLAIM("19", dr[2] >= (u - 2.0) / 8 - 0.02);
}

QTEST_APPLESS_MAIN(TestLessonsMore)
#include "test_lessons_more.moc"
