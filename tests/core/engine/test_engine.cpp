// The engine seam and what sits under it: CpuEngine's state round trip, the
// backend choice of make_engine, a StepSummary against the same step computed
// directly on a Model, and the fused AdamW/SGD step against a plain
// double-precision reference (clipping included, router clip before the global
// clip) and its refusal of a non-finite update.
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "data/dataset.hpp"
#include "engine/cpu_engine.hpp"
#include "engine/engine_factory.hpp"
#include "error.hpp"
#include "monitor/metrics.hpp"
#include "nn/activations.hpp"
#include "nn/model.hpp"
#include "nn/optimizer.hpp"
#include "nn/params.hpp"
#include "test_presets.hpp"

using namespace moescope;

namespace {

// Large enough for several optimizer chunks per expert tensor.
Config optimizer_config() {
    Config c = test_presets::tiny();
    c.layers = 2;
    c.experts = 8;
    c.d_model = 64;
    c.d_ff = 128;
    c.lr = 3e-3;
    c.router_lr = 2e-2;
    c.weight_decay = 0.1;
    return c;
}

AlignedVector<float> uniform(long n, float lo, float hi, unsigned seed) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    AlignedVector<float> v(n);
    for (auto& x : v) x = d(gen);
    return v;
}

// The textbook update in double: norms, router clip, global clip, then AdamW or SGD element by element.
struct ReferenceOptimizer {
    const ParamLayout& layout;
    std::vector<double> m, v;
    long t = 0;

    explicit ReferenceOptimizer(const ParamLayout& l) : layout(l), m(l.total, 0.0), v(l.total, 0.0) {}

    void step(std::vector<double>& p, const AlignedVector<float>& grads, const Config& c) {
        std::vector<double> g(grads.begin(), grads.end());
        auto group_sq = [&](ParamGroup grp) {
            double s = 0;
            for (long i = layout.group_begin[int(grp)]; i < layout.group_end[int(grp)]; ++i) s += g[i] * g[i];
            return s;
        };
        const long rb = layout.group_begin[int(ParamGroup::Router)], re = layout.group_end[int(ParamGroup::Router)];
        const double router = std::sqrt(group_sq(ParamGroup::Router));
        if (c.router_grad_clip > 0 && router > c.router_grad_clip)
            for (long i = rb; i < re; ++i) g[i] *= c.router_grad_clip / router;
        double total = 0;
        for (double x : g) total += x * x;
        total = std::sqrt(total);
        if (c.grad_clip > 0 && total > c.grad_clip)
            for (double& x : g) x *= c.grad_clip / total;
        ++t;
        for (const TensorInfo& ti : layout.tensors) {
            const double lr = ti.group == ParamGroup::Router ? c.router_lr : c.lr;
            const double wd = ti.decay ? c.weight_decay : 0.0;
            for (long i = ti.offset; i < ti.offset + ti.size(); ++i) {
                if (c.optimizer == "adamw") {
                    m[i] = 0.9 * m[i] + 0.1 * g[i];
                    v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
                    const double mh = m[i] / (1 - std::pow(0.9, double(t))),
                                 vh = v[i] / (1 - std::pow(0.999, double(t)));
                    p[i] -= lr * (mh / (std::sqrt(vh) + 1e-8) + wd * p[i]);
                } else {
                    m[i] = 0.9 * m[i] + g[i] + wd * p[i];
                    p[i] -= lr * m[i];
                }
            }
        }
    }
};

// Largest |a − b| / (|b| + floor) over the buffer.
template <class A>
double max_rel_error(const A& a, const std::vector<double>& b, double floor) {
    double worst = 0;
    for (size_t i = 0; i < b.size(); ++i)
        worst = std::max(worst, std::abs(double(a[i]) - b[i]) / (std::abs(b[i]) + floor));
    return worst;
}

