// The CUDA engine driving whole runs through the Trainer (behaviour tests):
// 200-step trajectories next to the CPU engine from the same seed, and
// snapshots moving between the engines. The CUDA engine is registered with
// make_engine as the GPU engine (host_noise: the CPU's noise draws, so both
// runs see the same noise). Bounds, and what the emulation measured (docs/cuda.md):
//   loss at every step            |Δ| ≤ 1e-5 relative (measured ≤ 1.2e-7 over the 200 steps)
//   expert load at the last step  |Δ| ≤ 0.01 per expert (measured 0; room for a token near a
//                                 tie to route differently on a GPU, whose sums round otherwise)
//   held-out accuracy             |Δ| ≤ 0.01 (measured 0)
// For time: topk runs the default preset at 256 tokens per step; the other policies
// the default preset at 128 tokens and d_ff 64 (about 3 s per policy on one core).
#include <QtTest>

#include <cmath>

#include "cuda_engine_variants.hpp"
#include "io/snapshot.hpp"
#include "test_presets.hpp"
#include "train/trainer.hpp"

using namespace moescope;
using namespace cuda_test;

namespace {

constexpr double kLossTol = 1e-5, kLoadTol = 0.01, kAccTol = 0.01;

void register_variant(const Variant& v) {
    GpuEngineProvider p;
    p.name = "CUDA";
    p.unavailable = [] { return std::string(); };
    p.refusal = v.refusal;
    const auto make = v.make;
    p.make = [make](const Config& c, int d_in, int classes, Rng& rng) { return make(c, d_in, classes, rng, true); };
    register_gpu_engine(std::move(p));
}

Config run_config(const std::string& policy) {
    Config c = test_presets::small("default");
    c.policy = policy;
    if (policy != "topk") {
        c.batch_tokens = 128;
        c.d_ff = 64;
    }
    if (policy == "noisy_topk") c.noise_std = 0.1;
    if (policy == "bias_balanced") c.aux_weight = 0;
    return c;
}

double max_load_gap(const StepMetrics& a, const StepMetrics& b) {
    double gap = 0;
    for (size_t l = 0; l < b.layers.size(); ++l)
        for (size_t e = 0; e < b.layers[l].load.size(); ++e)
            gap = std::max(gap, std::abs(a.layers[l].load[e] - b.layers[l].load[e]));
    return gap;
}

// Steps both trainers `n` times; fails at the first step whose loss differs by more than the bound.
void step_together(Trainer& gpu, Trainer& cpu, int n) {
    for (int s = 0; s < n; ++s) {
        const StepMetrics& g = gpu.step();
        const StepMetrics& c = cpu.step();
        QVERIFY(g.finite && c.finite);
        const double e = std::abs(g.loss - c.loss) / std::max(1.0, std::abs(c.loss));
        QVERIFY2(e <= kLossTol, qPrintable(QString("step %1: loss %2 vs CPU %3").arg(c.step).arg(g.loss).arg(c.loss)));
    }
}

}  // namespace

class TestCudaEngineRun : public QObject {
    Q_OBJECT
private slots:
    void cleanup() { register_gpu_engine({}); }
    void trajectory_follows_the_cpu_data();
    void trajectory_follows_the_cpu();
    void snapshot_moves_between_engines_data();
    void snapshot_moves_between_engines();
};

void TestCudaEngineRun::trajectory_follows_the_cpu_data() {
    add_variant_column();
    QTest::addColumn<QString>("policy");
    for (const char* v : variants())
        for (const char* p : {"topk", "noisy_topk", "bias_balanced", "hash", "random"})
            QTest::newRow(qPrintable(QString("%1 %2").arg(v, p))) << QString(v) << QString(p);
}

void TestCudaEngineRun::trajectory_follows_the_cpu() {
    CUDA_TEST_VARIANT(v);
    QFETCH(QString, policy);
    register_variant(v);
    const Config c = run_config(policy.toStdString());
    Trainer gpu(c, Backend::Cuda), cpu(c, Backend::Cpu);
    QCOMPARE(gpu.engine().name(), std::string("cuda"));
    step_together(gpu, cpu, 1);
    const double first_loss = cpu.last_metrics().loss;
    step_together(gpu, cpu, 199);
    if (QTest::currentTestFailed()) return;
    const StepMetrics &g = gpu.last_metrics(), &cm = cpu.last_metrics();
    QVERIFY2(max_load_gap(g, cm) <= kLoadTol, qPrintable(QString("load gap %1").arg(max_load_gap(g, cm))));
    QVERIFY(std::abs(g.test_acc - cm.test_acc) <= kAccTol);
    // It learned: the loss fell from the first step's.
    QVERIFY(cm.loss < 0.8 * first_loss);
}

void TestCudaEngineRun::snapshot_moves_between_engines_data() {
    add_variant_column();
    QTest::addColumn<QString>("policy");
    for (const char* v : variants())
        for (const char* p : {"topk", "bias_balanced"})
            QTest::newRow(qPrintable(QString("%1 %2").arg(v, p))) << QString(v) << QString(p);
}

// CPU run → snapshot file → resumed on the CUDA engine → its state → resumed on
// the CPU; each resumed run continues next to the CPU run that never stopped.
void TestCudaEngineRun::snapshot_moves_between_engines() {
    CUDA_TEST_VARIANT(v);
    QFETCH(QString, policy);
    register_variant(v);
    const Config c = run_config(policy.toStdString());
    Trainer cpu(c, Backend::Cpu);
    for (int s = 0; s < 30; ++s) cpu.step();
    QTemporaryDir dir;
    const std::string path = (dir.path() + "/run.moescope").toStdString();
    save_snapshot(path, cpu.export_state(), nullptr);
    const Snapshot snap = load_snapshot(path);
    const auto gpu = Trainer::from_state(snap.state, Backend::Cuda);
    QCOMPARE(gpu->engine().name(), std::string("cuda"));
    // Nothing lost on the way in: the CUDA engine hands back exactly what it was given.
    const TrainerState in = gpu->export_state();
    QCOMPARE(in.params, snap.state.params);
    QCOMPARE(in.moment1, snap.state.moment1);
    QCOMPARE(in.moment2, snap.state.moment2);
    QCOMPARE(in.selection_bias, snap.state.selection_bias);
    QCOMPARE(in.optimizer_steps, snap.state.optimizer_steps);
    step_together(*gpu, cpu, 10);
    if (QTest::currentTestFailed()) return;
    // And back: the CUDA run's state resumes on the CPU and still follows.
    const TrainerState out = gpu->export_state();
    QCOMPARE(out.optimizer_steps, 40L);
    const auto back = Trainer::from_state(out, Backend::Cpu);
    QCOMPARE(back->engine().name(), std::string("cpu"));
    step_together(*back, cpu, 10);
    if (QTest::currentTestFailed()) return;
    const std::vector<float> pb = back->engine().export_params(), pc = cpu.engine().export_params();
    QVERIFY(rel_error(pb, pc, 0, long(pc.size())) <= 1e-4);
}

QTEST_GUILESS_MAIN(TestCudaEngineRun)
#include "test_cuda_engine_run.moc"
