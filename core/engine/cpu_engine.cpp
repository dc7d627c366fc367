#include "engine/cpu_engine.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "error.hpp"
#include "monitor/metrics.hpp"
#include "nn/gemm.hpp"
#include "nn/threads.hpp"

namespace moescope {

namespace {

// Expert-GEMM FLOPs of one training step: forward 2 products, backward 4, of
// 2·d_model·d_ff each per routed token.
double step_flops(const Config& c) {
    return 12.0 * double(c.batch_tokens) * c.top_k * c.layers * double(c.d_model) * c.d_ff;
}

void require_size(size_t got, size_t want, const std::string& what) {
    if (got != want)
        throw DataError(what + " has " + std::to_string(got) + " values, the model needs " + std::to_string(want));
}

}  // namespace

CpuEngine::CpuEngine(const Config& cfg, int d_in, int classes, Rng& rng)
    : model_(cfg, d_in, classes, rng), optimizer_(model_.layout()) {
    gemm::check_choice();
    threads_for_step();
    ws_.resize(cfg.batch_tokens, d_in, cfg, classes);
}

void CpuEngine::threads_for_step() const { threads::use_for_step(step_flops(model_.structure())); }

void CpuEngine::load(Workspace<float>& ws, const HostBatch& b, const Config& knobs) {
    if (ws.T != b.T) ws.resize(b.T, model_.d_in(), knobs, model_.classes());
    ws.x = CMatMap<float>(b.x, model_.d_in(), b.T);
    std::copy(b.labels, b.labels + b.T, ws.labels.begin());
    std::copy(b.ids, b.ids + b.T, ws.ids.begin());
}

void CpuEngine::load_batch(const HostBatch& batch) {
    MS_ASSERT(batch.T == ws_.T, "a training batch must have batch_tokens tokens");
    load(ws_, batch, model_.structure());
}

void CpuEngine::sample_noise(const Config& knobs, Rng& rng) { model_.sample_noise(ws_, knobs, rng, true); }

void CpuEngine::set_step_timer(StepTimer* timer) {
    timer_ = timer;
    ws_.timer = timer;
}

bool CpuEngine::train_step(const Config& knobs) {
    threads_for_step();  // the calling thread's team: a window may move training to another thread
    model_.forward(ws_, knobs, true);
    model_.backward(ws_, knobs);
    // Norms are measured before clipping; the clip is folded into the update.
    GradNorms norms = optimizer_.norms(model_.grads);
    bool finite = std::isfinite(ws_.loss) && std::isfinite(norms.total);
    // The optimizer checks the updated weights too and takes no step that would leave one non-finite.
    if (finite) finite = optimizer_.step(model_.params, model_.grads, knobs, &norms);
    if (finite && uses_selection_bias(model_.policy())) model_.update_selection_bias(ws_, knobs.bias_update_rate);
    if (!finite) norms.total = norms.router = norms.experts = kNaN;
    lap(timer_, Phase::Optimizer);
    summarize(norms, finite);
    lap(timer_, Phase::Metrics);
    return finite;
}

void CpuEngine::summarize(const GradNorms& norms, bool finite) {
    const Config& cfg = model_.structure();
    const ParamLayout& layout = model_.layout();
    const long T = ws_.T;
    const int E = cfg.experts, C = model_.classes();
    StepSummary& s = summary_;
    s.tokens = T;
    s.loss = ws_.loss;
    s.ce = ws_.ce;
    s.correct = ws_.correct;
    s.finite = finite;
    s.norms = norms;
    s.layers.resize(cfg.layers);
    // Per-layer gradient norms from the optimizer's per-tensor sums (before clipping).
    const std::vector<double>& sq = optimizer_.tensor_sq();
    auto tensor_sq = [&](int t) { return t < 0 ? 0.0 : sq[t]; };
    for (int l = 0; l < cfg.layers; ++l) {
        const LayerCache<float>& c = ws_.layers[l];
        const Routing& r = c.routing;
        const auto& pl = layout.layers[l];
        LayerSummary& ls = s.layers[l];
        ls.counts = r.counts;
        ls.router_entropy = router_entropy(c.p.data(), E, T);
        ls.mean_prob.resize(E);
        for (int e = 0; e < E; ++e) ls.mean_prob[e] = c.p.row(e).mean();
        // Expert choice has no dropped assignments, only tokens no expert took.
        ls.dropped = r.expert_choice ? double(r.dropped) / double(T) : double(r.dropped) / (double(T) * cfg.top_k);
        ls.mean_abs_logit = c.z.cwiseAbs().mean();
        ls.max_abs_logit = c.z.cwiseAbs().maxCoeff();
        ls.balance = c.balance;
        ls.zloss = c.zloss;
        ls.cv2 = c.cv2;
        ls.entropy = c.entropy;
        ls.router_grad_norm = std::sqrt(tensor_sq(pl.router_W) + tensor_sq(pl.noise_W));
        ls.expert_grad_norm = std::sqrt(tensor_sq(pl.W1) + tensor_sq(pl.b1) + tensor_sq(pl.W2) + tensor_sq(pl.b2));
        ls.class_expert.assign(static_cast<size_t>(C) * E, 0);
        for (long t = 0; t < T; ++t) ++ls.class_expert[static_cast<size_t>(ws_.labels[t]) * E + r.top1[t]];
    }
}

void CpuEngine::eval_forward(const HostBatch& batch, const Config& knobs, Rng& rng) {
    load(eval_ws_, batch, knobs);
    model_.sample_noise(eval_ws_, knobs, rng, false);
    model_.forward(eval_ws_, knobs, false);
}

EvalCounts CpuEngine::evaluate(const HostBatch& batch, const Config& knobs, Rng& rng) {
    eval_forward(batch, knobs, rng);
    return {eval_ws_.correct, double(eval_ws_.ce) * double(batch.T)};
}

void CpuEngine::predictions(const HostBatch& batch, const Config& knobs, Rng& rng, std::vector<float>& probs) {
    eval_forward(batch, knobs, rng);
    probs.assign(eval_ws_.probs.data(), eval_ws_.probs.data() + eval_ws_.probs.size());
}

void CpuEngine::first_choices(Pass pass, const HostBatch& batch, const Config& knobs, Rng& rng, bool by_probability,
                              FirstChoices& out) {
    Workspace<float>& ws = workspace(pass);
    // Sized for these knobs each time (capacity may have changed); same sizes allocate nothing.
    ws.resize(batch.T, model_.d_in(), knobs, model_.classes());
    load(ws, batch, knobs);
    model_.sample_noise(ws, knobs, rng, false);
    model_.forward(ws, knobs, false);
    const long T = batch.T;
    const int L = model_.structure().layers;
    out.expert.resize(static_cast<size_t>(L) * T);
    out.prob.resize(out.expert.size());
    for (int l = 0; l < L; ++l) {
        const LayerCache<float>& c = ws.layers[l];
        for (long t = 0; t < T; ++t) {
            Eigen::Index e = c.routing.top1[t];
            if (by_probability) c.p.col(t).maxCoeff(&e);
            out.expert[size_t(l) * T + t] = static_cast<int32_t>(e);
            out.prob[size_t(l) * T + t] = c.p(e, t);
        }
    }
    // Token choice: each token's k assignments (a = t·k + rank) with their gates, largest first.
    const Routing& r0 = ws.layers.front().routing;
    if (r0.expert_choice || r0.k < 1) {
        out.k = 0;
        out.topk_expert.clear();
        out.topk_gate.clear();
        return;
    }
    const int k = out.k = r0.k;
    out.topk_expert.resize(static_cast<size_t>(L) * T * k);
    out.topk_gate.resize(out.topk_expert.size());
    std::vector<std::pair<float, int32_t>> chosen(static_cast<size_t>(k));
    for (int l = 0; l < L; ++l) {
        const LayerCache<float>& c = ws.layers[l];
        for (long t = 0; t < T; ++t) {
            for (int j = 0; j < k; ++j) {
                const size_t a = static_cast<size_t>(t * k + j);
                chosen[size_t(j)] = {c.gate[a], c.routing.assign_expert[a]};
            }
            std::stable_sort(chosen.begin(), chosen.end(),
                             [](const auto& x, const auto& y) { return x.first > y.first; });
            const size_t at = (size_t(l) * T + t) * k;
            for (int j = 0; j < k; ++j) {
                out.topk_gate[at + j] = chosen[size_t(j)].first;
                out.topk_expert[at + j] = chosen[size_t(j)].second;
            }
        }
    }
}

Workspace<float>& CpuEngine::workspace(Pass pass) {
    return pass == Pass::Eval ? eval_ws_ : pass == Pass::Probe ? probe_ws_ : region_ws_;
}
const Workspace<float>& CpuEngine::pass_workspace(Pass pass) const {
    return pass == Pass::Eval ? eval_ws_ : pass == Pass::Probe ? probe_ws_ : region_ws_;
}

std::vector<float> CpuEngine::export_params() const { return {model_.params.begin(), model_.params.end()}; }

void CpuEngine::import_params(const std::vector<float>& params) {
    require_size(params.size(), model_.params.size(), "the parameter vector");
    std::copy(params.begin(), params.end(), model_.params.begin());
    optimizer_.params_changed();
}

void CpuEngine::import_optimizer(const std::vector<float>& m1, const std::vector<float>& m2, long steps) {
    require_size(m1.size(), model_.params.size(), "the first moment");
    require_size(m2.size(), model_.params.size(), "the second moment");
    optimizer_.set_state(m1, m2, steps);
}

void CpuEngine::import_selection_bias(const std::vector<float>& bias) {
    require_size(bias.size(), model_.selection_bias.size(), "the selection bias");
    model_.selection_bias = bias;
}

}  // namespace moescope
