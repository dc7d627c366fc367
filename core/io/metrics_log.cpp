#include "io/metrics_log.hpp"

#include <nlohmann/json.hpp>

#include "error.hpp"

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

nlohmann::json step_metrics_json(const StepMetrics& m, bool with_class_expert) {
    nlohmann::json j = {{"step", m.step},
                        {"loss", json_number(m.loss)},
                        {"ce", json_number(m.ce)},
                        {"aux", json_number(m.aux)},
                        {"z_loss", json_number(m.zloss)},
                        {"importance_cv2", json_number(m.importance)},
                        {"entropy_reg", json_number(m.entropy_reg)},
                        {"train_acc", json_number(m.train_acc)},
                        {"test_acc", json_number(m.test_acc)},
                        {"grad_norm", json_number(m.grad_norm)},
                        {"router_grad_norm", json_number(m.router_grad_norm)},
                        {"expert_grad_norm", json_number(m.expert_grad_norm)},
                        {"step_ms", json_number(m.step_ms)},
                        {"tokens_per_s", json_number(m.tokens_per_s)},
                        {"finite", m.finite}};
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& l : m.layers) {
        nlohmann::json load = nlohmann::json::array(), prob = nlohmann::json::array();
        for (double v : l.load) load.push_back(json_number(v));
        for (double v : l.mean_prob) prob.push_back(json_number(v));
        layers.push_back({{"load", load},
                          {"mean_prob", prob},
                          {"max_util", json_number(l.max_util)},
                          {"cv", json_number(l.cv)},
                          {"load_entropy", json_number(l.load_entropy)},
                          {"router_entropy", json_number(l.router_entropy)},
                          {"dropped", json_number(l.dropped)},
                          {"dead_experts", l.dead_experts},
                          {"mean_abs_logit", json_number(l.mean_abs_logit)},
                          {"max_abs_logit", json_number(l.max_abs_logit)},
                          {"balance_loss", json_number(l.balance_loss)},
                          {"z_loss", json_number(l.z_loss)},
                          {"router_grad_norm", json_number(l.router_grad_norm)},
                          {"expert_grad_norm", json_number(l.expert_grad_norm)},
                          {"churn", json_number(l.churn)},
                          {"nmi", json_number(l.nmi)}});
        if (with_class_expert) {
            layers.back()["classes"] = l.classes;
            layers.back()["class_expert"] = l.class_expert;
        }
    }
    j["layers"] = layers;
    return j;
}

namespace {
double real(const nlohmann::json& j, const char* key) {
    const auto it = j.find(key);
    if (it == j.end()) throw DataError(std::string("metrics field '") + key + "' is missing");
    if (it->is_null()) return kNaN;
    if (!it->is_number()) throw DataError(std::string("metrics field '") + key + "' is not a number");
    return it->get<double>();
}
std::vector<double> reals(const nlohmann::json& j, const char* key, int n) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_array() || int(it->size()) != n)
        throw DataError(std::string("metrics field '") + key + "' must hold " + std::to_string(n) + " values");
    std::vector<double> v;
    for (const auto& e : *it) v.push_back(e.is_number() ? e.get<double>() : kNaN);
    return v;
}
}  // namespace