// A training batch of `data` drawn from `rng`, on the host.
struct Batch {
    std::vector<float> x;
    std::vector<int32_t> labels, ids;
    Batch(const Dataset& data, long T, Rng& rng) {
        std::vector<int32_t> idx;
        sample_batch(data, int(T), rng, idx);
        for (long t = 0; t < T; ++t) {
            const auto col = data.x_train.col(idx[t]);
            x.insert(x.end(), col.data(), col.data() + data.d_in);
            labels.push_back(data.y_train[idx[t]]);
            ids.push_back(idx[t]);
        }
    }
    HostBatch view() const { return {x.data(), labels.data(), ids.data(), long(labels.size())}; }
};

// One training step: batch and noise from `rng`.
bool train(Engine& e, const Dataset& data, const Config& c, Rng& rng) {
    const Batch b(data, c.batch_tokens, rng);
    e.load_batch(b.view());
    e.sample_noise(c, rng);
    return e.train_step(c);
}

bool close(double a, double b, double rel = 1e-9) { return std::abs(a - b) <= rel * std::max(1.0, std::abs(b)); }

}  // namespace

class TestEngine : public QObject {
    Q_OBJECT
private slots:
    void export_import_round_trip_is_bit_exact();
    void import_refuses_wrong_sizes();
    void make_engine_chooses_and_says_why();
    void summary_equals_direct_model_step_data();
    void summary_equals_direct_model_step();
    void activation_layout_is_one_block();
    void growing_slots_keeps_activations();
    void fused_update_matches_reference_data();
    void fused_update_matches_reference();
    void router_clip_comes_before_global_clip();
    void checked_and_unchecked_updates_agree();
    void non_finite_update_changes_nothing();
};

// Engine b, built from another seed, takes a's weights, moments, step count and
// selection bias: both export the same bytes, and the next step (same batch and
// noise) gives the same summary and the same weights, bit for bit.
void TestEngine::export_import_round_trip_is_bit_exact() {
    Config c = test_presets::tiny();
    c.policy = "bias_balanced";
    c.noise_std = 0.2;
    const Dataset data = make_dataset(c);
    Rng init_a(1), init_b(2), run(3);
    CpuEngine a(c, data.d_in, data.num_classes, init_a), b(c, data.d_in, data.num_classes, init_b);
    for (int i = 0; i < 4; ++i) QVERIFY(train(a, data, c, run));
    QVERIFY(a.export_params() != b.export_params());
    b.import_params(a.export_params());
    b.import_optimizer(a.export_moment1(), a.export_moment2(), a.optimizer_steps());
    b.import_selection_bias(a.export_selection_bias());
    QVERIFY(b.export_params() == a.export_params());
    QVERIFY(b.export_moment1() == a.export_moment1() && b.export_moment2() == a.export_moment2());
    QVERIFY(b.export_selection_bias() == a.export_selection_bias());
    QCOMPARE(b.optimizer_steps(), 4L);

    Rng run_b = run;
    QVERIFY(train(a, data, c, run));
    QVERIFY(train(b, data, c, run_b));
    QCOMPARE(a.summary().loss, b.summary().loss);
    QCOMPARE(a.summary().norms.total, b.summary().norms.total);
    QCOMPARE(a.summary().layers[0].counts, b.summary().layers[0].counts);
    QVERIFY(a.export_params() == b.export_params());
    QVERIFY(a.export_moment2() == b.export_moment2());
    QVERIFY(a.export_selection_bias() == b.export_selection_bias());
}

void TestEngine::import_refuses_wrong_sizes() {
    const Config c = test_presets::tiny();
    Rng rng(1);
    CpuEngine e(c, c.d_in, c.classes, rng);
    std::vector<float> p = e.export_params();
    p.pop_back();
    try {
        e.import_params(p);
        QFAIL("a short parameter vector was imported");
    } catch (const DataError& err) {
        QVERIFY2(QString(err.what()).contains(QString::number(p.size())), err.what());
    }
    QVERIFY_THROWS_EXCEPTION(DataError, e.import_optimizer(p, p, 1));
    QVERIFY_THROWS_EXCEPTION(DataError, e.import_selection_bias({1.f}));
}

