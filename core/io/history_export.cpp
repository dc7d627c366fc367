#include "io/history_export.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "io/metrics_log.hpp"

namespace moescope {

namespace {

const char* const kModelSeries[] = {"loss",      "ce",       "aux",       "z_loss",           "importance",
                                    "train_acc", "test_acc", "grad_norm", "router_grad_norm", "tokens_per_s"};
const char* const kLayerSeries[] = {"load_entropy", "router_entropy", "max_util",      "cv",    "dropped",
                                    "dead_experts", "mean_abs_logit", "max_abs_logit", "churn", "nmi"};

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

    std::vector<Cursor> model;
    for (const char* name : kModelSeries) model.emplace_back(h.series(name));
    std::vector<std::vector<Cursor>> layer(L), load(L);
    for (int l = 0; l < L; ++l) {
        for (const char* name : kLayerSeries) layer[l].emplace_back(h.series(name, l));
        for (int e = 0; e < E; ++e) load[l].emplace_back(h.series("load", l, e));
    }

    const std::string tmp = path + ".part";
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw DataError("cannot write metrics export '" + path + "'");
    if (csv) {
        out << "step,layer";
        for (const char* name : kModelSeries) out << ',' << name;
        for (const char* name : kLayerSeries) out << ',' << name;
        for (int e = 0; e < E; ++e) out << ",load_" << e;
        out << '\n';
    }
    long rows = 0;
    const DecimatedSeries* steps = h.series("loss");
    std::vector<double> mv(std::size(kModelSeries));
    for (size_t i = 0; steps && i < steps->size(); ++i, ++rows) {
        const double step = steps->x()[i];
        for (size_t k = 0; k < mv.size(); ++k) mv[k] = model[k].at(step);
        nlohmann::json row;
        if (!csv) {
            row["step"] = long(step);
            for (size_t k = 0; k < mv.size(); ++k) row[kModelSeries[k]] = json_number(mv[k]);
            row["layers"] = nlohmann::json::array();
        }
        for (int l = 0; l < L; ++l) {
            if (csv) {
                out << long(step) << ',' << l;
                for (double v : mv) out << ',' << csv_number(v);
                for (auto& c : layer[l]) out << ',' << csv_number(c.at(step));
                for (auto& c : load[l]) out << ',' << csv_number(c.at(step));
                out << '\n';
            } else {
                nlohmann::json lj = nlohmann::json::object();
                for (size_t k = 0; k < layer[l].size(); ++k) lj[kLayerSeries[k]] = json_number(layer[l][k].at(step));
                nlohmann::json loads = nlohmann::json::array();
                for (auto& c : load[l]) loads.push_back(json_number(c.at(step)));
                lj["load"] = std::move(loads);
                row["layers"].push_back(std::move(lj));
            }
        }
        if (!csv) out << row.dump() << '\n';
    }
    out.close();
    std::error_code ec;
    if (!out)
        ec = std::make_error_code(std::errc::io_error);
    else
        std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        throw DataError("error while writing metrics export '" + path + "' (disk full or no permission?)");
    }
    return rows;
}

}  // namespace moescope
