// Expert regions: on a hand-built model whose router splits the plane into
// half-planes, every policy's map is exactly those half-planes with the
// analytic router probability; a random model's map equals single-token
// forwards of the cell centres; bounds, shapes, errors, repeatability, and no
// workspace growth after the first call.
#include <QElapsedTimer>
#include <QtTest>

#include <algorithm>
#include <cmath>

#include "data/dataset.hpp"
#include "engine/cpu_engine.hpp"
#include "error.hpp"
#include "monitor/region_grid.hpp"
#include "nn/model.hpp"
#include "nn/ops.hpp"
#include "train/config.hpp"

using namespace moescope;

namespace {

Config tiny(const std::string& policy) {
    Config cfg;
    cfg.policy = policy;
    cfg.experts = 4;
    cfg.top_k = 1;
    cfg.layers = 2;
    cfg.d_model = 8;
    cfg.d_ff = 16;
    cfg.dataset = "moons";
    cfg.train_samples = 500;
    cfg.test_samples = 100;
    return cfg;
}

// h0 = (x, y, 0, …) and every expert outputs 0, so h stays h0 in both layers.
// Router: layer 0 scores (s·u0, −s·u0, 0, 0), layer 1 (0, 0, s·u1, −s·u1) with
// u = RMSNorm(h0): layer 0 picks expert 0 right of x = 0 and 1 left of it;
// layer 1 picks 2 above y = 0 and 3 below.
constexpr double kSharpness = 3.0;

void make_half_planes(Engine& engine) {
    const ParamLayout& lay = engine.layout();
    std::vector<float> p = engine.export_params();
    auto param = [&](int t) {
        const TensorInfo& ti = lay.tensors[size_t(t)];
        return MatMap<float>(p.data() + ti.offset, ti.rows, ti.cols);
    };
    param(lay.W_in).setZero();
    param(lay.W_in)(0, 0) = 1;
    param(lay.W_in)(1, 1) = 1;
    param(lay.b_in).setZero();
    for (int l = 0; l < 2; ++l) {
        const auto& L = lay.layers[size_t(l)];
        param(L.W2).setZero();
        param(L.b2).setZero();
        auto router = param(L.router_W);
        router.setZero();
        router(2 * l, l) = float(kSharpness);
        router(2 * l + 1, l) = float(-kSharpness);
    }
    engine.import_params(p);
}

// The half-plane model's router probability p_e at layer l for input (x, y):
// softmax of z = (s·u_l, −s·u_l) on experts 2l, 2l+1 and 0 elsewhere.
double half_plane_p(int l, double x, double y, int e) {
    const double r = 1.0 / std::sqrt((x * x + y * y) / 8.0 + ops::kRmsEps);
    const double a = kSharpness * (l == 0 ? x : y) * r;
    double z[4] = {0, 0, 0, 0};
    z[2 * l] = a;
    z[2 * l + 1] = -a;
    return std::exp(z[e]) / (std::exp(a) + std::exp(-a) + 2.0);
}

struct Fixture {
    Config cfg;
    Dataset data;
    Rng rng;
    CpuEngine engine;
    Fixture(const Config& c, uint64_t seed = 7)
        : cfg(c), data(make_dataset(c)), rng(seed), engine(c, data.d_in, data.num_classes, rng) {}
};

}  // namespace

class TestRegionGrid : public QObject {
    Q_OBJECT
private slots:
    void refuses_what_it_cannot_draw() {
        Config cfg = tiny("topk");
        cfg.dataset = "clusters";
        cfg.d_in = 16;
        Fixture f(cfg);
        QVERIFY(!supports_region_grid(f.data));
        try {
            compute_region_grid(f.engine, f.cfg, f.data, 16);
            QFAIL("a 16-D dataset gave a region grid");
        } catch (const ConfigError& e) {
            const QString msg = e.what();
            QVERIFY2(msg.contains("2-D") && msg.contains("clusters") && msg.contains("d_in 16"), e.what());
        }
        Fixture moons(tiny("topk"));
        QVERIFY(supports_region_grid(moons.data));
        QVERIFY_THROWS_EXCEPTION(ConfigError, compute_region_grid(moons.engine, moons.cfg, moons.data, 1));
    }

