#include "monitor/metrics_history.hpp"

#include <algorithm>
#include <cmath>

#include "monitor/envelope.hpp"

void DecimatedSeries::append(double x, double y) {
    if (x_.size() >= capacity_) fold_older_half();
    x_.push_back(x);
    y_.push_back(y);
    ++version_;
}

void DecimatedSeries::assign(std::vector<double> x, std::vector<double> y) {
    x_ = std::move(x);
    y_ = std::move(y);
    while (x_.size() > capacity_) fold_older_half();
    ++version_;
}

void DecimatedSeries::clear() {
    x_.clear();
    y_.clear();
    ++version_;
}

// Groups of 4 consecutive points of the older half become their min and max,
// in the order they occurred: the envelope of the curve survives. Both are kept
// even when one point is both, so every fold halves the older half exactly.
void DecimatedSeries::fold_older_half() {
    const size_t half = (x_.size() / 2) & ~size_t(3);
    size_t out = 0;
    moescope::min_max_groups(
        half, 4, [this](size_t i) { return y_[i]; },
        [&](size_t first, size_t second) {
            x_[out] = x_[first];
            y_[out++] = y_[first];
            x_[out] = x_[second];
            y_[out++] = y_[second];
        });
    const size_t kept = x_.size() - half;
    std::move(x_.begin() + half, x_.end(), x_.begin() + out);
    std::move(y_.begin() + half, y_.end(), y_.begin() + out);
    x_.resize(out + kept);
    y_.resize(out + kept);
}

void MetricsHistory::reset(int layers, int experts) {
    series_.clear();
    slots_.clear();
    interventions_.clear();
    latest_ = {};
    layers_ = layers;
    experts_ = experts;
    ++version_;
}

MetricsHistory MetricsHistory::clone() const {
    MetricsHistory c;
    c.series_ = series_;
    c.latest_ = latest_;
    c.interventions_ = interventions_;
    c.layers_ = layers_;
    c.experts_ = experts_;
    c.version_ = version_ + 1;
    return c;
}

DecimatedSeries& MetricsHistory::at(const std::string& name, int layer, int expert) {
    return series_.try_emplace({name, layer, expert}, expert >= 0 ? kExpertSeriesCapacity : kSeriesCapacity)
        .first->second;
}

void MetricsHistory::append(const moescope::StepMetrics& m) {
    const double x = double(m.step);
    // Steps add the same series in the same order, so after the first step each
    // series is found by its position instead of a map lookup.
    size_t slot = 0;
    const std::pair<size_t, size_t> shape{m.layers.size(), m.layers.empty() ? 0 : m.layers[0].load.size()};
    if (shape != slots_shape_) slots_.clear(), slots_shape_ = shape;
    auto add = [&](const char* name, double v, int layer = -1, int expert = -1) {
        if (slot == slots_.size()) slots_.push_back(&at(name, layer, expert));
        DecimatedSeries* s = slots_[slot++];
        if (std::isfinite(v)) s->append(x, v);
    };
    add("loss", m.loss);
    add("ce", m.ce);
    add("aux", m.aux);
    add("z_loss", m.zloss);
    add("importance", m.importance);
    add("train_acc", m.train_acc);
    add("test_acc", m.test_acc);
    add("grad_norm", m.grad_norm);
    add("router_grad_norm", m.router_grad_norm);
    add("tokens_per_s", m.tokens_per_s);
    for (int l = 0; l < int(m.layers.size()); ++l) {
        const auto& L = m.layers[l];
        add("load_entropy", L.load_entropy, l);
        add("router_entropy", L.router_entropy, l);
        add("max_util", L.max_util, l);
        add("cv", L.cv, l);
        add("dropped", L.dropped, l);
        add("dead_experts", L.dead_experts, l);
        add("mean_abs_logit", L.mean_abs_logit, l);
        add("max_abs_logit", L.max_abs_logit, l);
        add("churn", L.churn, l);
        add("nmi", L.nmi, l);
        for (int e = 0; e < int(L.load.size()); ++e) add("load", L.load[e], l, e);
    }
    latest_ = m;
    ++version_;
}

void MetricsHistory::add_interventions(const std::vector<moescope::Intervention>& iv) {
    interventions_.insert(interventions_.end(), iv.begin(), iv.end());
    if (!iv.empty()) ++version_;
}

void MetricsHistory::restore_series(const Key& key, std::vector<double> x, std::vector<double> y) {
    at(std::get<0>(key), std::get<1>(key), std::get<2>(key)).assign(std::move(x), std::move(y));
    ++version_;
}

const DecimatedSeries* MetricsHistory::series(const std::string& name, int layer, int expert) const {
    const auto it = series_.find({name, layer, expert});
    return it == series_.end() ? nullptr : &it->second;
}

size_t MetricsHistory::memory_bytes() const {
    size_t total = 0;
    for (const auto& [key, s] : series_) total += s.memory_bytes() + sizeof(s) + std::get<0>(key).capacity() + 64;
    return total;
}
