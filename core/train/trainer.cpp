#include "train/trainer.hpp"

#include <chrono>
#include <cmath>

#include "error.hpp"
#include "train/knobs.hpp"
#include "train/memory_estimate.hpp"

namespace moescope {

namespace {
constexpr long kProbeTokens = 256;
constexpr long kEvalChunk = 1024;
constexpr uint64_t kEvalStream = 0xE7A1u;
}  // namespace

Trainer::Trainer(const Config& cfg) : cfg_(cfg), rng_(static_cast<uint64_t>(cfg.seed)) {
    cfg_.validate();
    check_memory(cfg_);  // before the first allocation that could fail
    data_ = std::make_unique<Dataset>(make_dataset(cfg_));
    if (data_->train_size() < 1 || data_->test_size() < 1)
        throw DataError("dataset '" + cfg_.dataset + "' has no training or no held-out samples");
    model_ = std::make_unique<Model<float>>(cfg_, data_->d_in, data_->num_classes, rng_);
    optimizer_ = std::make_unique<Optimizer>(model_->layout());
    ws_.resize(cfg_.batch_tokens, data_->d_in, cfg_, data_->num_classes);
    const long probe = std::min(kProbeTokens, data_->test_size());
    probe_ws_.resize(probe, data_->d_in, cfg_, data_->num_classes);
    std::vector<int32_t> first(probe);
    for (long i = 0; i < probe; ++i) first[i] = static_cast<int32_t>(i);
    load_batch(probe_ws_, data_->x_test, data_->y_test, first.data(), probe, data_->train_size());
    dead_.reset(cfg_.layers, cfg_.experts, cfg_.dead_window);
}

void Trainer::request_knob(const std::string& name, const std::string& value, const std::string& source) {
    const KnobDef& k = knob(name);
    if (k.kind != KnobKind::Live)
        throw ConfigError("knob '" + std::string(k.name) + "' is structural: start a new run to change it");
    Config probe;
    {
        // The stepping thread changes cfg_ under this lock (apply_pending_knobs).
        std::lock_guard lock(pending_mutex_);
        probe = cfg_;
    }
    k.set_text(probe, value);  // throws with the allowed range
    probe.validate();
    std::lock_guard lock(pending_mutex_);
    pending_.push_back({std::string(k.name), value, source});
}

void Trainer::apply_knob(const std::string& name, const std::string& value, const std::string& source) {
    const KnobDef& k = knob(name);
    const std::string old = k.get_text(cfg_);
    k.set_text(cfg_, value);
    const std::string now = k.get_text(cfg_);
    // Housekeeping (autosave) changes nothing about the training: no marker for it.
    if (now != old && k.section != "run") interventions_.push_back({steps_, std::string(k.name), old, now, source});
    if (k.name == "dead_window") dead_.set_window(cfg_.dead_window);
}

void Trainer::apply_pending_knobs() {
    // Held while cfg_ changes: request_knob copies cfg_ from other threads.
    std::lock_guard lock(pending_mutex_);
    for (const auto& ch : cfg_.script)
        if (ch.step == steps_) apply_knob(ch.knob, ch.value, "script");
    for (const auto& p : pending_) apply_knob(p.knob, p.value, p.source);
    pending_.clear();
}

void Trainer::load_batch(Workspace<float>& ws, const Eigen::MatrixXf& x, const std::vector<int32_t>& y,
                         const int32_t* indices, long count, long id_offset) {
    for (long t = 0; t < count; ++t) {
        ws.x.col(t) = x.col(indices[t]);
        ws.labels[t] = y[indices[t]];
        ws.ids[t] = static_cast<int32_t>(indices[t] + id_offset);
    }
}

void Trainer::set_step_timer(StepTimer* timer) {
    timer_ = timer;
    ws_.timer = timer;
}

const StepMetrics& Trainer::step() {
    const auto t0 = std::chrono::steady_clock::now();
    if (timer_) timer_->start();
    apply_pending_knobs();
    sample_batch(*data_, cfg_.batch_tokens, rng_, batch_);
    load_batch(ws_, data_->x_train, data_->y_train, batch_.data(), cfg_.batch_tokens, 0);
    model_->sample_noise(ws_, cfg_, rng_, true);
    lap(timer_, Phase::Batch);
    model_->forward(ws_, cfg_, true);
    model_->backward(ws_, cfg_);

    // Norms are measured before clipping; clipping happens only for a finite update.
    GradNorms norms = optimizer_->norms(model_->grads);
    measure_layer_grad_norms();
    bool finite = std::isfinite(ws_.loss) && std::isfinite(norms.total);
    // Clipping (router, then global) is folded into the update. The optimizer checks
    // the updated weights too and takes no step that would leave one non-finite.
    if (finite) finite = optimizer_->step(model_->params, model_->grads, cfg_, &norms);
    if (finite) {
        if (cfg_.policy == "bias_balanced") model_->update_selection_bias(ws_, cfg_.bias_update_rate);
        ++steps_;
    } else {
        halted_ = true;
        norms.total = norms.router = norms.experts = kNaN;
    }
    lap(timer_, Phase::Optimizer);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    collect_metrics(norms, ms);
    metrics_.finite = finite;
    if (finite && cfg_.eval_every > 0 && steps_ % cfg_.eval_every == 0) metrics_.test_acc = evaluate();
    if (finite && cfg_.probe_every > 0 && steps_ % cfg_.probe_every == 0) probe_churn();
    events_ = monitor_.observe(metrics_, cfg_);
    lap(timer_, Phase::Metrics);
    return metrics_;
}

// Per-layer gradient norms, like the global ones, are measured before clipping.
void Trainer::measure_layer_grad_norms() {
    const auto& layout = model_->layout();
    const std::vector<double>& tensor_sq = optimizer_->tensor_sq();
    auto sq = [&](int t) { return t < 0 ? 0.0 : tensor_sq[t]; };
    metrics_.layers.resize(cfg_.layers);
    for (int l = 0; l < cfg_.layers; ++l) {
        const auto& ll = layout.layers[l];
        metrics_.layers[l].router_grad_norm = std::sqrt(sq(ll.router_W) + sq(ll.noise_W));
        metrics_.layers[l].expert_grad_norm = std::sqrt(sq(ll.W1) + sq(ll.b1) + sq(ll.W2) + sq(ll.b2));
    }
}

void Trainer::collect_metrics(const GradNorms& norms, double step_ms) {
    StepMetrics& m = metrics_;
    const long T = ws_.T;
    const int E = cfg_.experts, L = cfg_.layers, C = data_->num_classes;
    m.step = steps_;
    m.loss = ws_.loss;
    m.ce = ws_.ce;
    m.train_acc = double(ws_.correct) / double(T);
    m.test_acc = kNaN;
    m.grad_norm = norms.total;
    m.router_grad_norm = norms.router;
    m.expert_grad_norm = norms.experts;
    m.step_ms = step_ms;
    m.tokens_per_s = step_ms > 0 ? double(T) * 1000.0 / step_ms : 0;
    m.aux = m.zloss = m.importance = m.entropy_reg = 0;
    m.dead_util = cfg_.dead_util;
    m.layers.resize(L);
    for (int l = 0; l < L; ++l) {
        const auto& c = ws_.layers[l];
        const auto& r = c.routing;
        LayerMetrics& lm = m.layers[l];
        routing_balance_metrics(r.counts, T, cfg_.top_k, lm);
        lm.router_entropy = router_entropy(c.p.data(), E, T);
        lm.mean_prob.resize(E);
        for (int e = 0; e < E; ++e) lm.mean_prob[e] = c.p.row(e).mean();
        // Expert choice has no dropped assignments, only tokens no expert took.
        lm.dropped = r.expert_choice ? double(r.dropped) / double(T) : double(r.dropped) / (double(T) * cfg_.top_k);
        lm.dead_experts = dead_.update(l, lm.utilization, cfg_.dead_util);
        lm.mean_abs_logit = c.z.cwiseAbs().mean();
        lm.max_abs_logit = c.z.cwiseAbs().maxCoeff();
        lm.balance_loss = c.balance;
        lm.z_loss = c.zloss;
        lm.importance_cv2 = c.cv2;
        lm.entropy_reg = c.entropy;
        lm.churn = kNaN;
        lm.classes = C;
        lm.class_expert.assign(static_cast<size_t>(C) * E, 0);
        for (long t = 0; t < T; ++t) ++lm.class_expert[static_cast<size_t>(ws_.labels[t]) * E + r.top1[t]];
        lm.nmi = normalized_mutual_information(lm.class_expert, C, E);
        m.aux += c.balance / L;
        m.zloss += c.zloss / L;
        m.importance += c.cv2 / L;
        m.entropy_reg += c.entropy / L;
    }
}

double Trainer::evaluate() {
    const long n = data_->test_size();
    const long chunk = std::min(kEvalChunk, n);
    Rng eval_rng(static_cast<uint64_t>(cfg_.seed) ^ kEvalStream);
    std::vector<int32_t> idx(chunk);
    long correct = 0;
    for (long begin = 0; begin < n; begin += chunk) {
        const long count = std::min(chunk, n - begin);
        if (eval_ws_.T != count) eval_ws_.resize(count, data_->d_in, cfg_, data_->num_classes);
        for (long i = 0; i < count; ++i) idx[i] = static_cast<int32_t>(begin + i);
        load_batch(eval_ws_, data_->x_test, data_->y_test, idx.data(), count, data_->train_size());
        model_->sample_noise(eval_ws_, cfg_, eval_rng, false);
        model_->forward(eval_ws_, cfg_, false);
        correct += eval_ws_.correct;
    }
    return double(correct) / double(n);
}

void Trainer::probe_churn() {
    Rng probe_rng(static_cast<uint64_t>(cfg_.seed) ^ kEvalStream);
    model_->sample_noise(probe_ws_, cfg_, probe_rng, false);
    model_->forward(probe_ws_, cfg_, false);
    const bool first = probe_top1_.empty();
    probe_top1_.resize(cfg_.layers);
    for (int l = 0; l < cfg_.layers; ++l) {
        const auto& top1 = probe_ws_.layers[l].routing.top1;
        if (!first) {
            long changed = 0;
            for (size_t t = 0; t < top1.size(); ++t) changed += top1[t] != probe_top1_[l][t];
            metrics_.layers[l].churn = double(changed) / double(top1.size());
        }
        probe_top1_[l] = top1;
    }
}

}  // namespace moescope
