// The CUDA engine against the CPU engine, one step at a time (math tests).
// Both start from the same seed, so from the same parameters; the CUDA engine
// draws its noise from the run's Rng exactly as the CPU does (host_noise), so
// both see the same ε, jitter and random choices. fp32 bounds, measured on the
// emulation (worst over the rows, docs/cuda.md), with a margin of 10× or more:
//   routing           identical: counts, drops, class × expert tallies, correct predictions
//   loss, ce, terms   |Δ| ≤ 1e-5 relative (measured ≤ 4.8e-7: sums in other orders, tanh/exp
//                     of another libm than Eigen's vectorised ones)
//   gradient norms    ≤ 1e-5 relative (measured ≤ 2.5e-8)
//   gradients         ‖Δg‖/‖g‖ ≤ 1e-5 per tensor (measured ≤ 5.7e-7: GEMM sums in other orders)
//   updated params    ‖Δp‖/‖p₁ − p₀‖ ≤ 5e-4 (measured ≤ 4.9e-5): Adam's first steps are close to
//                     lr·sign(g), so a gradient element near zero can flip; the update is
//                     compared, not the weights
// Each test runs on the emulation ("emu") and, when a GPU is usable, on it ("gpu").
#include <QtTest>

#include <cmath>

#include "cuda_engine_variants.hpp"
#include "error.hpp"
#include "test_presets.hpp"

using namespace moescope;
using namespace cuda_test;

namespace {

constexpr double kLossTol = 1e-5, kGradTol = 1e-5, kUpdateTol = 5e-4;

// Small, with every loss term, both noises and a capacity that drops tokens.
Config parity_config(const std::string& policy, int k) {
    Config c = test_presets::tiny();
    c.policy = policy;
    c.top_k = k;
    c.layers = 2;
    c.experts = 6;
    c.d_in = 8;
    c.classes = 5;
    c.z_weight = 1e-3;
    c.importance_weight = 1e-2;
    c.entropy_weight = 1e-2;
    c.noise_std = 0.3;
    c.capacity_factor = 1.0;
    c.router_grad_clip = 0.05;
    c.router_init_std = 0.5;  // decided routing from the first step
    return c;
}

void add_policy_rows() {
    add_variant_column();
    QTest::addColumn<QString>("policy");
    QTest::addColumn<int>("k");
    for (const char* v : variants())
        for (const auto& [policy, k] : std::vector<std::pair<const char*, int>>{
                 {"topk", 2}, {"topk", 1}, {"noisy_topk", 2}, {"bias_balanced", 2}, {"hash", 2}, {"random", 2}})
            QTest::newRow(qPrintable(QString("%1 %2 k=%3").arg(v, policy).arg(k)))
                << QString(v) << QString(policy) << k;
}

// The row's policy and k (add_policy_rows), as parity_config.
Config row_config() {
    QFETCH(QString, policy);
    QFETCH(int, k);
    return parity_config(policy.toStdString(), k);
}

// A CPU engine and a CUDA engine from one seed (host noise): equal from the start.
struct EnginePair {
    Config c;
    Rng rc, rg;
    CpuEngine cpu;
    std::unique_ptr<Engine> gpu;
    EnginePair(const Variant& v, const Config& cfg, uint64_t seed)
        : c(cfg), rc(seed), rg(seed), cpu(c, c.d_in, c.classes, rc), gpu(v.make(c, c.d_in, c.classes, rg, true)) {}
};

void compare_rel(double got, double want, double tol, const char* what) {
    const double e = std::abs(got - want) / std::max(1.0, std::abs(want));
    QVERIFY2(e <= tol,
             qPrintable(QString("%1: %2 vs CPU %3 (error %4 > %5)").arg(what).arg(got).arg(want).arg(e).arg(tol)));
}

void compare_summaries(const StepSummary& g, const StepSummary& c) {
    QCOMPARE(g.tokens, c.tokens);
    QCOMPARE(g.finite, c.finite);
    QCOMPARE(g.correct, c.correct);
    compare_rel(g.loss, c.loss, kLossTol, "loss");
    compare_rel(g.ce, c.ce, kLossTol, "ce");
    compare_rel(g.norms.total, c.norms.total, kGradTol, "gradient norm");
    compare_rel(g.norms.router, c.norms.router, kGradTol, "router gradient norm");
    QCOMPARE(g.layers.size(), c.layers.size());
    for (size_t l = 0; l < c.layers.size(); ++l) {
        const LayerSummary &a = g.layers[l], &b = c.layers[l];
        QCOMPARE(a.counts, b.counts);
        QCOMPARE(a.dropped, b.dropped);
        QCOMPARE(a.class_expert, b.class_expert);
        for (size_t e = 0; e < b.mean_prob.size(); ++e)
            compare_rel(a.mean_prob[e], b.mean_prob[e], kLossTol, "mean_prob");
        compare_rel(a.router_entropy, b.router_entropy, kLossTol, "router_entropy");
        compare_rel(a.mean_abs_logit, b.mean_abs_logit, kLossTol, "mean |logit|");
        compare_rel(a.max_abs_logit, b.max_abs_logit, kLossTol, "max |logit|");
        compare_rel(a.balance, b.balance, kLossTol, "balance");
        compare_rel(a.zloss, b.zloss, kLossTol, "z-loss");
        compare_rel(a.cv2, b.cv2, kLossTol, "importance CV²");
        compare_rel(a.entropy, b.entropy, kLossTol, "entropy term");
        compare_rel(a.router_grad_norm, b.router_grad_norm, kGradTol, "router gradient norm (layer)");
        compare_rel(a.expert_grad_norm, b.expert_grad_norm, kGradTol, "expert gradient norm (layer)");
    }
}

}  // namespace

