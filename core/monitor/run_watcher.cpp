#include "monitor/run_watcher.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <regex>
#include <utility>

#include "error.hpp"
#include "io/framework_knobs.hpp"

namespace moescope {

namespace fs = std::filesystem;

namespace {

// rank12.jsonl → 12; any other name → -1.
int rank_of(const fs::path& p) {
    static const std::regex re(R"(rank(\d{1,6})\.jsonl)");
    std::smatch m;
    const std::string name = p.filename().string();
    return std::regex_match(name, m, re) ? std::stoi(m[1].str()) : -1;
}

constexpr size_t kMaxProblems = 1000;
// The dead-expert window keeps layers × window × E utilisations; a job with
// 96 layers × 65,536 experts would need 2.5 GB at the default window of 50, so
// the window shrinks to fit this budget (the doc says so).
constexpr double kDeadWindowBytes = 64.0 * (1 << 20);

// A layer that has no data at this step: no tokens routed, a rank missing, a
// bad line. Its metrics are NaN, so no rule judges it and no plot draws it.
LayerMetrics no_data_layer(int experts) {
    LayerMetrics lm;
    lm.load.assign(size_t(experts), kNaN);
    lm.utilization.assign(size_t(experts), kNaN);
    lm.mean_prob.assign(size_t(experts), kNaN);
    lm.max_util = lm.cv = lm.load_entropy = lm.router_entropy = lm.dropped = kNaN;
    lm.mean_abs_logit = lm.max_abs_logit = lm.balance_loss = lm.z_loss = kNaN;
    lm.router_grad_norm = lm.expert_grad_norm = lm.nmi = kNaN;
    return lm;
}

}  // namespace

RunWatcher::RunWatcher(std::string path, WatchOptions opt) : path_(std::move(path)), opt_(opt) {
    std::error_code ec;
    const auto st = fs::status(path_, ec);
    if (ec || !fs::exists(st)) throw ConfigError("nothing to watch at '" + path_ + "': no such file or directory");
    directory_ = fs::is_directory(st);
    if (!directory_ && !fs::is_regular_file(st))
        throw ConfigError("cannot watch '" + path_ + "': not a regular file or a directory");
    discover();
}

void RunWatcher::note(const std::string& text) {
    if (problems_.size() < kMaxProblems) problems_.push_back(text);
}

void RunWatcher::discover() {
    if (!directory_) {
        if (sources_.empty()) sources_.push_back(std::make_unique<Source>(Source{LogTail(path_), 0, 0}));
        return;
    }
    std::vector<fs::path> found;
    for (const fs::path& dir : {fs::path(path_), fs::path(path_) / "tokens_per_expert"}) {
        std::error_code ec;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            if (it->path().extension() != ".jsonl") continue;
            std::error_code ec2;
            if (it->is_regular_file(ec2))
                found.push_back(it->path());
            else if (noted_.insert(it->path().string()).second)
                note(it->path().string() + ": not a regular file (a FIFO, a device, a directory?); not read");
        }
    }
    std::sort(found.begin(), found.end());
    for (const auto& p : found) {
        const bool known =
            std::any_of(sources_.begin(), sources_.end(), [&](const auto& s) { return s->tail.path() == p.string(); });
        if (known) continue;
        sources_.push_back(std::make_unique<Source>(Source{LogTail(p.string()), int(sources_.size()), rank_of(p)}));
    }
}

int RunWatcher::ep() const { return opt_.ep > 0 ? opt_.ep : header_.ep > 0 ? header_.ep : 1; }

void RunWatcher::new_segment(Source& s) {
    complete(true, [&](WatchedStep&& w) { ready_.push_back(std::move(w)); });
    emitted_step_ = -1;
    ++segments_;
    s.max_step = -1;
    s.had_records = false;
    note(s.tail.path() + ": the file was rewritten from its start (a rerun?): run segment " +
         std::to_string(segments_) + " begins");
}