StepMetrics step_metrics_from_json(const nlohmann::json& j, int layers, int experts) {
    if (!j.is_object()) throw DataError("metrics must be a JSON object");
    StepMetrics m;
    m.step = long(real(j, "step"));
    m.loss = real(j, "loss"), m.ce = real(j, "ce"), m.aux = real(j, "aux"), m.zloss = real(j, "z_loss");
    m.importance = real(j, "importance_cv2"), m.entropy_reg = real(j, "entropy_reg");
    m.train_acc = real(j, "train_acc"), m.test_acc = real(j, "test_acc"), m.grad_norm = real(j, "grad_norm");
    m.router_grad_norm = real(j, "router_grad_norm"), m.expert_grad_norm = real(j, "expert_grad_norm");
    m.step_ms = real(j, "step_ms"), m.tokens_per_s = real(j, "tokens_per_s");
    m.finite = j.value("finite", true);
    const auto ls = j.find("layers");
    if (ls == j.end() || !ls->is_array() || int(ls->size()) != layers)
        throw DataError("metrics field 'layers' must hold " + std::to_string(layers) + " layers");
    for (const auto& lj : *ls) {
        LayerMetrics l;
        l.load = reals(lj, "load", experts);
        l.mean_prob = reals(lj, "mean_prob", experts);
        l.utilization.resize(experts);
        for (int e = 0; e < experts; ++e) l.utilization[e] = experts * l.load[e];
        l.max_util = real(lj, "max_util"), l.cv = real(lj, "cv"), l.load_entropy = real(lj, "load_entropy");
        l.router_entropy = real(lj, "router_entropy"), l.dropped = real(lj, "dropped");
        const double dead = real(lj, "dead_experts");
        l.dead_experts = std::isfinite(dead) ? int(dead) : 0;
        l.mean_abs_logit = real(lj, "mean_abs_logit"), l.max_abs_logit = real(lj, "max_abs_logit");
        l.balance_loss = real(lj, "balance_loss"), l.z_loss = real(lj, "z_loss");
        l.router_grad_norm = real(lj, "router_grad_norm"), l.expert_grad_norm = real(lj, "expert_grad_norm");
        l.churn = real(lj, "churn"), l.nmi = real(lj, "nmi");
        if (lj.contains("class_expert")) {
            const double classes = real(lj, "classes");
            const auto& ce = lj["class_expert"];
            if (!(classes >= 0 && classes <= 1e6) || !ce.is_array() || ce.size() != size_t(classes) * size_t(experts))
                throw DataError("metrics field 'class_expert' must hold classes × experts counts");
            l.classes = int(classes);
            for (const auto& v : ce) {
                if (!v.is_number_integer()) throw DataError("metrics field 'class_expert' must hold whole numbers");
                l.class_expert.push_back(v.get<int32_t>());
            }
        }
        m.layers.push_back(std::move(l));
    }
    return m;
}

MetricsLog::MetricsLog(const std::string& path, int experts) : path_(path), experts_(experts) {
    if (has_extension(path, ".jsonl"))
        csv_ = false;
    else if (!has_extension(path, ".csv"))
        throw ConfigError("metrics file '" + path + "' must end in .csv or .jsonl");
    out_.open(path, std::ios::binary | std::ios::trunc);
    if (!out_) throw DataError("cannot write metrics file '" + path + "'");
    if (csv_) write_csv_header();
}

void MetricsLog::write_csv_header() {
    out_ << "step,layer,loss,ce,aux,z_loss,train_acc,test_acc,load_entropy,router_entropy,max_util,cv,dropped,"
            "dead_experts,mean_abs_logit,max_abs_logit,grad_norm,router_grad_norm,expert_grad_norm,churn,nmi,"
            "step_ms,tokens_per_s";
    for (int e = 0; e < experts_; ++e) out_ << ",load_" << e;
    for (int e = 0; e < experts_; ++e) out_ << ",mean_prob_" << e;
    out_ << "\n";
}

void MetricsLog::write(const StepMetrics& m) {
    if (!csv_) {
        out_ << step_metrics_json(m).dump() << "\n";
    } else {
        for (size_t l = 0; l < m.layers.size(); ++l) {
            const auto& L = m.layers[l];
            out_ << m.step << ',' << l;
            for (double v : {m.loss,
                             m.ce,
                             m.aux,
                             m.zloss,
                             m.train_acc,
                             m.test_acc,
                             L.load_entropy,
                             L.router_entropy,
                             L.max_util,
                             L.cv,
                             L.dropped,
                             double(L.dead_experts),
                             L.mean_abs_logit,
                             L.max_abs_logit,
                             m.grad_norm,
                             L.router_grad_norm,
                             L.expert_grad_norm,
                             L.churn,
                             L.nmi,
                             m.step_ms,
                             m.tokens_per_s})
                out_ << ',' << csv_number(v);
            for (double v : L.load) out_ << ',' << csv_number(v);
            for (double v : L.mean_prob) out_ << ',' << csv_number(v);
            out_ << '\n';
        }
    }
    if (!out_) throw DataError("error while writing metrics file '" + path_ + "' (disk full?)");
}

void MetricsLog::flush() {
    out_.flush();
    if (!out_) throw DataError("error while writing metrics file '" + path_ + "' (disk full?)");
}

}  // namespace moescope
