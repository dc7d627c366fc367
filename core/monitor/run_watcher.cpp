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

void RunWatcher::discover() {
    if (!directory_) {
        if (sources_.empty()) sources_.push_back(std::make_unique<Source>(Source{LogTail(path_), 0}));
        return;
    }
    std::vector<fs::path> found;
    for (const fs::path& dir : {fs::path(path_), fs::path(path_) / "tokens_per_expert"}) {
        std::error_code ec;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
            if (it->path().extension() == ".jsonl" && it->is_regular_file(ec)) found.push_back(it->path());
    }
    std::sort(found.begin(), found.end());
    int next_unnamed = 1 << 20;  // files without a rank number never merge as expert-parallel slices
    for (const auto& p : found) {
        const bool known =
            std::any_of(sources_.begin(), sources_.end(), [&](const auto& s) { return s->tail.path() == p.string(); });
        if (known) continue;
        const int r = rank_of(p);
        sources_.push_back(std::make_unique<Source>(Source{LogTail(p.string()), r >= 0 ? r : next_unnamed++}));
    }
}

void RunWatcher::take_line(Source& s, const std::string& line, long number) {
    RouterLine parsed = parse_router_line(line);
    auto problem = [&](const std::string& what) {
        ++bad_lines_;
        if (problems_.size() < kMaxProblems)
            problems_.push_back(s.tail.path() + ":" + std::to_string(number) + ": " + what + " (line skipped)");
    };
    if (!parsed.error.empty()) return problem(parsed.error);
    if (parsed.header) {
        header_ = *parsed.header;
        return;
    }
    if (!parsed.record) return;
    RouterRecord& r = *parsed.record;
    if (r.step <= emitted_step_) return problem("step " + std::to_string(r.step) + " arrived after later steps");
    ++records_;
    saw_megatron_ = saw_megatron_ || r.kind == RouterLogKind::Megatron;
    s.max_step = std::max(s.max_step, r.step);
    const int rank = r.rank >= 0 && !directory_ ? r.rank : s.rank;
    pending_[r.step].layers[r.layer][rank] = std::move(r);
}

bool RunWatcher::merge(long step, Pending& p, StepMetrics& m) {
    const int ep = std::max(1, opt_.ep > 0 ? opt_.ep : header_.ep);
    const int k = opt_.top_k > 0 ? opt_.top_k : header_.top_k;
    m.step = step;
    m.loss = m.ce = m.aux = m.zloss = m.importance = m.entropy_reg = 0;  // a watched job reports no loss here
    m.train_acc = kNaN;
    for (auto& [layer, ranks] : p.layers) {
        std::vector<double> counts, prob;
        double entropy = 0, zl = 0, aux = 0, dropped = 0, tokens = 0;
        int entropy_n = 0, zl_n = 0, aux_n = 0, dropped_n = 0, prob_n = 0;
        bool tokens_known = true;
        const bool megatron = ranks.begin()->second.kind == RouterLogKind::Megatron;
        if (megatron) {
            // expert-parallel slice i = sum over data-parallel replicas with rank % ep == i
            std::map<int, std::vector<double>> slice;
            for (auto& [rank, r] : ranks) {
                auto& s = slice[rank % ep];
                if (s.empty()) s.assign(r.counts.size(), 0.0);
                if (s.size() != r.counts.size()) return false;
                for (size_t e = 0; e < s.size(); ++e) s[e] += r.counts[e];
            }
            for (auto& [i, s] : slice) counts.insert(counts.end(), s.begin(), s.end());
            tokens_known = false;
        } else {
            for (auto& [rank, r] : ranks) {
                if (counts.empty()) counts.assign(r.counts.size(), 0.0);
                if (counts.size() != r.counts.size()) return false;
                for (size_t e = 0; e < counts.size(); ++e) counts[e] += r.counts[e];
                if (r.mean_prob.size() == counts.size()) {
                    if (prob.empty()) prob.assign(counts.size(), 0.0);
                    for (size_t e = 0; e < counts.size(); ++e) prob[e] += r.mean_prob[e];
                    ++prob_n;
                }
                auto add = [](double v, double& sum, int& n) { std::isfinite(v) ? (sum += v, ++n) : 0; };
                add(r.router_entropy, entropy, entropy_n);
                add(r.z_loss, zl, zl_n);
                add(r.aux_loss, aux, aux_n);
                add(r.dropped, dropped, dropped_n);
                if (std::isfinite(r.tokens))
                    tokens += r.tokens;
                else
                    tokens_known = false;
            }
        }
        if (experts_ == 0) experts_ = int(counts.size());
        if (int(counts.size()) != experts_) return false;
        double total = 0;
        for (double c : counts) total += c;
        if (!(total <= 1e15) || !(tokens <= 1e15)) return false;  // beyond any real job: the merge is wrong
        LayerMetrics lm;
        if (tokens_known && k > 0 && tokens > 0)
            routing_balance_metrics(counts, long(tokens), k, lm);
        else if (total > 0)
            routing_balance_metrics(counts, long(std::llround(total)), 1, lm);
        else
            continue;  // a layer that routed nothing has no balance to judge
        if (prob_n > 0)
            for (double& v : prob) v /= prob_n;
        lm.mean_prob = prob.empty() ? std::vector<double>(counts.size(), kNaN) : prob;
        lm.router_entropy = entropy_n ? entropy / entropy_n : kNaN;
        lm.z_loss = zl_n ? zl / zl_n : kNaN;
        lm.balance_loss = aux_n ? aux / aux_n : kNaN;
        lm.dropped = dropped_n ? dropped / dropped_n : 0.0;
        lm.mean_abs_logit = lm.max_abs_logit = kNaN;
        lm.router_grad_norm = lm.expert_grad_norm = lm.nmi = kNaN;
        m.layers.push_back(std::move(lm));
        if (layer_ids_.size() < m.layers.size()) layer_ids_.push_back(layer);
    }
    return !m.layers.empty() && m.layers.size() == layer_ids_.size();
}