void RunWatcher::take_line(Source& s, std::string_view line, long number, bool too_long) {
    if (s.tail.restarts() != s.restarts_seen) {
        s.restarts_seen = s.tail.restarts();
        s.refused = false;
        if (s.had_records) new_segment(s);
    }
    auto problem = [&](const std::string& what) {
        ++bad_lines_;
        note(s.tail.path() + ":" + std::to_string(number) + ": " + what + " (line skipped)");
    };
    if (too_long)
        return problem("longer than " + std::to_string(LogTail::kMaxLineBytes >> 20) + " MB, no record is that long");
    RouterLine parsed = parse_router_line(line);
    if (parsed.newer_version) {
        s.refused = true;
        ++bad_lines_;
        return note(s.tail.path() + ":" + std::to_string(number) + ": " + parsed.error +
                    "; the records that follow this header are not read (counted as bad lines)");
    }
    if (s.refused) {
        if (parsed.record) ++bad_lines_;
        return;
    }
    if (!parsed.error.empty()) return problem(parsed.error);
    if (parsed.header) {
        if (s.had_records) new_segment(s);  // a header after records: a rerun appended to the file
        header_ = *parsed.header;
        return;
    }
    if (!parsed.record) return;
    RouterRecord& r = *parsed.record;
    const bool megatron = r.kind == RouterLogKind::Megatron;
    // Records of one file without a rank field come from one writer; a
    // directory's files are told apart by their whole names.
    const int writer = directory_ ? s.id : std::max(0, r.rank);
    if (megatron) r.rank = directory_ ? s.rank : 0;
    if (r.step <= emitted_step_) return problem("step " + std::to_string(r.step) + " arrived after later steps");
    const int width = int(r.counts.size());
    if (megatron && directory_ && s.rank < 0 && ep() > 1)
        return problem("the file's name has no rank number (rank{R}.jsonl), so its expert-parallel slice is unknown");
    if (!megatron && first_width_ == 0) first_width_ = width;
    const int job_experts = experts_ > 0 ? experts_ : header_.experts > 0 ? header_.experts : first_width_;
    if (job_experts > 0 && !megatron && width != job_experts)
        return problem("holds " + std::to_string(width) + " experts; the job has " + std::to_string(job_experts));
    if (experts_ > 0 && megatron && width * ep() != experts_)
        return problem("holds " + std::to_string(width) + " local experts; the job's " + std::to_string(experts_) +
                       " experts over expert-parallel size " + std::to_string(ep()) + " give " +
                       std::to_string(experts_ / ep()) + " per rank");
    if (!layer_ids_.empty() && !layer_index_.count(r.layer))
        return problem("layer " + std::to_string(r.layer) +
                       " is not one of the job's layers (fixed at its first step)");
    Pending& p = pending_[r.step];
    auto& writers = p.layers[r.layer];
    if (writers.count(writer))
        return problem("step " + std::to_string(r.step) + " layer " + std::to_string(r.layer) +
                       " was already logged by this writer; the first record is kept");
    ++records_;
    ++s.records;
    if (r.non_finite) ++non_finite_records_;
    saw_megatron_ = saw_megatron_ || megatron;
    s.max_step = std::max(s.max_step, r.step);
    s.had_records = true;
    p.layers_of_source[s.id].insert(r.layer);
    writers.emplace(writer, std::move(r));
}

bool RunWatcher::step_done(long step, const Pending& p) const {
    if (pending_.size() > opt_.max_pending_steps) return true;
    const size_t layers_known = header_.layers > 0 ? size_t(header_.layers) : layer_ids_.size();
    const int ep = this->ep();
    std::set<int> started_slices;
    for (const auto& s : sources_) {
        if (s->max_step < 0) continue;  // not started
        if (s->rank >= 0) started_slices.insert(s->rank % ep);
        if (s->max_step > step) continue;  // already past this step
        // the source is at this step: it is done with it when all layers are in
        const auto it = p.layers_of_source.find(s->id);
        const size_t have = it == p.layers_of_source.end() ? 0 : it->second.size();
        if (layers_known == 0 || have < layers_known) return false;
    }
    if (ep > 1 && directory_) {
        // An expert-parallel slice with no record yet may still come (its rank
        // file can appear later); once every slice has a writer, a slice still
        // missing here never will.
        for (const auto& [layer, writers] : p.layers) {
            std::set<int> slices;
            for (const auto& [w, r] : writers)
                if (r.kind == RouterLogKind::Megatron && r.rank >= 0) slices.insert(r.rank % ep);
            if (writers.begin()->second.kind == RouterLogKind::Megatron && int(slices.size()) < ep &&
                int(started_slices.size()) < ep)
                return false;
        }
    }
    return true;
}

void RunWatcher::complete(bool all, const std::function<void(WatchedStep&&)>& on_step) {
    while (!pending_.empty()) {
        auto it = pending_.begin();
        const long step = it->first;
        if (!all && !step_done(step, it->second)) break;
        StepMetrics m;
        step_non_finite_ = 0;
        if (merge(step, it->second, m)) on_step(publish(std::move(m), step_non_finite_ > 0));
        emitted_step_ = step;
        pending_.erase(it);
    }
}

