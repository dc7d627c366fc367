// Snapshots as behaviour: N steps, save, load, M steps is bit-identical to
// N+M uninterrupted steps (parameters, every metric, monitor, history) for each
// routing policy; the NaN guard refuses diverged weights unless asked. Bad
// files: test_snapshot_files.cpp; saves killed at random moments: test_snapshot_kills.cpp.
#include <QTemporaryDir>
#include <QtTest>

#include <bit>
#include <cstring>
#include <filesystem>
#include <limits>

#include <nlohmann/json.hpp>

#include "io/snapshot.hpp"

using namespace moescope;

namespace {

// The default preset made small and busy: a probe, an evaluation, a scripted
// change after the save, and monitor rules that raise and clear near it.
Config small_config(const QString& policy, double noise_std) {
    Config c = load_preset("default");
    c.policy = policy.toStdString();
    c.noise_std = noise_std;
    c.batch_tokens = 128;
    c.train_samples = 4000;
    c.test_samples = 500;
    c.eval_every = 25;
    c.hysteresis = 3;
    c.collapse_max_util = 1.6;
    c.collapse_entropy = 0.99;
    c.drop_warn = 0.0;  // expert choice leaves some tokens unrouted: a warning there too
    c.dead_window = 20;
    c.dead_util = 0.9;  // about half the experts count as dead, so the windowed counts carry information
    c.script = {{35, "aux_weight", "0.05"}};
    c.validate();
    return c;
}

void run(Trainer& tr, long steps, MetricsHistory* history = nullptr) {
    for (long i = 0; i < steps; ++i) {
        if (tr.steps_done() == 10) tr.request_knob("router_lr", "0.002", "user");
        const StepMetrics& m = tr.step();
        if (history) history->append(m);
    }
}

bool same(double a, double b) { return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b); }

bool same(const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](double x, double y) { return same(x, y); });
}