void TestEngine::make_engine_chooses_and_says_why() {
    const Config c = test_presets::tiny();
    Rng rng(1);
    const EngineChoice cpu = make_engine(c, Backend::Cpu, c.d_in, c.classes, rng);
    QCOMPARE(cpu.engine->name(), std::string("cpu"));
    QVERIFY2(QString::fromStdString(cpu.reason).contains("CPU"), cpu.reason.c_str());
    const EngineChoice automatic = make_engine(c, Backend::Auto, c.d_in, c.classes, rng);
    QCOMPARE(automatic.engine->name(), std::string("cpu"));
    QCOMPARE(automatic.reason, std::string("using the CPU: no CUDA engine in this build"));
    try {
        make_engine(c, Backend::Cuda, c.d_in, c.classes, rng);
        QFAIL("a CUDA engine was made");
    } catch (const ConfigError& e) {
        QVERIFY2(QString(e.what()).contains("--backend cuda: no CUDA engine in this build"), e.what());
    }
    QCOMPARE(parse_backend("auto"), Backend::Auto);
    QCOMPARE(parse_backend("cpu"), Backend::Cpu);
    QCOMPARE(parse_backend("cuda"), Backend::Cuda);
    try {
        parse_backend("gpu");
        QFAIL("'gpu' was taken for a backend");
    } catch (const ConfigError& e) {
        QVERIFY2(QString(e.what()).contains("'gpu'"), e.what());
    }
}

void TestEngine::summary_equals_direct_model_step_data() {
    QTest::addColumn<QString>("policy");
    QTest::addColumn<double>("capacity_factor");
    QTest::newRow("topk, capacity 1 (drops)") << "topk" << 1.0;
    QTest::newRow("noisy_topk") << "noisy_topk" << 0.0;
    QTest::newRow("expert_choice") << "expert_choice" << 0.5;
}