WatchedStep RunWatcher::publish(StepMetrics m) {
    const int L = int(m.layers.size());
    if (dead_.state().ring.size() != size_t(L)) dead_.reset(L, experts_, cfg_.dead_window);
    cfg_.experts = experts_;
    if (header_.top_k > 0) cfg_.top_k = header_.top_k;
    m.dead_util = cfg_.dead_util;
    for (int l = 0; l < L; ++l) m.layers[l].dead_experts = dead_.update(l, m.layers[l].utilization, cfg_.dead_util);
    WatchedStep w;
    w.events = monitor_.observe(m, cfg_);
    w.metrics = std::move(m);
    return w;
}

std::vector<WatchedStep> RunWatcher::complete(bool all) {
    std::vector<WatchedStep> out;
    const size_t layers_known = header_.layers > 0 ? size_t(header_.layers) : layer_ids_.size();
    while (!pending_.empty()) {
        auto it = pending_.begin();
        const long step = it->first;
        bool done = all || pending_.size() > opt_.max_pending_steps;
        if (!done) {
            done = true;
            for (const auto& s : sources_) {
                if (s->max_step < 0 || s->max_step > step) continue;  // not started, or already past this step
                // the source is at this step: it is done with it when all layers are in
                size_t have = 0;
                for (const auto& [layer, ranks] : it->second.layers) have += ranks.count(s->rank) ? 1 : 0;
                if (layers_known == 0 || have < layers_known) done = false;
            }
        }
        if (!done) break;
        StepMetrics m;
        if (merge(step, it->second, m))
            out.push_back(publish(std::move(m)));
        else if (problems_.size() < kMaxProblems)
            problems_.push_back(path_ + ": step " + std::to_string(step) +
                                ": the ranks' expert counts do not add up to one layout (check --ep); step skipped");
        emitted_step_ = step;
        pending_.erase(it);
    }
    return out;
}

std::vector<WatchedStep> RunWatcher::poll() {
    if (directory_) discover();
    for (auto& s : sources_) s->tail.poll([&](const std::string& line, long n) { take_line(*s, line, n); });
    return complete(false);
}

std::vector<WatchedStep> RunWatcher::finish() {
    if (directory_) discover();
    for (auto& s : sources_) {
        auto take = [&](const std::string& line, long n) { take_line(*s, line, n); };
        while (s->tail.poll(take) > 0) {}
        s->tail.flush(take);
    }
    return complete(true);
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
    if (!r.knob.empty() && !f.empty()) out.text = remedy_for_framework(r.knob, r.value, r.text, framework_from_name(f));
    return out;
}

std::vector<std::string> RunWatcher::take_problems() { return std::exchange(problems_, {}); }

}  // namespace moescope
