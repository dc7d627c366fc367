#pragma once
// Writes the per-step metrics stream as CSV (one row per step per layer,
// pandas-friendly) or JSON Lines (one object per step), chosen by extension.
#include <fstream>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "monitor/metrics.hpp"

namespace moescope {

class MetricsLog {
public:
    // Throws ConfigError when the extension is neither .csv nor .jsonl, DataError when the file cannot be written.
    MetricsLog(const std::string& path, int experts);
    void write(const StepMetrics& m);
    void flush();

private:
    void write_csv_header();
    std::string path_;
    std::ofstream out_;
    bool csv_ = true;
    int experts_;
};

// How every metrics file writes a number: CSV with 9 significant digits and an
// empty field for NaN ("not measured this step"); JSON null for NaN or inf.
std::string csv_number(double v);
nlohmann::json json_number(double v);
// Whether `path` ends in `ext` (".csv", ".jsonl").
bool has_extension(const std::string& path, const std::string& ext);

// One step's metrics as JSON (also used by the CLI summary and the JSONL log).
// with_class_expert adds each layer's "classes" and "class_expert" matrix.
nlohmann::json step_metrics_json(const StepMetrics& m, bool with_class_expert = false);
// The inverse (null → NaN). Throws DataError naming the field when the JSON is
// not one step of a model with `layers` layers and `experts` experts.
StepMetrics step_metrics_from_json(const nlohmann::json& j, int layers, int experts);

}  // namespace moescope
