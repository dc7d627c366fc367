// The engine seam and what sits under it: the fused AdamW/SGD step against a
// plain double-precision reference (clipping included, router clip before the
// global clip), and its refusal of a non-finite update.
#include <QtTest>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

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
    for (size_t i = 0; i < b.size(); ++i) worst = std::max(worst, std::abs(double(a[i]) - b[i]) / (std::abs(b[i]) + floor));
    return worst;
}

}  // namespace

class TestEngine : public QObject {
    Q_OBJECT
private slots:
    void fused_update_matches_reference_data();
    void fused_update_matches_reference();
    void router_clip_comes_before_global_clip();
    void checked_and_unchecked_updates_agree();
    void non_finite_update_changes_nothing();
};

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
