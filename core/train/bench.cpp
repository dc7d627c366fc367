#include "train/bench.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>

#include "nn/tensor.hpp"
#include "train/trainer.hpp"

namespace moescope {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n == 0 ? 0.0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

long tokens_per_expert(const Config& c) { return std::max(1L, long(c.batch_tokens) * c.top_k / c.experts); }

// The six expert GEMMs of one MoE layer (forward W1·U, W2·Act; backward dW2,
// dAct, dW1, dU) on buffers of their own, experts spread over the OpenMP
// threads as in the model. dY stands in for Y's gradient: same shapes, same work.
class ExpertSgemm {
public:
    explicit ExpertSgemm(const Config& c) : E_(c.experts) {
        const long d = c.d_model, f = c.d_ff, n = tokens_per_expert(c);
        flops_ = 12.0 * d * f * n * E_;
        for (int e = 0; e < E_; ++e) {
            W1_.push_back(M::Random(f, d));
            W2_.push_back(M::Random(d, f));
            U_.push_back(M::Random(d, n));
            dY_.push_back(M::Random(d, n));
            dW1_.push_back(M::Zero(f, d));
            dW2_.push_back(M::Zero(d, f));
            Act_.push_back(M(f, n));
            Y_.push_back(M(d, n));
            dAct_.push_back(M(f, n));
            dU_.push_back(M(d, n));
        }
    }
    // GFLOP/s of one pass over all experts.
    double gflops() {
        const auto t0 = Clock::now();
#pragma omp parallel for schedule(dynamic)
        for (int e = 0; e < E_; ++e) {
            Act_[e].noalias() = W1_[e] * U_[e];
            Y_[e].noalias() = W2_[e] * Act_[e];
            dW2_[e].noalias() += dY_[e] * Act_[e].transpose();
            dAct_[e].noalias() = W2_[e].transpose() * dY_[e];
            dW1_[e].noalias() += dAct_[e] * U_[e].transpose();
            dU_[e].noalias() = W1_[e].transpose() * dAct_[e];
        }
        return flops_ / ms_since(t0) * 1e-6;
    }

private:
    using M = Mat<float>;
    int E_;
    double flops_ = 0;
    std::vector<M> W1_, W2_, U_, dY_, dW1_, dW2_, Act_, Y_, dAct_, dU_;
};

// Timings of `steps` training steps after `warmup` untimed ones. With `sgemm`,
// each step is followed by its own sgemm measurement, so both see the same machine load.
struct StepTimes {
    std::vector<double> wall_ms, expert_ms, sgemm_gflops;
    StepTimer phases;  // summed over the timed steps
    size_t workspace_bytes = 0, parameter_bytes = 0;
};

double expert_ms(const StepTimer& t) { return t.ms(Phase::ExpertsFwd) + t.ms(Phase::ExpertsBwd); }

StepTimes time_steps(const Config& cfg, int warmup, int steps, ExpertSgemm* sgemm, int sgemm_repeats) {
    Trainer tr(cfg);
    for (int i = 0; i < warmup; ++i) tr.step();
    StepTimes st;
    tr.set_step_timer(&st.phases);
    for (int i = 0; i < steps; ++i) {
        const double experts_before = expert_ms(st.phases);
        const auto t0 = Clock::now();
        tr.step();
        st.wall_ms.push_back(ms_since(t0));
        st.expert_ms.push_back(expert_ms(st.phases) - experts_before);
        if (!sgemm) continue;
        double best = 0;
        for (int rep = 0; rep < std::max(1, sgemm_repeats); ++rep) best = std::max(best, sgemm->gflops());
        st.sgemm_gflops.push_back(best);
    }
    tr.set_step_timer(nullptr);
    st.workspace_bytes = tr.engine().workspace_bytes();
    // parameters, gradients, AdamW m and v
    st.parameter_bytes = size_t(tr.engine().layout().total) * sizeof(float) * 4;
    return st;
}

// ms per token·choice·d_ff: the unit in which cost should stay constant.
double unit_cost(const Config& c, double ms) { return ms / (double(c.batch_tokens) * c.top_k * c.d_ff); }

ScalingPoint scaling_point(const BenchOptions& opt, const std::string& axis, long value, double base_cost) {
    Config c = opt.config;
    if (axis == "tokens") c.batch_tokens = int(value);
    if (axis == "experts") c.experts = int(value);
    if (axis == "d_ff") c.d_ff = int(value);
    if (axis == "top_k") c.top_k = int(value);
    c.validate();
    const StepTimes st = time_steps(c, 1, opt.scaling_steps, nullptr, 0);
    ScalingPoint p;
    p.axis = axis;
    p.value = value;
    p.ms_per_step = median(st.wall_ms);
    p.tokens_per_s = c.batch_tokens * 1000.0 / p.ms_per_step;
    p.expert_gflops = expert_gemm_flops(c) / median(st.expert_ms) * 1e-6;
    p.relative_cost = unit_cost(c, p.ms_per_step) / base_cost;
    return p;
}

}  // namespace

