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
    const moescope::MetricDef* d = moescope::find_metric(name);
    const size_t capacity = d && d->kept() ? d->history_points : expert >= 0 ? kExpertSeriesCapacity : kSeriesCapacity;
    return series_.try_emplace({name, layer, expert}, capacity).first->second;
}

void MetricsHistory::append(const moescope::StepMetrics& m) {
    using moescope::MetricScope;
    const double x = double(m.step);
    // Steps add the same series in the same order, so after the first step each
    // series is found by its position instead of a map lookup.
    size_t slot = 0;
    const std::pair<size_t, size_t> shape{m.layers.size(), m.layers.empty() ? 0 : m.layers[0].load.size()};
    if (shape != slots_shape_) slots_.clear(), slots_shape_ = shape;
    auto add = [&](const moescope::MetricDef& d, int layer = -1, int expert = -1) {
        if (slot == slots_.size()) slots_.push_back(&at(std::string(d.name), layer, expert));
        DecimatedSeries* s = slots_[slot++];
        const double v = d.value(m, layer, expert);
        if (std::isfinite(v)) s->append(x, v);
    };
    const auto& table = moescope::metric_table();
    for (const auto& d : table)
        if (d.kept() && d.scope == MetricScope::Model) add(d);
    for (int l = 0; l < int(m.layers.size()); ++l) {
        for (const auto& d : table)
            if (d.kept() && d.scope == MetricScope::Layer) add(d, l);
        for (const auto& d : table)
            if (d.kept() && d.scope == MetricScope::Expert)
                for (int e = 0; e < int(shape.second); ++e) add(d, l, e);
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
