// The benchmark engine on a tiny config: its result is well formed (phases add
// up to the step, FLOP formula, finite positive ratios, every sgemm library
// measured for the roofline, a full scaling table),
// and the steady-state forward/backward/update allocates nothing. Never asserts timings.
#include <QtTest>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>

#include "data/dataset.hpp"
#include "nn/gemm.hpp"
#include "nn/model.hpp"
#include "nn/optimizer.hpp"
#include "train/bench.hpp"
#include "train/trainer.hpp"

using namespace moescope;

namespace {

// Counts heap allocations while `counting` is set (every operator new in the process).
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};

Config tiny_config() {
    Config c = bench_config();
    c.d_in = 8;
    c.d_model = 16;
    c.d_ff = 32;
    c.experts = 4;
    c.batch_tokens = 128;
    c.train_samples = 1000;
    c.test_samples = 100;
    return c;
}

bool finite_positive(double v) { return std::isfinite(v) && v > 0; }

}  // namespace

void* operator new(std::size_t n) {
    if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

class TestBench : public QObject {
    Q_OBJECT

private slots:
    void bench_config_is_the_documented_one();
    void result_is_well_formed();
    void steady_state_step_allocates_nothing();
    void every_sgemm_library_is_measured();
};

void TestBench::bench_config_is_the_documented_one() {
    const Config c = bench_config();
    QCOMPARE(c.dataset, std::string("clusters"));
    QCOMPARE(c.d_in, 64);
    QCOMPARE(c.d_model, 256);
    QCOMPARE(c.d_ff, 1024);
    QCOMPARE(c.experts, 16);
    QCOMPARE(c.top_k, 2);
    QCOMPARE(c.layers, 2);
    QCOMPARE(c.batch_tokens, 4096);
    QCOMPARE(c.capacity_factor, 0.0);
    // 12·T·k·L·d_model·d_ff
    QCOMPARE(expert_gemm_flops(c), 12.0 * 4096 * 2 * 2 * 256 * 1024);
}

void TestBench::result_is_well_formed() {
    BenchOptions opt;
    opt.config = tiny_config();
    opt.warmup_steps = 2;
    opt.steps = 5;
    opt.scaling_steps = 1;
    const BenchResult r = run_bench(opt);

    QCOMPARE(r.steps, 5);
    QVERIFY(finite_positive(r.ms_per_step));
    QVERIFY(finite_positive(r.tokens_per_s));
    double sum = 0;
    for (double ms : r.phase_ms) {
        QVERIFY(std::isfinite(ms) && ms >= 0);
        sum += ms;
    }
    // The phases cover the whole step.
    QVERIFY2(std::abs(sum - r.mean_ms_per_step) <= 0.15 * r.mean_ms_per_step,
             qPrintable(QString("phases %1 ms vs step %2 ms").arg(sum).arg(r.mean_ms_per_step)));
    QVERIFY(r.phase_ms[int(Phase::ExpertsFwd)] > 0 && r.phase_ms[int(Phase::ExpertsBwd)] > 0);

    QCOMPARE(r.expert_flops_per_step, expert_gemm_flops(opt.config));
    for (double v : {r.expert_gflops, r.sgemm_gflops, r.model_sgemm_gflops, r.gemm_efficiency, r.roofline_tokens_per_s,
                     r.step_efficiency})
        QVERIFY(finite_positive(v));
    // Every linked sgemm library is measured, the model's first; the fastest is named,
    // and the roofline (the fastest in each step's pass) is at least each library's median.
    const auto libs = gemm::candidates();
    QCOMPARE(r.sgemm_candidates.size(), libs.size());
    QVERIFY(r.sgemm_candidates.front().used_by_model);
    for (size_t i = 0; i < libs.size(); ++i) {
        QCOMPARE(r.sgemm_candidates[i].name, libs[i].name);
        QCOMPARE(r.sgemm_candidates[i].kernel, libs[i].kernel);
        QVERIFY(finite_positive(r.sgemm_candidates[i].gflops));
        QVERIFY(r.sgemm_candidates[size_t(r.best_candidate)].gflops >= r.sgemm_candidates[i].gflops);
        QVERIFY(r.sgemm_gflops >= r.sgemm_candidates[i].gflops * (1 - 1e-12));
    }
    QCOMPARE(r.model_sgemm_gflops, r.sgemm_candidates.front().gflops);
    // roofline tokens/s = sgemm FLOP/s ÷ the step's GEMM FLOPs per token (the experts' plus routers and head)
    QCOMPARE(r.model_flops_per_step, model_gemm_flops(opt.config, r.classes));
    QVERIFY(r.model_flops_per_step > r.expert_flops_per_step);
    QVERIFY(std::abs(r.roofline_tokens_per_s - r.sgemm_gflops * 1e9 * opt.config.batch_tokens /
                                                   r.model_flops_per_step) <= 1e-9 * r.roofline_tokens_per_s);
    // The expert phases attributed: every row measured, the step's own loads at least the even ones' work.
    const ExpertAttribution& a = r.attribution;
    for (double ms : {a.phase_ms, a.even_gemm_ms, a.step_loads_gemm_ms, a.model_ops_ms}) QVERIFY(finite_positive(ms));
    QVERIFY(a.max_tokens_per_expert >= long(opt.config.batch_tokens) * opt.config.top_k / opt.config.experts);
    QVERIFY(r.workspace_bytes > 0);
    QCOMPARE(r.parameter_bytes, size_t(Trainer(opt.config).engine().layout().total * sizeof(float) * 4));

    QCOMPARE(r.scaling.size(), size_t(5 + 4 + 3 + 4));
    int tokens = 0, experts = 0, d_ff = 0, top_k = 0;
    for (const auto& p : r.scaling) {
        tokens += p.axis == "tokens";
        experts += p.axis == "experts";
        d_ff += p.axis == "d_ff";
        top_k += p.axis == "top_k";
        QVERIFY(finite_positive(p.ms_per_step) && finite_positive(p.tokens_per_s));
        QVERIFY(finite_positive(p.expert_gflops) && finite_positive(p.relative_cost));
    }
    QCOMPARE(tokens, 5);
    QCOMPARE(experts, 4);
    QCOMPARE(d_ff, 3);
    QCOMPARE(top_k, 4);
}

// Forward, backward and the optimizer update: the work of a training step,
// which must run on buffers sized once. (Per-step metrics and the monitor are
// small value types built afresh and are not part of this contract.)
void TestBench::steady_state_step_allocates_nothing() {
    const Config cfg = tiny_config();
    const Dataset data = make_dataset(cfg);
    Rng rng(1);
    Model<float> model(cfg, data.d_in, data.num_classes, rng);
    Optimizer opt(model.layout());
    Workspace<float> ws;
    ws.resize(cfg.batch_tokens, data.d_in, cfg, data.num_classes);
    StepTimer timer;
    ws.timer = &timer;
    std::vector<int32_t> batch;
    auto step = [&] {
        sample_batch(data, cfg.batch_tokens, rng, batch);
        for (long t = 0; t < ws.T; ++t) {
            ws.x.col(t) = data.x_train.col(batch[t]);
            ws.labels[t] = data.y_train[batch[t]];
            ws.ids[t] = batch[t];
        }
        timer.start();
        model.sample_noise(ws, cfg, rng, true);
        model.forward(ws, cfg, true);
        model.backward(ws, cfg);
        const GradNorms norms = opt.norms(model.grads);
        opt.step(model.params, model.grads, cfg, &norms);
    };
    for (int i = 0; i < 3; ++i) step();
    const int steps = 5;
    allocations = 0;
    counting = true;
    for (int i = 0; i < steps; ++i) step();
    counting = false;
    QVERIFY2(allocations == 0, qPrintable(QString("%1 allocations in %2 steps").arg(allocations.load()).arg(steps)));
    QVERIFY(std::isfinite(ws.loss));
}

void TestBench::every_sgemm_library_is_measured() {
    const auto libs = gemm::candidates();
    const auto measured = measure_sgemm_candidates(tiny_config(), 1);
    QCOMPARE(measured.size(), libs.size());
    for (size_t i = 0; i < libs.size(); ++i) {
        QCOMPARE(measured[i].name, libs[i].name);
        QCOMPARE(measured[i].used_by_model, libs[i].used_by_model);
        QVERIFY(finite_positive(measured[i].gflops));
    }
}

QTEST_APPLESS_MAIN(TestBench)
#include "test_bench.moc"