class TestCudaEngine : public QObject {
    Q_OBJECT
private slots:
    void starts_from_the_cpu_parameters_data() { add_policy_rows(); }
    void starts_from_the_cpu_parameters();
    void one_step_matches_the_cpu_data() { add_policy_rows(); }
    void one_step_matches_the_cpu();
    void evaluation_and_first_choices_match_the_cpu_data() { add_policy_rows(); }
    void evaluation_and_first_choices_match_the_cpu();
    void non_finite_step_changes_nothing_data();
    void non_finite_step_changes_nothing();
    void counter_noise_is_reproducible_data();
    void counter_noise_is_reproducible();
    void refuses_expert_choice_with_one_line_data();
    void refuses_expert_choice_with_one_line();
    void factory_uses_a_registered_gpu_engine();
};

void TestCudaEngine::starts_from_the_cpu_parameters() {
    CUDA_TEST_VARIANT(v);
    EnginePair pair(v, row_config(), 7);
    CpuEngine& cpu = pair.cpu;
    auto& gpu = pair.gpu;
    Rng &rc = pair.rc, &rg = pair.rg;
    QCOMPARE(gpu->export_params(), cpu.export_params());
    QCOMPARE(gpu->layout().total, cpu.layout().total);
    QCOMPARE(rg.next_u64(), rc.next_u64());  // the same draws were taken
    QCOMPARE(gpu->name(), std::string("cuda"));
}

void TestCudaEngine::one_step_matches_the_cpu() {
    CUDA_TEST_VARIANT(v);
    QFETCH(QString, policy);
    EnginePair pair(v, row_config(), 3);
    const Config& c = pair.c;
    CpuEngine& cpu = pair.cpu;
    auto& gpu = pair.gpu;
    Rng &rc = pair.rc, &rg = pair.rg;
    const std::vector<float> p0 = cpu.export_params();
    for (int step = 0; step < 3; ++step) {
        const Batch b = make_batch(c.d_in, c.classes, c.batch_tokens, 10 + step);
        cpu.load_batch(b.view());
        gpu->load_batch(b.view());
        cpu.sample_noise(c, rc);
        gpu->sample_noise(c, rg);
        const std::vector<float> before = cpu.export_params();
        QVERIFY(cpu.train_step(c));
        QVERIFY(gpu->train_step(c));
        compare_summaries(gpu->summary(), cpu.summary());
        if (QTest::currentTestFailed()) return;
        if (step == 0) {
            // the first step's drops prove capacity is exercised
            if (policy != "hash") QVERIFY(cpu.summary().layers[0].dropped > 0);
            const std::vector<float> gg = v.gradients(*gpu);
            const AlignedVector<float>& gc = cpu.model().grads;
            const std::vector<float> gcv(gc.begin(), gc.end());
            for (const TensorInfo& t : cpu.layout().tensors) {
                const double e = rel_error(gg, gcv, t.offset, t.offset + t.size(), 1e-12);
                QVERIFY2(e <= kGradTol,
                         qPrintable(
                             QString("gradient of %1: relative error %2").arg(QString::fromStdString(t.name)).arg(e)));
            }
        }
        // The update, not the weights: ‖Δp‖ relative to what the step moved.
        const std::vector<float> pc = cpu.export_params(), pg = gpu->export_params();
        std::vector<float> moved(pc.size());
        for (size_t i = 0; i < pc.size(); ++i) moved[i] = pc[i] - before[i];
        std::vector<float> diff(pc.size()), zero(pc.size(), 0.f);
        for (size_t i = 0; i < pc.size(); ++i) diff[i] = pg[i] - pc[i];
        const double e = rel_error(diff, zero, 0, long(diff.size())) / rel_error(moved, zero, 0, long(moved.size()));
        QVERIFY2(e <= kUpdateTol, qPrintable(QString("step %1: update error %2").arg(step).arg(e)));
        QCOMPARE(gpu->optimizer_steps(), cpu.optimizer_steps());
        // Later steps continue from the CPU's state, so each step is checked on its own.
        gpu->import_params(pc);
        gpu->import_optimizer(cpu.export_moment1(), cpu.export_moment2(), cpu.optimizer_steps());
    }
    const std::vector<float> bias_g = gpu->export_selection_bias(), bias_c = cpu.export_selection_bias();
    QCOMPARE(bias_g, bias_c);
    if (policy == "bias_balanced") QVERIFY(std::any_of(bias_c.begin(), bias_c.end(), [](float b) { return b != 0; }));
    QVERIFY(cpu.export_params() != p0);
}