// The engine's summary of a step equals the metrics computed here from a Model
// stepped by hand on the same batch and noise, and the weights end up the same.
void TestEngine::summary_equals_direct_model_step() {
    QFETCH(QString, policy);
    QFETCH(double, capacity_factor);
    Config c = test_presets::tiny();
    c.layers = 2;
    c.policy = policy.toStdString();
    c.capacity_factor = capacity_factor;
    c.z_weight = 1e-3;
    c.router_grad_clip = 0.05;
    const Dataset data = make_dataset(c);
    Rng init_e(5), init_m(5), run_e(6), run_m(6);
    CpuEngine engine(c, data.d_in, data.num_classes, init_e);
    Model<float> model(c, data.d_in, data.num_classes, init_m);
    Optimizer opt(model.layout());
    Workspace<float> ws;
    ws.resize(c.batch_tokens, data.d_in, c, data.num_classes);

    QVERIFY(train(engine, data, c, run_e));
    const Batch b(data, c.batch_tokens, run_m);
    ws.x = CMatMap<float>(b.x.data(), data.d_in, c.batch_tokens);
    ws.labels = b.labels;
    ws.ids = b.ids;
    model.sample_noise(ws, c, run_m, true);
    model.forward(ws, c, true);
    model.backward(ws, c);
    const GradNorms norms = opt.norms(model.grads);
    QVERIFY(opt.step(model.params, model.grads, c, &norms));

    const StepSummary& s = engine.summary();
    const long T = c.batch_tokens;
    const int E = c.experts, C = data.num_classes;
    QVERIFY(s.finite);
    QCOMPARE(s.tokens, T);
    QCOMPARE(s.loss, double(ws.loss));
    QCOMPARE(s.ce, double(ws.ce));
    QCOMPARE(s.correct, ws.correct);
    QCOMPARE(s.norms.total, norms.total);
    QCOMPARE(s.norms.router, norms.router);
    QCOMPARE(int(s.layers.size()), c.layers);
    double dropped_any = 0;
    for (int l = 0; l < c.layers; ++l) {
        const LayerSummary& ls = s.layers[size_t(l)];
        const LayerCache<float>& lc = ws.layers[size_t(l)];
        const Routing& r = lc.routing;
        QCOMPARE(ls.counts, r.counts);
        double entropy = 0, abs_sum = 0, abs_max = 0;
        for (long t = 0; t < T; ++t) {
            for (int e = 0; e < E; ++e) {
                const double p = lc.p(e, t);
                if (p > 0) entropy -= p * std::log(p);
                abs_sum += std::abs(double(lc.z(e, t)));
                abs_max = std::max(abs_max, std::abs(double(lc.z(e, t))));
            }
        }
        QVERIFY(close(ls.router_entropy, entropy / (T * std::log(double(E))), 1e-5));
        QVERIFY(close(ls.mean_abs_logit, abs_sum / double(E * T), 1e-5));
        QCOMPARE(ls.max_abs_logit, abs_max);
        for (int e = 0; e < E; ++e) {
            double mean = 0;
            for (long t = 0; t < T; ++t) mean += lc.p(e, t);
            QVERIFY(close(ls.mean_prob[size_t(e)], mean / T, 1e-5));
        }
        const double dropped = r.expert_choice ? double(r.dropped) / T : double(r.dropped) / (double(T) * c.top_k);
        QCOMPARE(ls.dropped, dropped);
        dropped_any += dropped;
        QCOMPARE(ls.balance, double(lc.balance));
        QCOMPARE(ls.zloss, double(lc.zloss));
        QCOMPARE(ls.cv2, double(lc.cv2));
        QCOMPARE(ls.entropy, double(lc.entropy));
        // Per-layer gradient norms, summed here in one plain loop.
        const auto& pl = model.layout().layers[size_t(l)];
        auto sq = [&](int t) {
            if (t < 0) return 0.0;
            const TensorInfo& ti = model.layout().tensors[size_t(t)];
            double acc = 0;
            for (long i = ti.offset; i < ti.offset + ti.size(); ++i) acc += double(model.grads[i]) * model.grads[i];
            return acc;
        };
        QVERIFY(close(ls.router_grad_norm, std::sqrt(sq(pl.router_W) + sq(pl.noise_W))));
        QVERIFY(close(ls.expert_grad_norm, std::sqrt(sq(pl.W1) + sq(pl.b1) + sq(pl.W2) + sq(pl.b2))));
        QVERIFY(ls.router_grad_norm > 0 && ls.expert_grad_norm > 0);
        std::vector<int32_t> tally(size_t(C) * E, 0);
        for (long t = 0; t < T; ++t) ++tally[size_t(ws.labels[size_t(t)]) * E + r.top1[size_t(t)]];
        QCOMPARE(ls.class_expert, tally);
    }
    if (capacity_factor > 0) QVERIFY(dropped_any > 0);  // the drop count was exercised
    const std::vector<float> direct(model.params.begin(), model.params.end());
    QVERIFY(engine.export_params() == direct);
    QVERIFY(engine.export_moment1() == opt.first_moment());
}