bool RunWatcher::merge_layer(long step, int layer, std::map<int, RouterRecord>& writers, LayerMetrics& lm,
                             bool& logit_bound) {
    const int k = opt_.top_k > 0 ? opt_.top_k : header_.top_k;
    const std::string where = path_ + ": step " + std::to_string(step) + " layer " + std::to_string(layer) + ": ";
    std::vector<double> counts, prob;
    double entropy = 0, zl = 0, aux = 0, dropped = 0, tokens = 0, max_logit = kNaN;
    double entropy_w = 0, zl_w = 0, aux_n = 0, dropped_w = 0, prob_w = 0;
    bool tokens_known = true;
    if (writers.begin()->second.kind == RouterLogKind::Megatron) {
        // expert-parallel slice i = sum over data-parallel replicas with rank % ep == i
        const int ep = this->ep();
        std::map<int, std::vector<double>> slice;
        for (auto& [w, r] : writers) {
            auto& s = slice[r.rank % ep];
            if (s.empty()) s.assign(r.counts.size(), 0.0);
            if (s.size() != r.counts.size()) {
                note(where + "the ranks hold different numbers of local experts (check --ep); layer left out");
                return false;
            }
            for (size_t e = 0; e < s.size(); ++e) s[e] += r.counts[e];
        }
        if (int(slice.size()) < ep) {
            note(where + "only " + std::to_string(slice.size()) + " of " + std::to_string(ep) +
                 " expert-parallel ranks logged it; layer left out");
            return false;
        }
        for (auto& [i, s] : slice) counts.insert(counts.end(), s.begin(), s.end());
        tokens_known = false;
    } else {
        // Per-token means (mean_prob, router entropy, z-loss, dropped share)
        // are weighted by each writer's tokens when every writer states them.
        bool weighted = true;
        for (const auto& [w, r] : writers) weighted = weighted && std::isfinite(r.tokens) && r.tokens > 0;
        for (auto& [w, r] : writers) {
            if (counts.empty()) counts.assign(r.counts.size(), 0.0);
            if (counts.size() != r.counts.size()) {
                note(where + "the writers hold different numbers of experts; layer left out");
                return false;
            }
            const double wt = weighted ? r.tokens : 1.0;
            for (size_t e = 0; e < counts.size(); ++e) counts[e] += r.counts[e];
            if (r.mean_prob.size() == counts.size()) {
                if (prob.empty()) prob.assign(counts.size(), 0.0);
                for (size_t e = 0; e < counts.size(); ++e) prob[e] += wt * r.mean_prob[e];
                prob_w += wt;
            }
            auto add = [wt](double v, double& sum, double& n) {
                if (std::isfinite(v)) sum += wt * v, n += wt;
            };
            add(r.router_entropy, entropy, entropy_w);
            add(r.z_loss, zl, zl_w);
            add(r.dropped, dropped, dropped_w);
            if (std::isfinite(r.aux_loss)) aux += r.aux_loss, ++aux_n;
            if (std::isfinite(r.max_abs_logit))
                max_logit = std::isnan(max_logit) ? r.max_abs_logit : std::max(max_logit, r.max_abs_logit);
            if (r.non_finite) ++step_non_finite_;
            if (std::isfinite(r.tokens))
                tokens += r.tokens;
            else
                tokens_known = false;
        }
    }
    if (experts_ == 0) {
        experts_ = int(counts.size());
        cfg_.experts = experts_;
    }
    if (int(counts.size()) != experts_) {
        note(where + "the ranks' counts give " + std::to_string(counts.size()) + " experts, the job has " +
             std::to_string(experts_) + " (check --ep); layer left out");
        return false;
    }
    double total = 0;
    for (double c : counts) total += c;
    if (!(total <= 1e15) || !(tokens <= 1e15)) return false;  // beyond any real job: the merge is wrong
    // Counts may be fractional (an average over ranks); a layer needs at least
    // one whole token to have a balance to judge.
    const long T = tokens_known && k > 0 ? long(std::llround(tokens)) : 0;
    const long total_whole = long(std::llround(total));
    if (T >= 1)
        routing_balance_metrics(counts, T, k, lm);
    else if (total_whole >= 1)
        routing_balance_metrics(counts, total_whole, 1, lm);
    else
        return false;  // a layer that routed nothing has no balance to judge
    if (prob_w > 0)
        for (double& v : prob) v /= prob_w;
    lm.mean_prob = prob.empty() ? std::vector<double>(counts.size(), kNaN) : std::move(prob);
    lm.router_entropy = entropy_w > 0 ? entropy / entropy_w : kNaN;
    lm.z_loss = zl_w > 0 ? zl / zl_w : kNaN;
    lm.balance_loss = aux_n > 0 ? aux / aux_n : kNaN;
    lm.dropped = dropped_w > 0 ? dropped / dropped_w : 0.0;
    // Without a logged max |logit|, the z-loss bounds it from below: some token
    // has |logsumexp z| ≥ √z_loss, and logsumexp z ≤ max z + ln E, so
    // max |z| ≥ √z_loss − ln E (docs/formats/routerlog.md).
    lm.max_abs_logit = max_logit;
    logit_bound = std::isnan(max_logit) && std::isfinite(lm.z_loss);
    if (logit_bound) lm.max_abs_logit = std::max(0.0, std::sqrt(lm.z_loss) - std::log(double(experts_)));
    lm.mean_abs_logit = kNaN;
    lm.router_grad_norm = lm.expert_grad_norm = lm.nmi = kNaN;
    return true;
}