Config bench_config() {
    Config c;
    c.name = "bench";
    c.description = "fixed training-speed benchmark";
    c.dataset = "clusters";
    c.d_in = 64;
    c.classes = 10;
    c.d_model = 256;
    c.d_ff = 1024;
    c.experts = 16;
    c.top_k = 2;
    c.policy = "topk";
    c.layers = 2;
    c.batch_tokens = 4096;
    c.optimizer = "adamw";
    c.capacity_factor = 0;
    c.aux_weight = 1e-2;
    // Held-out evaluation and churn probes are not part of a training step.
    c.eval_every = 0;
    c.probe_every = 0;
    return c;
}

double expert_gemm_flops(const Config& c) {
    return 12.0 * c.batch_tokens * c.top_k * c.layers * double(c.d_model) * c.d_ff;
}

double measure_sgemm_peak(const Config& c, int repeats) {
    ExpertSgemm sgemm(c);
    double best = 0;
    for (int rep = 0; rep < std::max(1, repeats); ++rep) best = std::max(best, sgemm.gflops());
    return best;
}

BenchResult run_bench(const BenchOptions& opt) {
    opt.config.validate();
    BenchResult r;
    r.config = opt.config;
    r.threads = omp_get_max_threads();
    r.steps = std::max(1, opt.steps);
    const double flops = expert_gemm_flops(opt.config), tokens = opt.config.batch_tokens;
    ExpertSgemm sgemm(opt.config);
    for (int i = 0; i < opt.warmup_steps; ++i) sgemm.gflops();
    const StepTimes st = time_steps(opt.config, opt.warmup_steps, r.steps, &sgemm, opt.sgemm_repeats);
    r.ms_per_step = median(st.wall_ms);
    for (double ms : st.wall_ms) r.mean_ms_per_step += ms / r.steps;
    r.tokens_per_s = tokens * 1000.0 / r.ms_per_step;
    for (int p = 0; p < kPhases; ++p) r.phase_ms[p] = st.phases.ms(p) / r.steps;
    r.expert_flops_per_step = flops;
    r.sgemm_gflops = median(st.sgemm_gflops);
    // Each step is paired with the sgemm pass right after it and the median ratio
    // reported, so a neighbour's load that comes and goes does not skew the ratio.
    std::vector<double> expert_gflops, gemm_eff, step_eff;
    for (int i = 0; i < r.steps; ++i) {
        expert_gflops.push_back(flops / st.expert_ms[i] * 1e-6);
        gemm_eff.push_back(expert_gflops.back() / st.sgemm_gflops[i]);
        // roofline step time = expert FLOPs ÷ sgemm speed
        step_eff.push_back(flops / (st.sgemm_gflops[i] * 1e6) / st.wall_ms[i]);
    }
    r.expert_gflops = median(expert_gflops);
    r.gemm_efficiency = median(gemm_eff);
    r.roofline_tokens_per_s = r.sgemm_gflops * 1e9 / (flops / tokens);
    r.step_efficiency = median(step_eff);
    r.workspace_bytes = st.workspace_bytes;
    r.parameter_bytes = st.parameter_bytes;
    if (opt.scaling) {
        const double base_cost = unit_cost(opt.config, r.ms_per_step);
        for (long t : {1024, 2048, 4096, 8192, 16384}) r.scaling.push_back(scaling_point(opt, "tokens", t, base_cost));
        for (long e : {8, 16, 32, 64}) r.scaling.push_back(scaling_point(opt, "experts", e, base_cost));
        for (long f : {512, 1024, 2048}) r.scaling.push_back(scaling_point(opt, "d_ff", f, base_cost));
        for (long k : {1, 2, 3, 4}) r.scaling.push_back(scaling_point(opt, "top_k", k, base_cost));
    }
    return r;
}

}  // namespace moescope