// Every activation matrix has its own aligned, non-overlapping range of one
// buffer, and the Workspace's views are exactly those ranges.
void TestEngine::activation_layout_is_one_block() {
    Config c = test_presets::tiny();
    c.layers = 2;
    c.policy = "noisy_topk";
    Workspace<float> ws;
    ws.resize(c.batch_tokens, c.d_in, c, c.classes);
    const ActivationLayout& A = ws.layout;
    QCOMPARE(long(ws.activations.size()), A.total);
    std::vector<std::pair<long, long>> ranges;
    for (const ActivationInfo& ai : A.tensors) {
        QVERIFY2(ai.offset % ActivationLayout::kAlign == 0, ai.name.c_str());
        QVERIFY2(ai.offset + ai.size() <= A.total, ai.name.c_str());
        ranges.push_back({ai.offset, ai.offset + ai.size()});
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i) QVERIFY(ranges[i].first >= ranges[i - 1].second);
    const float* base = ws.activations.data();
    auto at = [&](int t) { return base + A.tensors[size_t(t)].offset; };
    QCOMPARE(ws.x.data(), at(A.x));
    QCOMPARE(ws.h[2].data(), at(A.h[2]));
    QCOMPARE(ws.layers[1].u.data(), at(A.layers[1].u));
    QCOMPARE(ws.layers[1].s.data(), at(A.layers[1].s));
    QCOMPARE(ws.layers[1].s.rows(), long(c.experts));  // noisy_topk's noise pre-activation
    QCOMPARE(ws.layers[0].Y.data(), at(A.layers[0].Y));
    QCOMPARE(ws.layers[0].Y.cols(), long(c.batch_tokens) * c.top_k);
    QCOMPARE(ws.dU.data(), at(A.dU));
    QCOMPARE(ws.logits.rows(), long(c.classes));
    QVERIFY(at(A.layers[0].U) >= base + A.slot_begin);  // slot-sized matrices come last
}

// A live capacity change under expert choice grows the slot buffers between
// sample_noise and forward: the inputs and the drawn noise must survive it.
void TestEngine::growing_slots_keeps_activations() {
    Config c = test_presets::tiny();
    c.policy = "expert_choice";
    c.capacity_factor = 1;
    c.noise_std = 0.5;
    Workspace<float> ws;
    ws.resize(c.batch_tokens, c.d_in, c, c.classes);
    for (long i = 0; i < ws.x.size(); ++i) ws.x.data()[i] = float(i % 7);
    ws.layers[0].eps_jitter.setConstant(0.25f);
    const long before = ws.layers[0].U.cols();
    ws.reserve_slots(before * 3, c);
    QCOMPARE(ws.layers[0].U.cols(), before * 3);
    QCOMPARE(long(ws.activations.size()), ws.layout.total);
    for (long i = 0; i < ws.x.size(); ++i) QCOMPARE(ws.x.data()[i], float(i % 7));
    QVERIFY((ws.layers[0].eps_jitter.array() == 0.25f).all());
    QCOMPARE(ws.x.data(), ws.activations.data() + ws.layout.tensors[size_t(ws.layout.x)].offset);
}

void TestEngine::fused_update_matches_reference_data() {
    QTest::addColumn<QString>("optimizer");
    QTest::addColumn<double>("router_clip");
    QTest::addColumn<double>("global_clip");
    QTest::newRow("adamw, no clip") << "adamw" << 0.0 << 0.0;
    QTest::newRow("adamw, global clip") << "adamw" << 0.0 << 1.0;
    QTest::newRow("adamw, router and global clip") << "adamw" << 0.5 << 1.0;
    QTest::newRow("sgd, router and global clip") << "sgd" << 0.5 << 1.0;
}

// Five steps with clipping active in each (the gradients' norm is far above 1):
// every weight and moment stays within float rounding of the double reference.
void TestEngine::fused_update_matches_reference() {
    QFETCH(QString, optimizer);
    QFETCH(double, router_clip);
    QFETCH(double, global_clip);
    Config c = optimizer_config();
    c.optimizer = optimizer.toStdString();
    c.router_grad_clip = router_clip;
    c.grad_clip = global_clip;
    const ParamLayout layout = ParamLayout::build(c, c.d_in, c.classes);
    QVERIFY(layout.total > 4 * (1L << 15));

    AlignedVector<float> params = uniform(layout.total, -1.f, 1.f, 1);
    std::vector<double> ref_params(params.begin(), params.end());
    Optimizer opt(layout);
    ReferenceOptimizer ref(layout);
    for (unsigned s = 0; s < 5; ++s) {
        const AlignedVector<float> grads = uniform(layout.total, -0.5f, 0.5f, 10 + s);
        const GradNorms norms = opt.norms(grads);
        QVERIFY(norms.total > 10);  // so the global clip acts when set
        QVERIFY(opt.step(params, grads, c, &norms));
        ref.step(ref_params, grads, c);
    }
    QCOMPARE(opt.steps(), 5L);
    QVERIFY2(max_rel_error(params, ref_params, 1e-3) < 1e-5, "parameters");
    QVERIFY2(max_rel_error(opt.first_moment(), ref.m, 1e-3) < 1e-5, "first moment");
    if (c.optimizer == "adamw") QVERIFY2(max_rel_error(opt.second_moment(), ref.v, 1e-6) < 1e-5, "second moment");
}

