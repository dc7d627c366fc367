#include "train/bench.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>

#include "nn/gemm.hpp"
#include "nn/ops.hpp"
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
// threads as in the model, through one sgemm library. dY stands in for Y's
// gradient: same shapes, same work.
class ExpertSgemm {
public:
    explicit ExpertSgemm(const Config& c) : E_(c.experts), d_(c.d_model), f_(c.d_ff), n_(tokens_per_expert(c)) {
        flops_ = 12.0 * d_ * f_ * n_ * E_;
        for (int e = 0; e < E_; ++e) {
            W1_.push_back(M::Random(f_, d_));
            W2_.push_back(M::Random(d_, f_));
            U_.push_back(M::Random(d_, n_));
            dY_.push_back(M::Random(d_, n_));
            dW1_.push_back(M::Zero(f_, d_));
            dW2_.push_back(M::Zero(d_, f_));
            Act_.push_back(M(f_, n_));
            Y_.push_back(M(d_, n_));
            dAct_.push_back(M(f_, n_));
            dU_.push_back(M(d_, n_));
        }
    }
    // GFLOP/s of one pass over all experts.
    double gflops(gemm::SgemmFn sgemm) {
        const long d = d_, f = f_, n = n_;
        const auto t0 = Clock::now();
#pragma omp parallel for schedule(dynamic)
        for (int e = 0; e < E_; ++e) {
            // Act = W1·U;  Y = W2·Act;  dW2 += dY·Actᵀ;  dAct = W2ᵀ·dY;  dW1 += dAct·Uᵀ;  dU = W1ᵀ·dAct
            sgemm(false, false, f, n, d, W1_[e].data(), f, U_[e].data(), d, Act_[e].data(), f, false);
            sgemm(false, false, d, n, f, W2_[e].data(), d, Act_[e].data(), f, Y_[e].data(), d, false);
            sgemm(false, true, d, f, n, dY_[e].data(), d, Act_[e].data(), f, dW2_[e].data(), d, true);
            sgemm(true, false, f, n, d, W2_[e].data(), d, dY_[e].data(), d, dAct_[e].data(), f, false);
            sgemm(false, true, f, d, n, dAct_[e].data(), f, U_[e].data(), d, dW1_[e].data(), f, true);
            sgemm(true, false, d, n, f, W1_[e].data(), f, dAct_[e].data(), f, dU_[e].data(), d, false);
        }
        return flops_ / ms_since(t0) * 1e-6;
    }
    double best_of(gemm::SgemmFn sgemm, int repeats) {
        double best = 0;
        for (int rep = 0; rep < std::max(1, repeats); ++rep) best = std::max(best, gflops(sgemm));
        return best;
    }

private:
    using M = Mat<float>;
    int E_;
    long d_, f_, n_;
    double flops_ = 0;
    std::vector<M> W1_, W2_, U_, dY_, dW1_, dW2_, Act_, Y_, dAct_, dU_;
};

