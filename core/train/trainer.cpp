#include "train/trainer.hpp"

#include <algorithm>
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

Trainer::Trainer(const Config& cfg, Backend backend) : cfg_(cfg), rng_(static_cast<uint64_t>(cfg.seed)) {
    cfg_.validate();
    check_memory(cfg_);  // before the first allocation that could fail
    data_ = std::make_unique<Dataset>(make_dataset(cfg_));
    if (data_->train_size() < 1 || data_->test_size() < 1)
        throw DataError("dataset '" + cfg_.dataset + "' has no training or no held-out samples");
    EngineChoice choice = make_engine(cfg_, backend, data_->d_in, data_->num_classes, rng_);
    engine_ = std::move(choice.engine);
    engine_reason_ = std::move(choice.reason);
    // lm: whole sequences (the held-out part is a multiple of them)
    const long seq = std::max(1, data_->sequence);
    const long probe = std::min(std::max(seq, kProbeTokens / seq * seq), data_->test_size());
    std::vector<int32_t> first(probe);
    for (long i = 0; i < probe; ++i) first[i] = static_cast<int32_t>(i);
    ids_are_tokens_ = data_->sequence > 0;
    probe_data_.gather(data_->x_test, data_->y_test, first.data(), probe, data_->train_size(), ids_are_tokens_);
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

void Trainer::Staging::gather(const Eigen::MatrixXf& from, const std::vector<int32_t>& y, const int32_t* indices,
                              long count, long id_offset, bool ids_are_tokens) {
    const long d = from.rows();
    T = count;
    x.resize(static_cast<size_t>(d) * count);
    labels.resize(count);
    ids.resize(count);
    for (long t = 0; t < count; ++t) {
        std::copy(from.col(indices[t]).data(), from.col(indices[t]).data() + d, x.data() + t * d);
        labels[t] = y[indices[t]];
        // lm: hash routing hashes the token (Roller et al.'s hash layers), not its position in the text
        ids[t] =
            ids_are_tokens ? static_cast<int32_t>(from(0, indices[t])) : static_cast<int32_t>(indices[t] + id_offset);
    }
}

void Trainer::set_step_timer(StepTimer* timer) {
    timer_ = timer;
    engine_->set_step_timer(timer);
}

const StepMetrics& Trainer::step() {
    const auto t0 = std::chrono::steady_clock::now();
    if (timer_) timer_->start();
    apply_pending_knobs();
    sample_batch(*data_, cfg_.batch_tokens, rng_, batch_);
    batch_data_.gather(data_->x_train, data_->y_train, batch_.data(), cfg_.batch_tokens, 0, ids_are_tokens_);
    engine_->load_batch(batch_data_.view());
    engine_->sample_noise(cfg_, rng_);
    lap(timer_, Phase::Batch);
    // Forward, backward, clip, update and the step's summary, inside the engine.
    const bool finite = engine_->train_step(cfg_);
    if (finite)
        ++steps_;
    else
        halted_ = true;
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    collect_metrics(ms);
    metrics_.finite = finite;
    if (finite && cfg_.eval_every > 0 && steps_ % cfg_.eval_every == 0) {
        metrics_.test_acc = evaluate();
        metrics_.test_bits = test_bits_;
    }
    if (finite && cfg_.probe_every > 0 && steps_ % cfg_.probe_every == 0) probe_churn();
    events_ = monitor_.observe(metrics_, cfg_);
    lap(timer_, Phase::Metrics);
    return metrics_;
}

void Trainer::collect_metrics(double step_ms) {
    const StepSummary& s = engine_->summary();
    const GradNorms& norms = s.norms;
    StepMetrics& m = metrics_;
    const long T = s.tokens;
    const int E = cfg_.experts, L = cfg_.layers, C = data_->num_classes;
    m.step = steps_;
    m.loss = s.loss;
    m.ce = s.ce;
    m.train_acc = double(s.correct) / double(T);
    m.test_acc = kNaN;
    m.test_bits = kNaN;
    m.grad_norm = norms.total;
    m.router_grad_norm = norms.router;
    m.expert_grad_norm = norms.experts;
    m.step_ms = step_ms;
    m.tokens_per_s = step_ms > 0 ? double(T) * 1000.0 / step_ms : 0;
    m.aux = m.zloss = m.importance = m.entropy_reg = 0;
    m.dead_util = cfg_.dead_util;
    m.layers.resize(L);
    for (int l = 0; l < L; ++l) {
        const LayerSummary& ls = s.layers[l];
        LayerMetrics& lm = m.layers[l];
        routing_balance_metrics(ls.counts, T, cfg_.top_k, lm);
        lm.router_entropy = ls.router_entropy;
        lm.mean_prob = ls.mean_prob;
        lm.dropped = ls.dropped;
        lm.dead_experts = dead_.update(l, lm.utilization, cfg_.dead_util);
        lm.mean_abs_logit = ls.mean_abs_logit;
        lm.max_abs_logit = ls.max_abs_logit;
        lm.balance_loss = ls.balance;
        lm.z_loss = ls.zloss;
        lm.importance_cv2 = ls.cv2;
        lm.entropy_reg = ls.entropy;
        lm.router_grad_norm = ls.router_grad_norm;
        lm.expert_grad_norm = ls.expert_grad_norm;
        lm.churn = kNaN;
        lm.classes = C;
        lm.class_expert = ls.class_expert;
        lm.nmi = normalized_mutual_information(lm.class_expert, C, E);
        m.aux += ls.balance / L;
        m.zloss += ls.zloss / L;
        m.importance += ls.cv2 / L;
        m.entropy_reg += ls.entropy / L;
    }
}

double Trainer::evaluate() {
    const long n = data_->test_size();
    const long seq = std::max(1, data_->sequence);  // lm: chunks of whole sequences
    const long chunk = std::min(std::max(seq, kEvalChunk / seq * seq), n);
    Rng eval_rng(static_cast<uint64_t>(cfg_.seed) ^ kEvalStream);
    std::vector<int32_t> idx(chunk);
    EvalCounts sum;
    for (long begin = 0; begin < n; begin += chunk) {
        const long count = std::min(chunk, n - begin);
        for (long i = 0; i < count; ++i) idx[i] = static_cast<int32_t>(begin + i);
        eval_data_.gather(data_->x_test, data_->y_test, idx.data(), count, data_->train_size(), ids_are_tokens_);
        const EvalCounts part = engine_->evaluate(eval_data_.view(), cfg_, eval_rng);
        sum.correct += part.correct;
        sum.ce_sum += part.ce_sum;
    }
    test_bits_ = sum.ce_sum / double(n) / std::log(2.0);
    return double(sum.correct) / double(n);
}

std::string Trainer::sample_text(const LmSampleOptions& options, uint64_t seed) {
    Rng rng(seed);
    return sample_lm_text(*engine_, cfg_, data_->class_names, options, rng);
}

void Trainer::probe_churn() {
    Rng probe_rng(static_cast<uint64_t>(cfg_.seed) ^ kEvalStream);
    engine_->first_choices(Pass::Probe, probe_data_.view(), cfg_, probe_rng, false, probe_choices_);
    const bool first = probe_top1_.empty();
    const long P = probe_data_.T;
    probe_top1_.resize(cfg_.layers);
    for (int l = 0; l < cfg_.layers; ++l) {
        const int32_t* top1 = probe_choices_.expert.data() + static_cast<size_t>(l) * P;
        if (!first) {
            long changed = 0;
            for (long t = 0; t < P; ++t) changed += top1[t] != probe_top1_[l][t];
            metrics_.layers[l].churn = double(changed) / double(P);
        }
        probe_top1_[l].assign(top1, top1 + P);
    }
}

}  // namespace moescope