// Router norm 3, the rest 4. The router clip (1.5) halves the router first;
// the global clip (2) then scales everything by 2/√(1.5² + 4²). The other order
// (global first, 2/5, after which the router is under its clip) would give 0.4 to both.
void TestEngine::router_clip_comes_before_global_clip() {
    Config c = optimizer_config();
    c.router_grad_clip = 1.5;
    c.grad_clip = 2;
    GradNorms n;
    n.router = 3;
    n.experts = std::sqrt(7.0);
    n.rest = 3;
    n.total = 5;
    const ClipScale s = Optimizer::clip_scale(n, c);
    const double global = 2 / std::sqrt(1.5 * 1.5 + 16);
    QVERIFY(std::abs(s.others - global) < 1e-12);
    QVERIFY(std::abs(s.router - 0.5 * global) < 1e-12);
    c.router_grad_clip = 0;
    c.grad_clip = 0;
    const ClipScale none = Optimizer::clip_scale(n, c);
    QCOMPARE(none.router, 1.0);
    QCOMPARE(none.others, 1.0);
}

// The optimizer skips its read-only check when its bounds prove that no element
// can overflow. With the bounds forgotten before every step (always checked), the
// results are the same bit for bit.
void TestEngine::checked_and_unchecked_updates_agree() {
    Config c = optimizer_config();
    c.router_grad_clip = 0.5;
    const ParamLayout layout = ParamLayout::build(c, c.d_in, c.classes);
    AlignedVector<float> fast = uniform(layout.total, -1.f, 1.f, 2), checked = fast;
    Optimizer a(layout), b(layout);
    for (unsigned s = 0; s < 6; ++s) {
        const AlignedVector<float> grads = uniform(layout.total, -0.5f, 0.5f, 20 + s);
        const GradNorms na = a.norms(grads), nb = b.norms(grads);
        b.params_changed();
        QVERIFY(a.step(fast, grads, c, &na));
        QVERIFY(b.step(checked, grads, c, &nb));
    }
    QVERIFY(fast == checked);
    QVERIFY(a.first_moment() == b.first_moment() && a.second_moment() == b.second_moment());
}

// Moments loaded from a damaged file (3e38 in m, 0 in v, for a weight whose
// gradient is 0): a·m/ε overflows, so the step is refused and nothing changes.
void TestEngine::non_finite_update_changes_nothing() {
    Config c = optimizer_config();
    c.grad_clip = 0;
    const ParamLayout layout = ParamLayout::build(c, c.d_in, c.classes);
    AlignedVector<float> params = uniform(layout.total, -1.f, 1.f, 3);
    Optimizer opt(layout);
    AlignedVector<float> grads = uniform(layout.total, -0.5f, 0.5f, 4);
    const long last = layout.total - 1;
    grads[last] = 0;
    GradNorms n = opt.norms(grads);
    QVERIFY(opt.step(params, grads, c, &n));
    std::vector<float> m = opt.first_moment(), v = opt.second_moment();
    m[last] = 3e38f;
    v[last] = 0;
    opt.set_state(m, v, opt.steps());
    const AlignedVector<float> before = params;
    n = opt.norms(grads);
    QVERIFY(!opt.step(params, grads, c, &n));
    QVERIFY(params == before);
    QVERIFY(opt.first_moment() == m && opt.second_moment() == v);
    QCOMPARE(opt.steps(), 1L);
}

QTEST_GUILESS_MAIN(TestEngine)
#include "test_engine.moc"