// One layer's expert phases rebuilt outside the model, for attributing their
// time: per-expert token counts n_e, each kind of activation one matrix with the
// experts' columns side by side and the weights side by side, as in the
// Workspace and the parameter buffer; experts spread over the OpenMP threads
// as in the model.
class ExpertLayerReplay {
public:
    ExpertLayerReplay(const Config& c, const std::vector<long>& n) : E_(c.experts), d_(c.d_model), f_(c.d_ff), n_(n) {
        off_.assign(size_t(E_) + 1, 0);
        for (int e = 0; e < E_; ++e) off_[size_t(e) + 1] = off_[size_t(e)] + n_[size_t(e)];
        const long S = std::max(1L, off_.back());
        W1_ = M::Random(f_, E_ * d_);
        W2_ = M::Random(d_, E_ * f_);
        dW1_ = M::Zero(f_, E_ * d_);
        dW2_ = M::Zero(d_, E_ * f_);
        b1_ = M::Zero(f_, E_);
        b2_ = M::Zero(d_, E_);
        db1_ = M::Zero(f_, E_);
        db2_ = M::Zero(d_, E_);
        U_ = M::Random(d_, S);
        dY_ = M::Random(d_, S) * 1e-3f;
        H_ = Act_ = dAct_ = M::Zero(f_, S);
        Y_ = dU_ = M::Zero(d_, S);
    }
    // ms of the six GEMMs alone, through `sgemm`.
    double gemm_ms(gemm::SgemmFn sgemm) {
        const long d = d_, f = f_;
        const auto t0 = Clock::now();
        each_expert([&](int e, long o, long n) {
            const float *W1 = W1_.data() + e * d * f, *W2 = W2_.data() + e * f * d;
            float *dW1 = dW1_.data() + e * d * f, *dW2 = dW2_.data() + e * f * d;
            sgemm(false, false, f, n, d, W1, f, U_.data() + o * d, d, Act_.data() + o * f, f, false);
            sgemm(false, false, d, n, f, W2, d, Act_.data() + o * f, f, Y_.data() + o * d, d, false);
            sgemm(false, true, d, f, n, dY_.data() + o * d, d, Act_.data() + o * f, f, dW2, d, true);
            sgemm(true, false, f, n, d, W2, d, dY_.data() + o * d, d, dAct_.data() + o * f, f, false);
            sgemm(false, true, f, d, n, dAct_.data() + o * f, f, U_.data() + o * d, d, dW1, f, true);
            sgemm(true, false, d, n, f, W1, f, dAct_.data() + o * f, f, dU_.data() + o * d, d, false);
        });
        return ms_since(t0);
    }
    // ms of the model's own expert code (core/nn/model.cpp's two loops): the
    // same GEMMs through the model's sgemm, plus bias, GELU and its gradient.
    double model_ops_ms() {
        const long d = d_, f = f_;
        const auto t0 = Clock::now();
        each_expert([&](int e, long o, long n) {
            ops::linear_gelu_forward<float>(H_.middleCols(o, n), Act_.middleCols(o, n), W1_.middleCols(e * d, d),
                                            b1_.col(e), U_.middleCols(o, n));
            ops::linear_forward<float>(Y_.middleCols(o, n), W2_.middleCols(e * f, f), b2_.col(e),
                                       Act_.middleCols(o, n));
        });
        each_expert([&](int e, long o, long n) {
            ops::linear_backward<float>(dAct_.middleCols(o, n), dW2_.middleCols(e * f, f), db2_.col(e),
                                        dY_.middleCols(o, n), W2_.middleCols(e * f, f), Act_.middleCols(o, n));
            dAct_.middleCols(o, n).array() *= H_.middleCols(o, n).array();
            ops::linear_backward<float>(dU_.middleCols(o, n), dW1_.middleCols(e * d, d), db1_.col(e),
                                        dAct_.middleCols(o, n), W1_.middleCols(e * d, d), U_.middleCols(o, n));
        });
        return ms_since(t0);
    }

private:
    // body(e, first column, tokens) for every expert with tokens, spread over
    // the OpenMP threads as in the model (one expert per thread, dynamic).
    template <class Body>
    void each_expert(Body body) {
#pragma omp parallel for schedule(dynamic)
        for (int e = 0; e < E_; ++e)
            if (const long n = n_[size_t(e)]; n > 0) body(e, off_[size_t(e)], n);
    }

    using M = Mat<float>;
    int E_;
    long d_, f_;
    std::vector<long> n_, off_;
    M W1_, W2_, dW1_, dW2_, b1_, b2_, db1_, db2_, U_, dY_, H_, Act_, dAct_, Y_, dU_;
};

// Best of `repeats` passes of `pass` over every layer's replay, summed over the layers.
template <class Pass>
double best_layers_ms(std::vector<ExpertLayerReplay>& layers, int repeats, Pass pass) {
    double sum = 0;
    for (auto& layer : layers) {
        double best = 1e300;
        for (int rep = 0; rep < std::max(1, repeats); ++rep) best = std::min(best, pass(layer));
        sum += best;
    }
    return sum;
}

