#include "io/metrics_log.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "io/atomic_file.hpp"
#include "monitor/metric_defs.hpp"

namespace moescope {

bool has_extension(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
// JSON has no NaN: "not measured this step" becomes null.
nlohmann::json json_number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
std::string csv_number(double v) {
    if (std::isnan(v)) return "";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

namespace {

int experts_of(const StepMetrics& m) { return m.layers.empty() ? 0 : int(m.layers[0].load.size()); }

MetricSource values_of(const StepMetrics& m) {
    return [&m](const MetricDef& d, int layer, int expert) { return d.value(m, layer, expert); };
}

}  // namespace

std::string metrics_csv_header(int experts) {
    std::string s = "step,layer";
    for (const auto& d : metric_table()) {
        if (d.scope != MetricScope::Expert)
            s += "," + std::string(d.name);
        else
            for (int e = 0; e < experts; ++e) s += "," + std::string(d.name) + "_" + std::to_string(e);
    }
    return s + "\n";
}

void write_metrics_csv_rows(std::ostream& out, long step, int layers, int experts, const MetricSource& values) {
    for (int l = 0; l < layers; ++l) {
        out << step << ',' << l;
        for (const auto& d : metric_table()) {
            if (d.scope != MetricScope::Expert)
                out << ',' << csv_number(values(d, l, -1));
            else
                for (int e = 0; e < experts; ++e) out << ',' << csv_number(values(d, l, e));
        }
        out << '\n';
    }
}

namespace {
// Counts stay whole numbers in JSON ("dead_experts": 2, not 2.0).
nlohmann::json json_value(const MetricDef& d, double v) {
    return d.is_count() && std::isfinite(v) ? nlohmann::json(static_cast<long long>(v)) : json_number(v);
}
}  // namespace

nlohmann::json metrics_json(long step, int layers, int experts, const MetricSource& values) {
    nlohmann::json j = {{"step", step}};
    for (const auto& d : metric_table())
        if (d.scope == MetricScope::Model) j[std::string(d.name)] = json_value(d, values(d, -1, -1));
    nlohmann::json ls = nlohmann::json::array();
    for (int l = 0; l < layers; ++l) {
        nlohmann::json lj = nlohmann::json::object();
        for (const auto& d : metric_table()) {
            if (d.scope == MetricScope::Layer) {
                lj[std::string(d.name)] = json_value(d, values(d, l, -1));
            } else if (d.scope == MetricScope::Expert) {
                nlohmann::json a = nlohmann::json::array();
                for (int e = 0; e < experts; ++e) a.push_back(json_value(d, values(d, l, e)));
                lj[std::string(d.name)] = std::move(a);
            }
        }
        ls.push_back(std::move(lj));
    }
    j["layers"] = std::move(ls);
    return j;
}

nlohmann::json step_metrics_json(const StepMetrics& m, bool with_class_expert) {
    nlohmann::json j = metrics_json(m.step, int(m.layers.size()), experts_of(m), values_of(m));
    j["finite"] = m.finite;
    j["dead_util"] = json_number(m.dead_util);
    if (with_class_expert)
        for (size_t l = 0; l < m.layers.size(); ++l) {
            j["layers"][l]["classes"] = m.layers[l].classes;
            j["layers"][l]["class_expert"] = m.layers[l].class_expert;
        }
    return j;
}

namespace {

// The JSON value of metric `d` in object `j`: its name, else its old name; nullptr when neither.
const nlohmann::json* find_key(const nlohmann::json& j, const MetricDef& d) {
    for (std::string_view key : {d.name, d.old_name}) {
        if (key.empty()) continue;
        const auto it = j.find(std::string(key));
        if (it != j.end()) return &*it;
    }
    return nullptr;
}

double real(const nlohmann::json& v, std::string_view key) {
    if (v.is_null()) return kNaN;
    if (!v.is_number()) throw DataError("metrics field '" + std::string(key) + "' is not a number");
    return v.get<double>();
}

}  // namespace

StepMetrics step_metrics_from_json(const nlohmann::json& j, int layers, int experts) {
    if (!j.is_object()) throw DataError("metrics must be a JSON object");
    StepMetrics m;
    const auto step = j.find("step");
    if (step == j.end()) throw DataError("metrics field 'step' is missing");
    m.step = long(real(*step, "step"));
    const auto ls = j.find("layers");
    if (ls == j.end() || !ls->is_array() || int(ls->size()) != layers)
        throw DataError("metrics field 'layers' must hold " + std::to_string(layers) + " layers");
    m.layers.resize(size_t(layers));
    for (const auto& d : metric_table()) {
        if (d.scope == MetricScope::Model) {
            const nlohmann::json* v = find_key(j, d);
            d.set(m, v ? real(*v, d.name) : kNaN);
            continue;
        }
        for (int l = 0; l < layers; ++l) {
            const nlohmann::json* v = find_key((*ls)[size_t(l)], d);
            if (d.scope == MetricScope::Layer) {
                d.set(m, v ? real(*v, d.name) : kNaN, l);
                continue;
            }
            if (v && (!v->is_array() || int(v->size()) != experts))
                throw DataError("metrics field '" + std::string(d.name) + "' must hold " + std::to_string(experts) +
                                " values");
            for (int e = 0; e < experts; ++e) d.set(m, v ? real((*v)[size_t(e)], d.name) : kNaN, l, e);
        }
    }
    if (const auto f = j.find("finite"); f != j.end() && f->is_boolean()) m.finite = f->get<bool>();
    if (const auto u = j.find("dead_util"); u != j.end() && u->is_number()) m.dead_util = u->get<double>();
    for (int l = 0; l < layers; ++l) {
        LayerMetrics& lm = m.layers[size_t(l)];
        lm.utilization.resize(size_t(experts));
        for (int e = 0; e < experts; ++e) lm.utilization[size_t(e)] = experts * lm.load[size_t(e)];
        const auto& lj = (*ls)[size_t(l)];
        if (lj.contains("class_expert")) {
            const double classes = real(lj.value("classes", nlohmann::json()), "classes");
            const auto& ce = lj["class_expert"];
            if (!(classes >= 0 && classes <= 1e6) || !ce.is_array() || ce.size() != size_t(classes) * size_t(experts))
                throw DataError("metrics field 'class_expert' must hold classes × experts counts");
            lm.classes = int(classes);
            for (const auto& v : ce) {
                if (!v.is_number_integer()) throw DataError("metrics field 'class_expert' must hold whole numbers");
                lm.class_expert.push_back(v.get<int32_t>());
            }
        }
    }
    return m;
}

MetricsLog::MetricsLog(const std::string& path, int experts) : path_(path), experts_(experts) {
    if (has_extension(path, ".jsonl"))
        csv_ = false;
    else if (!has_extension(path, ".csv"))
        throw ConfigError("metrics file '" + path + "' must end in .csv or .jsonl");
    fd_ = open_growing_file(path, "metrics file");
    if (csv_) append(metrics_csv_header(experts_));
}

MetricsLog::~MetricsLog() {
    if (fd_ >= 0) ::close(fd_);
}

void MetricsLog::append(const std::string& text) {
    if (!write_all(fd_, text))
        throw DataError("error while writing metrics file '" + path_ + "' (" + std::strerror(errno) + ")");
}

void MetricsLog::write(const StepMetrics& m) {
    if (csv_) {
        std::ostringstream rows;
        write_metrics_csv_rows(rows, m.step, int(m.layers.size()), experts_, values_of(m));
        append(rows.str());
    } else {
        append(step_metrics_json(m).dump() + "\n");
    }
}

// Every row goes straight to the file (no user-space buffer): nothing to flush
// but the disk, which a crash mid-run need not reach.
void MetricsLog::flush() {}

}  // namespace moescope
