#pragma once
// The metric table: the single definition of every per-step metric (name,
// scope, field of StepMetrics, unit, help, history capacity, plot). The run
// history, the CLI's metrics log, the JSON reader (snapshots' `latest`), the
// window's export, the time plots and `moescope-cli metrics` all walk it, so a
// metric is added, renamed or moved in one place. Definitions: docs/metrics.md.
#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "monitor/metrics.hpp"

namespace moescope {

// Model: one value per step. Layer: one per MoE layer (CSV: per row; JSON: in "layers").
// Expert: one per layer and expert (CSV: columns <name>_0 … <name>_{E-1}; JSON: an array).
enum class MetricScope { Model, Layer, Expert };
// Which of the window's plots draws the metric; Load = the per-expert load histogram and heat map.
enum class MetricPlot { None, Loss, Balance, Entropy, Load };

// Points the history keeps of one series (metrics_history.hpp folds older ones).
// Per-expert series are 64 × layers of them: 4096 points keep the history small.
inline constexpr size_t kHistoryPoints = 1 << 14;
inline constexpr size_t kExpertHistoryPoints = 1 << 12;

struct MetricDef {
    std::string_view name;  // the one spelling: CSV column, JSON key, history series
    MetricScope scope;
    std::variant<double StepMetrics::*, double LayerMetrics::*, int LayerMetrics::*,
                 std::vector<double> LayerMetrics::*>
        field;
    std::string_view unit;
    std::string_view label;  // legend text of the plot that draws it
    size_t history_points;   // points per series the history keeps; 0 = not kept
    MetricPlot plot;
    std::string_view help;           // one line: what it measures
    std::string_view old_name = {};  // an earlier JSON key, still accepted when reading

    bool kept() const { return history_points > 0; }
    bool is_count() const { return std::holds_alternative<int LayerMetrics::*>(field); }  // a whole number
    // The value at `layer` / `expert` as the scope needs (others ignored); NaN
    // when the step has no such layer or expert.
    double value(const StepMetrics& m, int layer = -1, int expert = -1) const;
    // Stores v, growing m.layers / the expert vector as needed. An int field
    // (dead_experts) stores NaN as 0.
    void set(StepMetrics& m, double v, int layer = -1, int expert = -1) const;
};

const std::vector<MetricDef>& metric_table();
// nullptr when unknown.
const MetricDef* find_metric(std::string_view name);
std::string_view scope_name(MetricScope s);  // model | layer | expert
std::string_view plot_name(MetricPlot p);    // loss | balance | entropy | load | "" (none)

// `moescope-cli metrics`: the table as plain text, grouped by scope.
std::string metric_table_text();
// `moescope-cli metrics --markdown` (and docs/metrics.md): a Markdown table
// with columns name, scope, unit, meaning, history, plot.
std::string metric_table_markdown();

}  // namespace moescope