// The first field in which two steps differ ("" when none); timing is not state.
QString difference(const StepMetrics& a, const StepMetrics& b) {
#define MS_SAME(field) \
    if (!same(a.field, b.field)) return QStringLiteral(#field)
    if (a.step != b.step || a.finite != b.finite || a.layers.size() != b.layers.size()) return "step/finite/layers";
    MS_SAME(loss);
    MS_SAME(ce);
    MS_SAME(aux);
    MS_SAME(zloss);
    MS_SAME(importance);
    MS_SAME(entropy_reg);
    MS_SAME(train_acc);
    MS_SAME(test_acc);
    MS_SAME(grad_norm);
    MS_SAME(router_grad_norm);
    MS_SAME(expert_grad_norm);
    MS_SAME(dead_util);
    for (size_t l = 0; l < a.layers.size(); ++l) {
        const LayerMetrics &x = a.layers[l], &y = b.layers[l];
        auto at = [&](const char* f) { return QStringLiteral("layers[%1].%2").arg(l).arg(f); };
        if (!same(x.load, y.load)) return at("load");
        if (!same(x.utilization, y.utilization)) return at("utilization");
        if (!same(x.mean_prob, y.mean_prob)) return at("mean_prob");
        if (x.dead_experts != y.dead_experts) return at("dead_experts");
        if (x.class_expert != y.class_expert) return at("class_expert");
        for (auto [f, p, q] : {std::tuple{"max_util", x.max_util, y.max_util},
                               {"cv", x.cv, y.cv},
                               {"load_entropy", x.load_entropy, y.load_entropy},
                               {"router_entropy", x.router_entropy, y.router_entropy},
                               {"dropped", x.dropped, y.dropped},
                               {"mean_abs_logit", x.mean_abs_logit, y.mean_abs_logit},
                               {"max_abs_logit", x.max_abs_logit, y.max_abs_logit},
                               {"balance_loss", x.balance_loss, y.balance_loss},
                               {"z_loss", x.z_loss, y.z_loss},
                               {"importance_cv2", x.importance_cv2, y.importance_cv2},
                               {"entropy_reg", x.entropy_reg, y.entropy_reg},
                               {"router_grad_norm", x.router_grad_norm, y.router_grad_norm},
                               {"expert_grad_norm", x.expert_grad_norm, y.expert_grad_norm},
                               {"churn", x.churn, y.churn},
                               {"nmi", x.nmi, y.nmi}})
            if (!same(p, q)) return at(f);
    }
    return {};
#undef MS_SAME
}

template <class T, class A, class B>
bool same_bytes(const std::vector<T, A>& a, const std::vector<T, B>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

}  // namespace

class TestSnapshot : public QObject {
    Q_OBJECT

private slots:
    void resumeIsBitExact_data() {
        QTest::addColumn<QString>("policy");
        QTest::addColumn<double>("noise_std");
        QTest::newRow("topk") << "topk" << 0.0;
        QTest::newRow("noisy_topk") << "noisy_topk" << 0.0;
        QTest::newRow("bias_balanced") << "bias_balanced" << 0.0;
        QTest::newRow("topk+noise_std") << "topk" << 0.5;
        QTest::newRow("expert_choice") << "expert_choice" << 0.0;
    }

    void resumeIsBitExact() {
        QFETCH(QString, policy);
        QFETCH(double, noise_std);
        const Config cfg = small_config(policy, noise_std);
        constexpr long N = 30, M = 20;
        QTemporaryDir dir;
        const std::string path = dir.filePath("run.moesnap").toStdString();

        Trainer straight(cfg);
        std::vector<StepMetrics> expected;
        run(straight, N);
        for (long i = 0; i < M; ++i) expected.push_back(straight.step());

        Trainer first(cfg);
        MetricsHistory history;
        history.reset(cfg.layers, cfg.experts);
        run(first, N, &history);
        save_snapshot(path, first.export_state(), &history);

        const Snapshot snap = load_snapshot(path);
        QCOMPARE(snap.state.steps, N);
        auto resumed = Trainer::from_state(snap.state);
        for (long i = 0; i < M; ++i) {
            const StepMetrics& m = resumed->step();
            const QString diff = difference(m, expected[i]);
            QVERIFY2(diff.isEmpty(), qPrintable(QStringLiteral("step %1 differs in %2").arg(m.step).arg(diff)));
        }
        QVERIFY(same_bytes(resumed->engine().export_params(), straight.engine().export_params()));
        QVERIFY(same_bytes(resumed->engine().export_selection_bias(), straight.engine().export_selection_bias()));
        const TrainerState a = resumed->export_state(), b = straight.export_state();
        QVERIFY(same_bytes(a.moment1, b.moment1) && same_bytes(a.moment2, b.moment2));
        QCOMPARE(a.monitor.to_json().dump(), b.monitor.to_json().dump());
        QVERIFY(!b.monitor.history().empty());  // the comparison above saw real warnings
        QCOMPARE(a.interventions.size(), b.interventions.size());
        QCOMPARE(a.interventions.size(), size_t(2));  // the user change before the save, the script after it
        QCOMPARE(a.config.aux_weight, 0.05);

        // The history comes back point for point (series that never got a point are not stored).
        size_t stored = 0;
        for (const auto& [key, series] : history.all_series()) {
            if (series.size() == 0) continue;
            ++stored;
            const DecimatedSeries* back = snap.history.series(std::get<0>(key), std::get<1>(key), std::get<2>(key));
            QVERIFY2(back, std::get<0>(key).c_str());
            QVERIFY(same(back->x(), series.x()) && same(back->y(), series.y()));
        }
        QCOMPARE(snap.history.all_series().size(), stored);
    }

    // Branch and compare: a trainer forked in memory from a live one and stepped
    // alternately with it on the same thread stays the same run, bit for bit.
    // (This caught parameter buffers at malloc's 16-byte alignment: with AVX,
    // Eigen's kernels then summed in a different order in the fork.)
    void forkedTrainerStaysIdentical_data() { resumeIsBitExact_data(); }
    void forkedTrainerStaysIdentical() {
        QFETCH(QString, policy);
        QFETCH(double, noise_std);
        Config cfg = small_config(policy, noise_std);
        cfg.probe_every = 7;
        Trainer main(cfg);
        run(main, 22);
        auto fork = Trainer::from_state(main.export_state());
        for (int i = 0; i < 40; ++i) {
            const StepMetrics a = main.step();
            const StepMetrics& b = fork->step();
            const QString diff = difference(a, b);
            QVERIFY2(diff.isEmpty(), qPrintable(QStringLiteral("step %1 differs in %2").arg(a.step).arg(diff)));
        }
    }

    // A halted run's snapshot holds the last finite weights and says it halted.
    void haltedRunSavesLastFiniteState() {
        Config cfg = small_config("topk", 0.0);
        Trainer tr(cfg);
        run(tr, 5);
        std::vector<float> planted = tr.engine().export_params();
        // W_out(0, 0): the logits overflow, the next step is not finite
        planted[tr.engine().layout().tensors[tr.engine().layout().W_out].offset] = 3e38f;
        tr.engine().import_params(planted);
        const auto before = planted;
        tr.step();
        QVERIFY(tr.halted());
        QVERIFY(same_bytes(tr.engine().export_params(), before));
        QTemporaryDir dir;
        const std::string path = dir.filePath("halted.moesnap").toStdString();
        save_snapshot(path, tr.export_state(), nullptr);
        const Snapshot snap = load_snapshot(path);
        QVERIFY(snap.state.halted);
        QVERIFY(same_bytes(snap.state.params, before));
        QVERIFY(Trainer::from_state(snap.state)->halted());
    }

    void nanGuardRefusesUnlessAllowed() {
        Trainer tr(small_config("topk", 0.0));
        run(tr, 3);
        QTemporaryDir dir;
        const std::string path = dir.filePath("nan.moesnap").toStdString();
        save_snapshot(path, tr.export_state(), nullptr);
        const auto& layout = tr.engine().layout();
        const TensorInfo& router = layout.tensors[layout.layers[1].router_W];
        std::vector<float> planted = tr.engine().export_params();
        planted[router.offset + 5] = std::numeric_limits<float>::quiet_NaN();
        tr.engine().import_params(planted);
        try {
            save_snapshot(path, tr.export_state(), nullptr);
            QFAIL("a NaN parameter was saved");
        } catch (const DataError& e) {
            QVERIFY2(QString(e.what()).contains("'layer1.router.W'") && QString(e.what()).contains("NaN"), e.what());
        }
        QCOMPARE(load_snapshot(path).state.steps, 3L);  // the refused save left the old file alone

        save_snapshot(path, tr.export_state(), nullptr, true);
        try {
            load_snapshot(path);
            QFAIL("a NaN parameter was loaded");
        } catch (const DataError& e) {
            QVERIFY2(QString(e.what()).contains("'layer1.router.W' holds NaN"), e.what());
        }
        QVERIFY(std::isnan(load_snapshot(path, true).state.params[router.offset + 5]));
    }
};

QTEST_APPLESS_MAIN(TestSnapshot)
#include "test_snapshot.moc"