bool RunWatcher::merge(long step, Pending& p, StepMetrics& m) {
    m.step = step;
    m.loss = m.ce = m.aux = m.zloss = m.importance = m.entropy_reg = 0;  // a watched job reports no loss here
    m.train_acc = kNaN;
    // The job's layers are those of the first step shown; every later step
    // shows them in the same order, a layer without data as NaN.
    if (layer_ids_.empty())
        for (const auto& [layer, writers] : p.layers) {
            layer_index_[layer] = layer_ids_.size();
            layer_ids_.push_back(layer);
        }
    std::map<size_t, std::pair<LayerMetrics, bool>> got;
    for (auto& [layer, writers] : p.layers) {
        const auto idx = layer_index_.find(layer);
        if (idx == layer_index_.end()) {
            if (unknown_layers_.insert(layer).second)
                note(path_ + ": layer " + std::to_string(layer) + " first appears at step " + std::to_string(step) +
                     ", after the job's layers were fixed by its first step; its records are not shown");
            continue;
        }
        LayerMetrics lm;
        bool bound = false;
        if (merge_layer(step, layer, writers, lm, bound)) got[idx->second] = {std::move(lm), bound};
    }
    if (experts_ == 0) {
        note(path_ + ": step " + std::to_string(step) + ": no layer has a complete expert layout yet; step skipped");
        layer_ids_.clear();
        layer_index_.clear();
        return false;
    }
    m.layers.resize(layer_ids_.size());
    logit_from_z_loss_.assign(layer_ids_.size(), 0);
    for (size_t l = 0; l < layer_ids_.size(); ++l) {
        const auto it = got.find(l);
        m.layers[l] = it == got.end() ? no_data_layer(experts_) : std::move(it->second.first);
        logit_from_z_loss_[l] = it != got.end() && it->second.second;
    }
    return true;
}

WatchedStep RunWatcher::publish(StepMetrics m, bool non_finite) {
    const int L = int(m.layers.size());
    if (dead_layers_ != L) {
        const double per_slot = double(L) * double(experts_) * sizeof(double);
        const int window = int(std::clamp(kDeadWindowBytes / per_slot, 1.0, double(std::max(1, cfg_.dead_window))));
        cfg_.dead_window = window;
        dead_.reset(L, experts_, window);
        dead_layers_ = L;
        last_dead_.assign(size_t(L), 0);
    }
    if (header_.top_k > 0) cfg_.top_k = header_.top_k;
    m.dead_util = cfg_.dead_util;
    for (int l = 0; l < L; ++l) {
        LayerMetrics& lm = m.layers[l];
        if (std::isfinite(lm.load_entropy))
            last_dead_[l] = lm.dead_experts = dead_.update(l, lm.utilization, cfg_.dead_util);
        else
            lm.dead_experts = last_dead_[l];  // a layer without data keeps what was known
    }
    m.finite = !non_finite;  // the non-finite rule raises; the others wait for finite statistics
    WatchedStep w;
    w.events = monitor_.observe(m, cfg_);
    // What only the watcher knows: the job's layer ids, how bad it is, what a non-finite watched step means.
    const long nf = step_non_finite_;
    auto amend = [&](Warning& wn) {
        if (wn.layer >= 0 && wn.layer < L) {
            const std::string from = "layer " + std::to_string(wn.layer) + ": ";
            const int id = layer_ids_[size_t(wn.layer)];
            if (id != wn.layer && wn.message.rfind(from, 0) == 0)
                wn.message = "layer " + std::to_string(id) + ": " + wn.message.substr(from.size());
            const LayerMetrics& lm = m.layers[size_t(wn.layer)];
            // Critical: what a pipeline must stop for (docs/formats/routerlog.md, "Severities").
            if (wn.id == "collapse" && lm.load_entropy < cfg_.collapse_entropy / 2) wn.severity = Severity::Critical;
            if (wn.id == "dead_experts" && 2 * lm.dead_experts > experts_) wn.severity = Severity::Critical;
        }
        if (wn.id == "non_finite" && wn.message.find("loss or gradients") != std::string::npos) {
            wn.message = "step " + std::to_string(wn.first_step) + ": the job logged non-finite router statistics (" +
                         std::to_string(nf) + " record" + (nf == 1 ? "" : "s") +
                         " with NaN or infinity, written as null): its router is diverging";
            wn.remedy = {"", 0,
                         "lower the learning rate (e.g. 10×) and restart from the last checkpoint before the "
                         "divergence"};
        }
        if (wn.id == "router_saturation" && wn.layer >= 0 && wn.layer < L && logit_from_z_loss_[size_t(wn.layer)] &&
            wn.message.find("max |logit| ") != std::string::npos && wn.message.find("at least") == std::string::npos)
            wn.message.replace(wn.message.find("max |logit| "), 12, "max |logit| at least ");
    };
    for (auto& ev : w.events)
        if (ev.kind == MonitorEvent::Raised) amend(ev.warning);
    monitor_.amend_active(amend);
    w.metrics = std::move(m);
    return w;
}