    void bounds_and_shapes() {
        Fixture f(tiny("topk"));
        const RegionGrid g = compute_region_grid(f.engine, f.cfg, f.data, 24);
        QCOMPARE(g.resolution, 24);
        QCOMPARE(g.layers, 2);
        QCOMPARE(g.experts, 4);
        QCOMPARE(g.top1.size(), size_t(2 * 24 * 24));
        QCOMPARE(g.confidence.size(), g.top1.size());
        const double x_lo = f.data.x_train.row(0).minCoeff(), x_hi = f.data.x_train.row(0).maxCoeff();
        const double y_lo = f.data.x_train.row(1).minCoeff(), y_hi = f.data.x_train.row(1).maxCoeff();
        QVERIFY(std::abs(g.x_min - (x_lo - 0.05 * (x_hi - x_lo))) < 1e-9);
        QVERIFY(std::abs(g.x_max - (x_hi + 0.05 * (x_hi - x_lo))) < 1e-9);
        QVERIFY(std::abs(g.y_min - (y_lo - 0.05 * (y_hi - y_lo))) < 1e-9);
        QVERIFY(std::abs(g.y_max - (y_hi + 0.05 * (y_hi - y_lo))) < 1e-9);
        QVERIFY(std::all_of(g.top1.begin(), g.top1.end(), [](int16_t e) { return e >= 0 && e < 4; }));
        // The top-1 probability of E experts is at least 1/E.
        QVERIFY(std::all_of(g.confidence.begin(), g.confidence.end(),
                            [](float p) { return p >= 0.25f - 1e-6f && p <= 1; }));
    }

    void half_planes_data() {
        QTest::addColumn<QString>("policy");
        for (const char* p : {"topk", "noisy_topk", "bias_balanced", "expert_choice", "hash", "random"})
            QTest::newRow(p) << QString(p);
    }
    // Every policy shows the router's preference, not its hash or dice.
    void half_planes() {
        QFETCH(QString, policy);
        Fixture f(tiny(policy.toStdString()));
        make_half_planes(f.engine);
        const int n = 20;
        const RegionGrid g = compute_region_grid(f.engine, f.cfg, f.data, n);
        QVERIFY(g.x_min < 0 && g.x_max > 0 && g.y_min < 0 && g.y_max > 0);
        double worst = 0;
        for (int row = 0; row < n; ++row)
            for (int col = 0; col < n; ++col) {
                const double x = g.cell_x(col), y = g.cell_y(row);
                const int expected[2] = {x > 0 ? 0 : 1, y > 0 ? 2 : 3};
                for (int l = 0; l < 2; ++l) {
                    QCOMPARE(int(g.top1[g.index(l, row, col)]), expected[l]);
                    worst = std::max(worst,
                                     std::abs(g.confidence[g.index(l, row, col)] - half_plane_p(l, x, y, expected[l])));
                }
            }
        QVERIFY2(worst < 1e-5, qPrintable(QString("confidence off by %1").arg(worst)));
    }

    // bias_balanced ranks by z + bias: a large bias on expert 3 takes layer 0's whole plane.
    void selection_bias_counts() {
        Fixture f(tiny("bias_balanced"));
        make_half_planes(f.engine);
        std::vector<float> bias = f.engine.export_selection_bias();
        bias[3] = 100.0f;  // layer 0, expert 3
        f.engine.import_selection_bias(bias);
        const RegionGrid g = compute_region_grid(f.engine, f.cfg, f.data, 10);
        for (int row = 0; row < 10; ++row)
            for (int col = 0; col < 10; ++col) {
                const double x = g.cell_x(col), y = g.cell_y(row);
                QCOMPARE(int(g.top1[g.index(0, row, col)]), 3);
                QCOMPARE(int(g.top1[g.index(1, row, col)]), y > 0 ? 2 : 3);
                // The bias moves selection only: the confidence is the unbiased p_3.
                QVERIFY(std::abs(g.confidence[g.index(0, row, col)] - half_plane_p(0, x, y, 3)) < 1e-5);
            }
    }