void TestCudaEngine::evaluation_and_first_choices_match_the_cpu() {
    CUDA_TEST_VARIANT(v);
    EnginePair pair(v, row_config(), 5);
    const Config& c = pair.c;
    CpuEngine& cpu = pair.cpu;
    auto& gpu = pair.gpu;
    Rng &rc = pair.rc, &rg = pair.rg;
    const Batch b = make_batch(c.d_in, c.classes, 100, 99);  // another T than training
    const EvalCounts eg = gpu->evaluate(b.view(), c, rg), ec = cpu.evaluate(b.view(), c, rc);
    QCOMPARE(eg.correct, ec.correct);
    QVERIFY(std::abs(eg.ce_sum - ec.ce_sum) <= 1e-4 * std::abs(ec.ce_sum));
    for (const bool by_probability : {false, true}) {
        FirstChoices fc, fg;
        cpu.first_choices(Pass::Probe, b.view(), c, rc, by_probability, fc);
        gpu->first_choices(Pass::Probe, b.view(), c, rg, by_probability, fg);
        QCOMPARE(fg.expert, fc.expert);
        QCOMPARE(fg.prob.size(), fc.prob.size());
        for (size_t i = 0; i < fc.prob.size(); ++i) QVERIFY(std::abs(fg.prob[i] - fc.prob[i]) <= 1e-6);
    }
}

void TestCudaEngine::non_finite_step_changes_nothing_data() {
    add_variant_column();
    for (const char* v : variants()) QTest::newRow(v) << QString(v);
}

void TestCudaEngine::non_finite_step_changes_nothing() {
    CUDA_TEST_VARIANT(v);
    const Config c = parity_config("topk", 2);
    Rng rg(1);
    const auto gpu = v.make(c, c.d_in, c.classes, rg, false);
    std::vector<float> p = gpu->export_params();
    p[gpu->layout().tensors[gpu->layout().W_out].offset] = NAN;
    gpu->import_params(p);
    const Batch b = make_batch(c.d_in, c.classes, c.batch_tokens, 1);
    gpu->load_batch(b.view());
    gpu->sample_noise(c, rg);
    QVERIFY(!gpu->train_step(c));
    QVERIFY(!gpu->summary().finite);
    QVERIFY(std::isnan(gpu->summary().norms.total));
    QCOMPARE(gpu->optimizer_steps(), 0L);
    const std::vector<float> after = gpu->export_params();
    QCOMPARE(after.size(), p.size());
    QVERIFY(std::equal(after.begin(), after.end(), p.begin(),
                       [](float x, float y) { return x == y || (std::isnan(x) && std::isnan(y)); }));
    const std::vector<float> m = gpu->export_moment1();
    QVERIFY(std::all_of(m.begin(), m.end(), [](float x) { return x == 0.f; }));
}

void TestCudaEngine::counter_noise_is_reproducible_data() {
    add_variant_column();
    QTest::addColumn<QString>("policy");
    for (const char* v : variants())
        for (const char* p : {"noisy_topk", "random"})
            QTest::newRow(qPrintable(QString("%1 %2").arg(v, p))) << QString(v) << QString(p);
}

