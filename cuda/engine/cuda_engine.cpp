// CudaEngine's life cycle, state, batches, noise and summary; the step's math
// is in engine_forward.cpp and engine_backward.cpp.
#include <cmath>

#include "engine/cuda_engine_impl.hpp"
#include "error.hpp"

namespace moescope::MOESCOPE_ENGINE_NS {

namespace {

void require_size(size_t got, size_t want, const std::string& what) {
    if (got != want)
        throw DataError(what + " has " + std::to_string(got) + " values, the model needs " + std::to_string(want));
}

}  // namespace

std::string refusal(const Config& cfg) {
    const RoutingPolicyKind kind = parse_routing_policy(cfg.policy);
    if (cfg.is_lm())
        return "the CUDA engine refuses model transformer: attention and the token embedding are not implemented on "
               "the GPU yet (the language model trains on the CPU engine)";
    if (experts_choose(kind))
        return "the CUDA engine refuses policy expert_choice: each expert's top-capacity token selection is not "
               "implemented on the GPU yet (use the CPU engine)";
    if (cfg.top_k > kernels::kMaxTopK)
        return "the CUDA engine refuses top_k = " + std::to_string(cfg.top_k) + ": at most " +
               std::to_string(kernels::kMaxTopK) + " experts per token";
    return "";
}

std::unique_ptr<Engine> make_engine(const Config& cfg, int d_in, int classes, Rng& rng,
                                    const CudaEngineOptions& options) {
    if (const std::string why = refusal(cfg); !why.empty()) throw ConfigError(why);
    return std::make_unique<CudaEngine>(cfg, d_in, classes, rng, options);
}

std::vector<float> gradients(const Engine& engine) {
    const auto* e = dynamic_cast<const CudaEngine*>(&engine);
    MS_ASSERT(e, "gradients() needs an engine of this CUDA build");
    return e->gradients();
}

std::string expert_gemm_path() { return gemm_path(); }

CudaEngine::CudaEngine(const Config& cfg, int d_in, int classes, Rng& rng, const CudaEngineOptions& options)
    : cfg_(cfg),
      d_in_(d_in),
      classes_(classes),
      layout_(ParamLayout::build(cfg, d_in, classes)),
      policy_(parse_routing_policy(cfg.policy)),
      options_(options),
      summary_layout_(cfg, classes, int(layout_.tensors.size())),
      params_(size_t(layout_.total), "the parameters"),
      grads_(size_t(layout_.total), "the gradients"),
      m1_(size_t(layout_.total), "the first moments"),
      m2_(size_t(layout_.total), "the second moments"),
      bias_(size_t(cfg.layers) * cfg.experts, "the selection bias"),
      tensor_sq_(layout_.tensors.size(), "the gradient norms"),
      tensor_group_(layout_.tensors.size(), "the parameter groups"),
      hyper_(3, "the optimizer constants"),
      loss_(1, "the loss") {
    // The CPU's own initialisation, so both engines start equal from one seed.
    auto init = std::make_unique<Model<float>>(cfg, d_in, classes, rng);
    params_.upload(init->params.data());
    grads_.zero();
    m1_.zero();
    m2_.zero();
    bias_.zero();
    std::vector<int> groups;
    for (const TensorInfo& t : layout_.tensors) {
        ranges_.push_back({t.offset, t.size(), int(t.group), t.decay});
        groups.push_back(int(t.group));
    }
    tensor_group_.upload(groups.data());
    ws_.resize(cfg.batch_tokens, cfg, d_in, classes, int(layout_.tensors.size()), true);
    if (options_.host_noise) {
        host_model_ = std::move(init);
        host_ws_ = std::make_unique<Workspace<float>>();
    }
    summary_host_ = static_cast<double*>(pinned_alloc(size_t(summary_layout_.words()) * sizeof(double)));
}

CudaEngine::~CudaEngine() { pinned_free(summary_host_); }

void CudaEngine::load(DeviceWorkspace& ws, const HostBatch& b, const Config& knobs, bool train) {
    if (ws.T != b.T) ws.resize(b.T, cfg_, d_in_, classes_, int(layout_.tensors.size()), train);
    copy_to_device(ws.x, b.x, sizeof(float) * size_t(d_in_) * b.T);
    copy_to_device(ws.labels, b.labels, sizeof(int32_t) * b.T);
    copy_to_device(ws.ids, b.ids, sizeof(int32_t) * b.T);
}

void CudaEngine::load_batch(const HostBatch& batch) {
    MS_ASSERT(batch.T == ws_.T, "a training batch must have batch_tokens tokens");
    load(ws_, batch, cfg_, true);
}

void CudaEngine::sample_noise(const Config& knobs, Rng& rng) { draw_noise(ws_, knobs, rng, true); }

void CudaEngine::draw_noise(DeviceWorkspace& ws, const Config& knobs, Rng& rng, bool train) {
    const bool noisy = train && has_learned_noise(policy_), jitter = train && knobs.noise_std > 0;
    const bool random = draws_random_choices(policy_);
    // Like the CPU: no draw at all from rng when nothing is random.
    if (!noisy && !jitter && !random) return;
    const long T = ws.T, n = long(cfg_.experts) * T;
    if (options_.host_noise) {
        if (host_ws_->T != T) host_ws_->resize(T, d_in_, cfg_, classes_);
        host_model_->sample_noise(*host_ws_, knobs, rng, train);
        for (int l = 0; l < cfg_.layers; ++l) {
            const LayerCache<float>& c = host_ws_->layers[l];
            if (noisy) copy_to_device(ws.layers[l].eps_noisy, c.eps_noisy.data(), sizeof(float) * n);
            if (jitter) copy_to_device(ws.layers[l].eps_jitter, c.eps_jitter.data(), sizeof(float) * n);
            if (random)
                copy_to_device(ws.layers[l].random_choice, c.random_choice.data(), sizeof(int32_t) * T * cfg_.top_k);
        }
        return;
    }
    // Counter-based: one draw from the run's Rng keys every number of this pass,
    // so a run is reproducible from its seed on one device.
    noise_key_ = rng.next_u64();
    for (int l = 0; l < cfg_.layers; ++l) {
        const uint64_t key = kernels::mix64(noise_key_ + 3 * uint64_t(l));
        if (noisy) ops::normals(ws.layers[l].eps_noisy, key, n);
        if (jitter) ops::normals(ws.layers[l].eps_jitter, kernels::mix64(key + 1), n);
        if (random)
            ops::random_choices(ws.layers[l].random_choice, kernels::mix64(key + 2), cfg_.experts, cfg_.top_k, T);
    }
}

bool CudaEngine::train_step(const Config& knobs) {
    forward(ws_, knobs, true);
    backward(ws_, knobs);
    optimizer_step(knobs);
    lap(timer_, Phase::Optimizer);
    summarize();
    lap(timer_, Phase::Metrics);
    if (summary_.finite) ++steps_;
    return summary_.finite;
}

void CudaEngine::summarize() {
    const SummaryLayout& sl = summary_layout_;
    // The one copy of the step: every number below comes from this block.
    copy_to_host(summary_host_, ws_.summary, size_t(sl.words()) * sizeof(double));
    const double* d = summary_host_;
    const int* ints = reinterpret_cast<const int*>(d + sl.doubles);
    const long T = ws_.T;
    const int E = cfg_.experts, C = classes_;
    StepSummary& s = summary_;
    s.tokens = T;
    s.loss = float(d[0]);
    s.ce = float(d[1]);
    s.correct = long(d[2]);
    s.finite = ints[0] && ints[1] == 0;
    s.norms = {d[3], d[4], d[5], d[6]};
    if (!s.finite) s.norms.total = s.norms.router = s.norms.experts = NAN;
    const double* tsq = d + sl.tensor_sq;
    auto tensor_sq = [&](int t) { return t < 0 ? 0.0 : tsq[t]; };
    s.layers.resize(cfg_.layers);
    for (int l = 0; l < cfg_.layers; ++l) {
        const double* st = d + sl.layer(l);
        const auto& pl = layout_.layers[l];
        LayerSummary& ls = s.layers[l];
        ls.counts.assign(st + ops::kStatCount, st + ops::kStatCount + E);
        ls.mean_prob.assign(st + ops::kStatCount + E, st + ops::kStatCount + 2 * E);
        ls.router_entropy = st[ops::kStatEntropy];
        ls.dropped = st[ops::kStatDropped] / (double(T) * cfg_.top_k);
        ls.mean_abs_logit = st[ops::kStatMeanAbs];
        ls.max_abs_logit = st[ops::kStatMaxAbs];
        ls.balance = float(st[ops::kStatBalance]);
        ls.zloss = float(st[ops::kStatZLoss]);
        ls.cv2 = float(st[ops::kStatCv2]);
        ls.entropy = E > 1 ? float(st[ops::kStatEntropy]) : 0.f;
        ls.router_grad_norm = std::sqrt(tensor_sq(pl.router_W) + tensor_sq(pl.noise_W));
        ls.expert_grad_norm = std::sqrt(tensor_sq(pl.W1) + tensor_sq(pl.b1) + tensor_sq(pl.W2) + tensor_sq(pl.b2));
        const int* ce = ints + 2 + size_t(l) * C * E;
        ls.class_expert.assign(ce, ce + size_t(C) * E);
    }
}

EvalCounts CudaEngine::evaluate(const HostBatch& batch, const Config& knobs, Rng& rng) {
    DeviceWorkspace& ws = pass_workspace(Pass::Eval);
    load(ws, batch, knobs, false);
    draw_noise(ws, knobs, rng, false);
    forward(ws, knobs, false);
    double sums[2] = {0, 0};  // summary[1]: the mean cross-entropy; summary[2]: correct tokens
    copy_to_host(sums, ws.summary + 1, sizeof(sums));
    return {long(sums[1]), sums[0] * double(batch.T)};
}

void CudaEngine::predictions(const HostBatch& batch, const Config& knobs, Rng& rng, std::vector<float>& probs) {
    DeviceWorkspace& ws = pass_workspace(Pass::Eval);
    load(ws, batch, knobs, false);
    draw_noise(ws, knobs, rng, false);
    forward(ws, knobs, false);
    probs.resize(size_t(classes_) * size_t(batch.T));
    copy_to_host(probs.data(), ws.probs, sizeof(float) * probs.size());
}

void CudaEngine::first_choices(Pass pass, const HostBatch& batch, const Config& knobs, Rng& rng, bool by_probability,
                               FirstChoices& out) {
    DeviceWorkspace& ws = pass_workspace(pass);
    load(ws, batch, knobs, false);
    draw_noise(ws, knobs, rng, false);
    forward(ws, knobs, false);
    const long T = batch.T;
    const int L = cfg_.layers;
    for (int l = 0; l < L; ++l)
        ops::first_choices(ws.fc_expert + l * T, ws.fc_prob + l * T, ws.layers[l].top1, ws.layers[l].p, cfg_.experts, T,
                           by_probability);
    out.expert.resize(size_t(L) * T);
    out.prob.resize(out.expert.size());
    copy_to_host(out.expert.data(), ws.fc_expert, sizeof(int32_t) * out.expert.size());
    copy_to_host(out.prob.data(), ws.fc_prob, sizeof(float) * out.prob.size());
    out.k = 0;  // the top-k experts and gates per token are the CPU engine's only (engine.hpp)
    out.topk_expert.clear();
    out.topk_gate.clear();
}

DeviceWorkspace& CudaEngine::pass_workspace(Pass pass) {
    auto& ws = pass_ws_[size_t(pass)];
    if (!ws) ws = std::make_unique<DeviceWorkspace>();
    return *ws;
}

void CudaEngine::import_params(const std::vector<float>& params) {
    require_size(params.size(), params_.size(), "the parameter vector");
    params_.upload(params.data());
}

void CudaEngine::import_optimizer(const std::vector<float>& m1, const std::vector<float>& m2, long steps) {
    require_size(m1.size(), m1_.size(), "the first moment");
    require_size(m2.size(), m2_.size(), "the second moment");
    m1_.upload(m1.data());
    m2_.upload(m2.data());
    steps_ = steps;
}

void CudaEngine::import_selection_bias(const std::vector<float>& bias) {
    require_size(bias.size(), bias_.size(), "the selection bias");
    bias_.upload(bias.data());
}

}  // namespace moescope::MOESCOPE_ENGINE_NS