    // With trained-looking weights (a decided router, experts that move h) the
    // batched grid equals a single-token forward of every cell centre.
    void matches_single_token_forwards() {
        Config cfg = tiny("topk");
        cfg.top_k = 2;
        cfg.router_init_std = 1.0;
        Fixture f(cfg, 3);
        Workspace<float> one;
        const int n = 12;
        const RegionGrid g = compute_region_grid(f.engine, f.cfg, f.data, n);
        one.resize(1, 2, cfg, f.data.num_classes);
        std::vector<int> seen(4, 0);
        for (int row = 0; row < n; ++row)
            for (int col = 0; col < n; ++col) {
                one.x(0, 0) = float(g.cell_x(col));
                one.x(1, 0) = float(g.cell_y(row));
                one.labels[0] = 0;
                one.ids[0] = row * n + col;
                f.engine.model().forward(one, cfg, false);
                for (int l = 0; l < 2; ++l) {
                    const int e = one.layers[size_t(l)].routing.top1[0];
                    QCOMPARE(int(g.top1[g.index(l, row, col)]), e);
                    QVERIFY(std::abs(g.confidence[g.index(l, row, col)] - one.layers[size_t(l)].p(e, 0)) < 1e-5);
                    if (l == 0) ++seen[size_t(e)];
                }
            }
        // The check means something only if the map has more than one region.
        QVERIFY(std::count_if(seen.begin(), seen.end(), [](int c) { return c > 0; }) >= 2);
    }

    void repeat_is_identical_and_allocation_free() {
        Fixture f(tiny("expert_choice"));
        const RegionGrid a = compute_region_grid(f.engine, f.cfg, f.data, 32);
        const Workspace<float>& ws = f.engine.pass_workspace(Pass::Region);
        const size_t bytes = ws.bytes();
        const float* x = ws.x.data();
        const float* U = ws.layers[0].U.data();
        const RegionGrid b = compute_region_grid(f.engine, f.cfg, f.data, 32);
        QVERIFY(a.top1 == b.top1);
        QVERIFY(a.confidence == b.confidence);
        QCOMPARE(ws.bytes(), bytes);
        QCOMPARE(ws.x.data(), x);
        QCOMPARE(ws.layers[0].U.data(), U);
    }

    // The window recomputes the map every few steps: 64×64 on a lesson model must be cheap.
    void lesson_model_timing() {
        Config cfg = load_preset("lesson1_baseline");
        cfg.dataset = "moons";
        Fixture f(cfg);
        QElapsedTimer clock;
        clock.start();
        compute_region_grid(f.engine, f.cfg, f.data, 64);
        const double first_ms = clock.nsecsElapsed() * 1e-6;
        double best_ms = 1e9;
        for (int i = 0; i < 10; ++i) {
            clock.restart();
            compute_region_grid(f.engine, f.cfg, f.data, 64);
            best_ms = std::min(best_ms, clock.nsecsElapsed() * 1e-6);
        }
        qInfo("region grid 64×64, %s (E %d, k %d, L %d, d %d, d_ff %d): first call %.2f ms, then best %.2f ms",
              cfg.name.c_str(), cfg.experts, cfg.top_k, cfg.layers, cfg.d_model, cfg.d_ff, first_ms, best_ms);
        QVERIFY(best_ms < 250);  // loose: catches an accidental per-cell forward, not a slow machine
    }
};

QTEST_GUILESS_MAIN(TestRegionGrid)
#include "test_region_grid.moc"