uint64_t RunWatcher::read_source(Source& s, size_t max_bytes) {
    return s.tail.poll([&](std::string_view line, long n, bool too_long) { take_line(s, line, n, too_long); },
                       max_bytes);
}

std::vector<WatchedStep> RunWatcher::poll() {
    if (directory_) discover();
    for (auto& s : sources_) read_source(*s, 8u << 20);
    std::vector<WatchedStep> out = std::exchange(ready_, {});
    complete(false, [&](WatchedStep&& w) { out.push_back(std::move(w)); });
    return out;
}

void RunWatcher::finish(const std::function<void(WatchedStep&&)>& on_step) {
    if (directory_) discover();
    auto hand_ready = [&] {
        for (auto& w : std::exchange(ready_, {})) on_step(std::move(w));
    };
    // Round-robin in 64 KB chunks: rank files advance together, and a step is
    // handed on as soon as every file is past it.
    for (bool more = true; more;) {
        more = false;
        for (auto& s : sources_) more = read_source(*s, 64u << 10) > 0 || more;
        hand_ready();
        complete(false, on_step);
    }
    for (auto& s : sources_)
        s->tail.flush([&](std::string_view line, long n, bool too_long) { take_line(*s, line, n, too_long); });
    hand_ready();
    complete(true, on_step);
}

std::vector<WatchedStep> RunWatcher::finish() {
    std::vector<WatchedStep> out;
    finish([&](WatchedStep&& w) { out.push_back(std::move(w)); });
    return out;
}

std::string RunWatcher::layout_problem() const {
    if (!saw_megatron_ || !directory_) return "";
    std::set<int> ranks;
    for (const auto& s : sources_)
        if (s->records > 0 && s->rank >= 0) ranks.insert(s->rank);
    const int n = int(ranks.size()), ep = this->ep();
    if (ep > 1 && n > 0 && n % ep != 0)
        return std::to_string(n) + " Megatron rank file" + (n == 1 ? "" : "s") + " but expert-parallel size " +
               std::to_string(ep) + ": the number of ranks must be a multiple of it (check --ep)";
    return "";
}

std::string RunWatcher::layout_note() const {
    if (!saw_megatron_ || !directory_ || opt_.ep > 0 || header_.ep > 0) return "";
    long n = 0;
    for (const auto& s : sources_) n += s->records > 0 ? 1 : 0;
    if (n < 2) return "";
    return std::to_string(n) +
           " Megatron rank files merged as data-parallel replicas (expert-parallel size 1, the default): "
           "if the job is expert-parallel, pass --ep";
}

std::string RunWatcher::framework() const {
    if (!opt_.framework.empty()) return opt_.framework;
    const std::string& h = header_.framework;
    if (h == "megatron" || h == "hf" || h == "deepspeed") return h;
    return saw_megatron_ ? "megatron" : "";
}

Remedy RunWatcher::job_remedy(const Remedy& r) const {
    Remedy out{"", r.value, r.text};
    const std::string f = framework();
    if (!r.knob.empty() && !f.empty())
        out.text = remedy_for_framework(r.knob, r.value, r.text, framework_from_name(f), int(layer_ids_.size()),
                                        opt_.top_k > 0 ? opt_.top_k : header_.top_k);
    return out;
}

std::vector<std::string> RunWatcher::take_problems() { return std::exchange(problems_, {}); }

}  // namespace moescope