ExpertAttribution attribute_experts(const Config& c, const std::vector<std::vector<long>>& step_counts, double phase_ms,
                                    int repeats) {
    const gemm::SgemmFn model_sgemm = gemm::candidates().front().fn;
    std::vector<ExpertLayerReplay> even, step;
    for (const auto& counts : step_counts) {
        even.emplace_back(c, std::vector<long>(size_t(c.experts), tokens_per_expert(c)));
        step.emplace_back(c, counts);
    }
    auto gemm_only = [&](ExpertLayerReplay& l) { return l.gemm_ms(model_sgemm); };
    auto model_ops = [](ExpertLayerReplay& l) { return l.model_ops_ms(); };
    // one untimed pass each: first-use JIT, per-shape tuning, page faults
    best_layers_ms(even, 1, gemm_only);
    best_layers_ms(step, 1, model_ops);
    ExpertAttribution a;
    a.phase_ms = phase_ms;
    a.even_gemm_ms = best_layers_ms(even, repeats, gemm_only);
    a.step_loads_gemm_ms = best_layers_ms(step, repeats, gemm_only);
    a.model_ops_ms = best_layers_ms(step, repeats, model_ops);
    for (const auto& counts : step_counts)
        for (long n : counts) a.max_tokens_per_expert = std::max(a.max_tokens_per_expert, n);
    return a;
}

// Timings of `steps` training steps after `warmup` untimed ones. With `sgemm`,
// each step is followed by a measurement of every sgemm library, so both see
// the same machine load.
struct StepTimes {
    std::vector<double> wall_ms, expert_ms;
    std::vector<std::vector<double>> sgemm_gflops;  // [library][step]
    StepTimer phases;                               // summed over the timed steps
    size_t workspace_bytes = 0, parameter_bytes = 0;
    int classes = 0;
    std::vector<std::vector<long>> last_counts;  // per layer, per expert: the last step's token counts
};

double expert_ms(const StepTimer& t) { return t.ms(Phase::ExpertsFwd) + t.ms(Phase::ExpertsBwd); }

