#include "io/history_export.hpp"

#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "io/atomic_file.hpp"
#include "io/metrics_log.hpp"
#include "monitor/metric_defs.hpp"

namespace moescope {

namespace {

// Walks one series in step order, answering "the value at step s" for
// increasing s: exact match or NaN.
class Cursor {
public:
    explicit Cursor(const DecimatedSeries* s) : s_(s) {}
    double at(double step) {
        if (!s_) return NAN;
        while (i_ < s_->size() && s_->x()[i_] < step) ++i_;
        return i_ < s_->size() && s_->x()[i_] == step ? s_->y()[i_] : NAN;
    }

private:
    const DecimatedSeries* s_;
    size_t i_ = 0;
};

}  // namespace

long export_history(const MetricsHistory& h, const std::string& path) {
    const bool csv = has_extension(path, ".csv");
    if (!csv && !has_extension(path, ".jsonl"))
        throw ConfigError("metrics export '" + path + "' must end in .csv or .jsonl");
    const int L = h.layers(), E = h.experts();

    // One cursor per kept series, by table row: model-wide [0], per layer [l], per expert [l·E + e].
    const auto& table = metric_table();
    std::vector<std::vector<Cursor>> cursors(table.size());
    for (size_t i = 0; i < table.size(); ++i) {
        const MetricDef& d = table[i];
        if (!d.kept()) continue;
        const std::string name(d.name);
        if (d.scope == MetricScope::Model) cursors[i].emplace_back(h.series(name));
        for (int l = 0; l < L && d.scope != MetricScope::Model; ++l) {
            if (d.scope == MetricScope::Layer) cursors[i].emplace_back(h.series(name, l));
            for (int e = 0; e < E && d.scope == MetricScope::Expert; ++e) cursors[i].emplace_back(h.series(name, l, e));
        }
    }
    double step = 0;
    const MetricSource values = [&](const MetricDef& d, int l, int e) {
        auto& c = cursors[size_t(&d - table.data())];
        if (c.empty()) return double(NAN);  // not kept by the history
        const size_t k = d.scope == MetricScope::Model   ? 0
                         : d.scope == MetricScope::Layer ? size_t(l)
                                                         : size_t(l * E + e);
        return c[k].at(step);
    };

    std::ostringstream out;
    if (csv) out << metrics_csv_header(E);
    long rows = 0;
    const DecimatedSeries* steps = h.series("loss");
    for (size_t i = 0; steps && i < steps->size(); ++i, ++rows) {
        step = steps->x()[i];
        if (csv)
            write_metrics_csv_rows(out, long(step), L, E, values);
        else
            out << metrics_json(long(step), L, E, values).dump() << '\n';
    }
    write_file_atomically(path, {out.str()}, "metrics export");
    return rows;
}

}  // namespace moescope
