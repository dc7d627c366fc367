#pragma once
// Writes the per-step metrics stream as CSV (one row per step per layer,
// pandas-friendly) or JSON Lines (one object per step), chosen by extension;
// columns and keys are the metric table's (monitor/metric_defs.hpp).
#include <functional>
#include <ostream>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "monitor/metrics.hpp"

namespace moescope {

struct MetricDef;

class MetricsLog {
public:
    // Throws ConfigError when the extension is neither .csv nor .jsonl, DataError when the file cannot be written.
    // A symlink, FIFO or device at `path` is refused (io/atomic_file.hpp).
    MetricsLog(const std::string& path, int experts);
    ~MetricsLog();
    MetricsLog(const MetricsLog&) = delete;
    MetricsLog& operator=(const MetricsLog&) = delete;
    void write(const StepMetrics& m);
    void flush();

private:
    void append(const std::string& text);
    std::string path_;
    int fd_ = -1;
    bool csv_ = true;
    int experts_;
};

// How every metrics file writes a number: CSV with 9 significant digits and an
// empty field for NaN ("not measured this step"); JSON null for NaN or inf.
std::string csv_number(double v);
nlohmann::json json_number(double v);
// Whether `path` ends in `ext` (".csv", ".jsonl").
bool has_extension(const std::string& path, const std::string& ext);

// The two shapes every metrics file has (the CLI's --metrics log and the
// window's export), with the columns and keys of metric_table(), in its order.
// A MetricSource answers one metric's value at (layer, expert) of the step being
// written; NaN when not measured or not kept.
using MetricSource = std::function<double(const MetricDef& d, int layer, int expert)>;
// CSV: "step,layer," then each metric; an expert metric is E columns <name>_0 … <name>_{E-1}. Ends in "\n".
std::string metrics_csv_header(int experts);
// One row per layer; model-wide values repeat on every layer's row.
void write_metrics_csv_rows(std::ostream& out, long step, int layers, int experts, const MetricSource& values);
// JSON: {"step", model-wide metrics, "layers": [{per-layer metrics, expert metrics as arrays of E}]}.
nlohmann::json metrics_json(long step, int layers, int experts, const MetricSource& values);

// One step's metrics as JSON (also used by the CLI summary, the JSONL log and
// snapshots' `latest`): metrics_json plus "finite" and "dead_util";
// with_class_expert adds each layer's "classes" and "class_expert" matrix.
nlohmann::json step_metrics_json(const StepMetrics& m, bool with_class_expert = false);
// The inverse (null → NaN). A metric key missing from the JSON (a file from
// before the metric existed) reads as NaN; an old key (MetricDef::old_name) is
// accepted. Throws DataError naming the field when the JSON is not one step of
// a model with `layers` layers and `experts` experts.
StepMetrics step_metrics_from_json(const nlohmann::json& j, int layers, int experts);

}  // namespace moescope