StepTimes time_steps(const Config& cfg, int warmup, int steps, ExpertSgemm* sgemm,
                     const std::vector<gemm::Candidate>& libs, int sgemm_repeats) {
    Trainer tr(cfg);
    for (int i = 0; i < warmup; ++i) tr.step();
    StepTimes st;
    st.sgemm_gflops.resize(libs.size());
    tr.set_step_timer(&st.phases);
    for (int i = 0; i < steps; ++i) {
        const double experts_before = expert_ms(st.phases);
        const auto t0 = Clock::now();
        tr.step();
        st.wall_ms.push_back(ms_since(t0));
        st.expert_ms.push_back(expert_ms(st.phases) - experts_before);
        if (!sgemm) continue;
        for (size_t l = 0; l < libs.size(); ++l)
            st.sgemm_gflops[l].push_back(sgemm->best_of(libs[l].fn, sgemm_repeats));
    }
    tr.set_step_timer(nullptr);
    for (const auto& layer : tr.engine().summary().layers)
        st.last_counts.emplace_back(layer.counts.begin(), layer.counts.end());
    st.classes = tr.engine().classes();
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
    const StepTimes st = time_steps(c, 1, opt.scaling_steps, nullptr, {}, 0);
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

Config lm_bench_config() {
    Config c = load_preset("lm");
    c.name = "bench-lm";
    c.description = "training speed of the MoE language model (the lm preset)";
    c.eval_every = 0;
    c.probe_every = 0;
    return c;
}

double expert_gemm_flops(const Config& c) {
    return 12.0 * c.batch_tokens * c.top_k * c.layers * double(c.d_model) * c.d_ff;
}

double model_gemm_flops(const Config& c, int classes) {
    const double T = c.batch_tokens, d = c.d_model;
    double forward_per_token = 2.0 * c.layers * c.experts * d + 2.0 * classes * d;  // routers, head
    if (c.is_lm()) forward_per_token += c.layers * (8.0 * d * d + 4.0 * c.context * d);
    return expert_gemm_flops(c) + 3.0 * T * forward_per_token;
}

std::vector<SgemmCandidate> measure_sgemm_candidates(const Config& c, int repeats) {
    ExpertSgemm sgemm(c);
    std::vector<SgemmCandidate> out;
    for (const auto& lib : gemm::candidates()) {
        sgemm.gflops(lib.fn);  // warm-up: first-call JIT and packing buffers
        out.push_back({lib.name, lib.kernel, sgemm.best_of(lib.fn, repeats), lib.used_by_model});
    }
    return out;
}

BenchResult run_bench(const BenchOptions& opt) {
    opt.config.validate();
    BenchResult r;
    r.config = opt.config;
    r.threads = omp_get_max_threads();
    r.steps = std::max(1, opt.steps);
    const double flops = expert_gemm_flops(opt.config), tokens = opt.config.batch_tokens;
    // the step's roofline: all of its GEMM work at the roofline sgemm's speed
    // Every sgemm library is measured after each step; a step's roofline is the
    // fastest of them in that pass, and each library's figure is its median.
    ExpertSgemm sgemm(opt.config);
    const std::vector<gemm::Candidate> libs = gemm::candidates();
    for (int i = 0; i < opt.warmup_steps; ++i)
        for (const auto& lib : libs) sgemm.gflops(lib.fn);
    const StepTimes st = time_steps(opt.config, opt.warmup_steps, r.steps, &sgemm, libs, opt.sgemm_repeats);
    std::vector<double> step_sgemm(size_t(r.steps), 0.0);
    for (size_t l = 0; l < libs.size(); ++l) {
        r.sgemm_candidates.push_back({libs[l].name, libs[l].kernel, median(st.sgemm_gflops[l]), libs[l].used_by_model});
        for (int i = 0; i < r.steps; ++i)
            step_sgemm[size_t(i)] = std::max(step_sgemm[size_t(i)], st.sgemm_gflops[l][size_t(i)]);
        if (r.sgemm_candidates.back().gflops > r.sgemm_candidates[size_t(r.best_candidate)].gflops)
            r.best_candidate = int(l);
    }
    r.ms_per_step = median(st.wall_ms);
    for (double ms : st.wall_ms) r.mean_ms_per_step += ms / r.steps;
    r.tokens_per_s = tokens * 1000.0 / r.ms_per_step;
    for (int p = 0; p < kPhases; ++p) r.phase_ms[p] = st.phases.ms(p) / r.steps;
    r.expert_flops_per_step = flops;
    r.classes = st.classes;
    r.model_flops_per_step = model_gemm_flops(opt.config, st.classes);
    r.sgemm_gflops = median(step_sgemm);
    r.model_sgemm_gflops = r.sgemm_candidates.front().gflops;
    // Each step is paired with the sgemm pass right after it and the median ratio
    // reported, so a neighbour's load that comes and goes does not skew the ratio.
    std::vector<double> expert_gflops, gemm_eff, step_eff;
    for (int i = 0; i < r.steps; ++i) {
        expert_gflops.push_back(flops / st.expert_ms[i] * 1e-6);
        gemm_eff.push_back(expert_gflops.back() / step_sgemm[size_t(i)]);
        // roofline step time = the step's GEMM FLOPs ÷ sgemm speed
        step_eff.push_back(r.model_flops_per_step / (step_sgemm[size_t(i)] * 1e6) / st.wall_ms[i]);
    }
    r.expert_gflops = median(expert_gflops);
    r.gemm_efficiency = median(gemm_eff);
    r.roofline_tokens_per_s = r.sgemm_gflops * 1e9 / (r.model_flops_per_step / tokens);
    r.step_efficiency = median(step_eff);
    r.workspace_bytes = st.workspace_bytes;
    r.parameter_bytes = st.parameter_bytes;
    r.attribution = attribute_experts(opt.config, st.last_counts, median(st.expert_ms), opt.sgemm_repeats + 1);
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
