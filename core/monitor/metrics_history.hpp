#pragma once
// The whole run's metrics (window, CLI and snapshots), at bounded memory: each series keeps
// at most `capacity` points; when full, its older half is folded 4 → 2 points
// keeping each group's minimum and maximum (in step order), so spikes and
// collapses stay visible however long the run.
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "monitor/metric_defs.hpp"
#include "monitor/metrics.hpp"
#include "monitor/monitor.hpp"
#include "train/trainer.hpp"

class DecimatedSeries {
public:
    explicit DecimatedSeries(size_t capacity = 1 << 14) : capacity_(capacity) {}
    void append(double x, double y);
    const std::vector<double>& x() const { return x_; }
    const std::vector<double>& y() const { return y_; }
    size_t size() const { return x_.size(); }
    unsigned long version() const { return version_; }  // changes on every modification
    void clear();
    void assign(std::vector<double> x, std::vector<double> y);
    size_t memory_bytes() const { return (x_.capacity() + y_.capacity()) * sizeof(double); }

private:
    void fold_older_half();
    size_t capacity_;
    std::vector<double> x_, y_;
    unsigned long version_ = 0;
};

class MetricsHistory {
public:
    // Points kept per series (metric_defs.hpp): per-expert loads are 64 × layers
    // series that only the load heat map (≤ 600 bins) and the load window (≤ 1000
    // recent steps, never folded) read, so they keep fewer.
    static constexpr size_t kSeriesCapacity = moescope::kHistoryPoints;
    static constexpr size_t kExpertSeriesCapacity = moescope::kExpertHistoryPoints;

    MetricsHistory() = default;
    // slots_ point into series_: a copy would point into the original. Move only.
    MetricsHistory(const MetricsHistory&) = delete;
    MetricsHistory& operator=(const MetricsHistory&) = delete;
    MetricsHistory(MetricsHistory&&) = default;
    MetricsHistory& operator=(MetricsHistory&&) = default;
    // A deep copy (branching a run); the copy finds its own append slots on its first append.
    MetricsHistory clone() const;

    // One series per metric of metric_table() that the history keeps (MetricDef::kept),
    // named as in the table: model-wide ones at layer -1, per-layer ones per layer,
    // per-expert ones (load) per layer and expert. Utilisation is E·load and the latest
    // mean router probabilities are in latest(), so neither is kept per step.
    void reset(int layers, int experts);
    void append(const moescope::StepMetrics& m);  // NaN values (e.g. test_acc off-eval) are skipped
    void add_interventions(const std::vector<moescope::Intervention>& iv);

    using Key = std::tuple<std::string, int, int>;  // (name, layer, expert); -1 = not applicable
    const std::map<Key, DecimatedSeries>& all_series() const { return series_; }
    // Replaces one series wholesale (loading a snapshot); the points must be in step order.
    void restore_series(const Key& key, std::vector<double> x, std::vector<double> y);
    void restore_latest(const moescope::StepMetrics& m) {
        latest_ = m;
        ++version_;
    }

    // nullptr when no such series exists.
    const DecimatedSeries* series(const std::string& name, int layer = -1, int expert = -1) const;
    const moescope::StepMetrics& latest() const { return latest_; }
    const std::vector<moescope::Intervention>& interventions() const { return interventions_; }
    int layers() const { return layers_; }
    int experts() const { return experts_; }
    long last_step() const { return latest_.step; }
    size_t memory_bytes() const;
    unsigned long version() const { return version_; }  // changes on every append

private:
    DecimatedSeries& at(const std::string& name, int layer, int expert);
    std::map<Key, DecimatedSeries> series_;
    std::vector<DecimatedSeries*> slots_;          // series in append order (std::map nodes never move)
    std::pair<size_t, size_t> slots_shape_{0, 0};  // (layers, experts) the slots were built for
    moescope::StepMetrics latest_;
    std::vector<moescope::Intervention> interventions_;
    int layers_ = 0, experts_ = 0;
    unsigned long version_ = 0;
};