// Without host_noise the engine draws its own noise from a counter-based
// generator keyed by the run's Rng: the same seed gives the same run, another seed another.
void TestCudaEngine::counter_noise_is_reproducible() {
    CUDA_TEST_VARIANT(v);
    QFETCH(QString, policy);
    const Config c = parity_config(policy.toStdString(), 2);
    auto run = [&](uint64_t seed) {
        Rng rng(1);
        const auto e = v.make(c, c.d_in, c.classes, rng, false);
        rng.reseed(seed);
        for (int s = 0; s < 3; ++s) {
            const Batch b = make_batch(c.d_in, c.classes, c.batch_tokens, s);
            e->load_batch(b.view());
            e->sample_noise(c, rng);
            e->train_step(c);
        }
        return std::make_pair(e->export_params(), e->summary().layers[0].counts);
    };
    const auto a = run(11), b = run(11), other = run(12);
    QVERIFY(a.first == b.first);
    QVERIFY(a.second == b.second);
    QVERIFY(a.first != other.first);
}

void TestCudaEngine::refuses_expert_choice_with_one_line_data() { non_finite_step_changes_nothing_data(); }

void TestCudaEngine::refuses_expert_choice_with_one_line() {
    CUDA_TEST_VARIANT(v);
    Config c = parity_config("expert_choice", 2);
    const std::string why = v.refusal(c);
    QVERIFY2(why.find("expert_choice") != std::string::npos, why.c_str());
    QVERIFY(why.find('\n') == std::string::npos);
    Rng rng(1);
    try {
        v.make(c, c.d_in, c.classes, rng, false);
        QFAIL("expert_choice was not refused");
    } catch (const ConfigError& e) {
        QCOMPARE(std::string(e.what()), why);
    }
    for (const char* ok : {"topk", "noisy_topk", "bias_balanced", "hash", "random"}) {
        c.policy = ok;
        QCOMPARE(v.refusal(c), std::string());
    }
}

// The seam of core/engine/engine_factory: cuda and auto use a registered GPU
// engine, or say in one line why not.
void TestCudaEngine::factory_uses_a_registered_gpu_engine() {
    const Config c = parity_config("topk", 2);
    Rng rng(1);
    register_gpu_engine({});
    QVERIFY_THROWS_EXCEPTION(ConfigError, make_engine(c, Backend::Cuda, c.d_in, c.classes, rng));
    QCOMPARE(make_engine(c, Backend::Auto, c.d_in, c.classes, rng).reason,
             std::string("using the CPU: no CUDA engine in this build"));
    GpuEngineProvider p;
    p.name = "CUDA";
    std::string unavailable = "no CUDA device";
    p.unavailable = [&] { return unavailable; };
    p.device = [] { return std::string("the emulation"); };
    p.refusal = &cuda_emu::refusal;
    p.make = [](const Config& cfg, int d_in, int classes, Rng& r) {
        return cuda_emu::make_engine(cfg, d_in, classes, r);
    };
    register_gpu_engine(p);
    EngineChoice a = make_engine(c, Backend::Auto, c.d_in, c.classes, rng);
    QCOMPARE(a.engine->name(), std::string("cpu"));
    QCOMPARE(a.reason, std::string("using the CPU: no CUDA device"));
    try {
        make_engine(c, Backend::Cuda, c.d_in, c.classes, rng);
        QFAIL("--backend cuda without a device made an engine");
    } catch (const ConfigError& e) {
        QCOMPARE(std::string(e.what()), std::string("--backend cuda: no CUDA device (use --backend cpu or auto)"));
    }
    unavailable.clear();
    a = make_engine(c, Backend::Auto, c.d_in, c.classes, rng);
    QCOMPARE(a.engine->name(), std::string("cuda"));
    QCOMPARE(a.reason, std::string("using the CUDA engine on the emulation: a usable GPU was found"));
    QCOMPARE(make_engine(c, Backend::Cuda, c.d_in, c.classes, rng).engine->name(), std::string("cuda"));
    Config ec = parity_config("expert_choice", 2);
    a = make_engine(ec, Backend::Auto, ec.d_in, ec.classes, rng);
    QCOMPARE(a.engine->name(), std::string("cpu"));
    QVERIFY2(QString::fromStdString(a.reason).startsWith("using the CPU: the CUDA engine refuses policy expert_choice"),
             a.reason.c_str());
    QVERIFY_THROWS_EXCEPTION(ConfigError, make_engine(ec, Backend::Cuda, ec.d_in, ec.classes, rng));
    register_gpu_engine({});
}

QTEST_GUILESS_MAIN(TestCudaEngine)
#include "test_cuda_engine.moc"
