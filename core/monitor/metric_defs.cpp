#include "monitor/metric_defs.hpp"

#include <algorithm>
#include <cmath>

namespace moescope {

namespace {

using S = MetricScope;
using P = MetricPlot;
using SM = StepMetrics;
using LM = LayerMetrics;
constexpr size_t kKeep = kHistoryPoints, kKeepExpert = kExpertHistoryPoints, kNotKept = 0;

// Every metric, once, in CSV column order: model-wide ones, then per layer, then
// per expert. Where a quantity exists both model-wide and per layer, the
// model-wide one has the plain name and the layer's is `layer_<name>`.
std::vector<MetricDef> build_table() {
    return {
        // model-wide, one value per step
        {"loss", S::Model, &SM::loss, "nats", "loss", kKeep, P::None,
         "Total objective: ce + aux_weight·aux + z_weight·z_loss + importance_weight·importance + "
         "entropy_weight·entropy_reg."},
        {"ce", S::Model, &SM::ce, "nats", "cross-entropy", kKeep, P::Loss,
         "Cross-entropy of the classifier on the training batch."},
        {"aux", S::Model, &SM::aux, "", "aux (balance)", kKeep, P::Loss,
         "Load-balancing loss E·Σ f_i·P_i (Switch), unweighted, mean of layer_aux over layers; 1 = balanced."},
        {"z_loss", S::Model, &SM::zloss, "", "z-loss", kKeep, P::Loss,
         "Router z-loss mean_t (logsumexp z_t)² (ST-MoE), unweighted, mean of layer_z_loss over layers."},
        {"importance", S::Model, &SM::importance, "", "importance CV²", kKeep, P::None,
         "CV² of expert importance (summed router probabilities), unweighted, mean of layer_importance over layers.",
         "importance_cv2"},
        {"entropy_reg", S::Model, &SM::entropy_reg, "", "entropy term", kKeep, P::None,
         "Router entropy term (mean normalised router entropy), unweighted, mean of layer_entropy_reg over layers."},
        {"train_acc", S::Model, &SM::train_acc, "", "train acc", kKeep, P::Loss,
         "Accuracy on the training batch of this step."},
        {"test_acc", S::Model, &SM::test_acc, "", "test acc", kKeep, P::Loss,
         "Held-out accuracy; measured every eval_every steps, empty otherwise."},
        {"test_bits", S::Model, &SM::test_bits, "bits", "held-out bits/token", kKeep, P::Loss,
         "Held-out cross-entropy in bits per token (ln-loss ÷ ln 2): bits per character for the text and lm "
         "datasets, the language model's usual measure; every eval_every steps, empty otherwise."},
        {"grad_norm", S::Model, &SM::grad_norm, "", "gradient norm", kKeep, P::None,
         "Norm of the whole model's gradient, before clipping."},
        {"router_grad_norm", S::Model, &SM::router_grad_norm, "", "router gradient norm", kKeep, P::None,
         "Norm of all routers' gradient together, before clipping (what router_grad_clip limits)."},
        {"expert_grad_norm", S::Model, &SM::expert_grad_norm, "", "expert gradient norm", kKeep, P::None,
         "Norm of all experts' gradient together, before clipping."},
        {"step_ms", S::Model, &SM::step_ms, "ms", "step time", kNotKept, P::None,
         "Wall-clock time of the step; not kept by the history (tokens_per_s is), so empty in the window's export."},
        {"tokens_per_s", S::Model, &SM::tokens_per_s, "tokens/s", "tokens/s", kKeep, P::None,
         "Training throughput of this step: batch tokens / step time."},
        // per layer
        {"load_entropy", S::Layer, &LM::load_entropy, "", "load entropy", kKeep, P::Entropy,
         "−Σ_i load_i·ln load_i / ln E ∈ [0,1]; 1 = perfectly balanced."},
        {"router_entropy", S::Layer, &LM::router_entropy, "", "router entropy", kKeep, P::Entropy,
         "mean_t H(softmax z_t) / ln E ∈ [0,1] from the clean probabilities; 1 = router undecided."},
        {"max_util", S::Layer, &LM::max_util, "×", "max utilization", kKeep, P::Balance,
         "Largest utilisation E·load_i: how many fair shares the busiest expert takes."},
        {"cv", S::Layer, &LM::cv, "", "cv", kKeep, P::Balance,
         "std(C)/mean(C) of the assignment counts (population std over the E experts)."},
        {"dropped", S::Layer, &LM::dropped, "", "dropped share", kKeep, P::Balance,
         "Token choice: dropped assignments / (T·k); expert choice: share of tokens no expert took."},
        {"dead_experts", S::Layer, &LM::dead_experts, "experts", "dead experts", kKeep, P::Balance,
         "Experts whose utilisation averaged over the last dead_window steps is below dead_util."},
        {"mean_abs_logit", S::Layer, &LM::mean_abs_logit, "", "mean abs logit", kKeep, P::None,
         "Mean absolute raw router logit."},
        {"max_abs_logit", S::Layer, &LM::max_abs_logit, "", "max abs logit", kKeep, P::None,
         "Largest absolute raw router logit (router saturation)."},
        {"layer_aux", S::Layer, &LM::balance_loss, "", "layer aux", kKeep, P::None,
         "This layer's load-balancing loss E·Σ f_i·P_i, unweighted; 1 = balanced.", "balance_loss"},
        {"layer_z_loss", S::Layer, &LM::z_loss, "", "layer z-loss", kKeep, P::None,
         "This layer's router z-loss mean_t (logsumexp z_t)², unweighted.", "z_loss"},
        {"layer_importance", S::Layer, &LM::importance_cv2, "", "layer importance CV²", kKeep, P::None,
         "This layer's CV² of expert importance, unweighted."},
        {"layer_entropy_reg", S::Layer, &LM::entropy_reg, "", "layer entropy term", kKeep, P::None,
         "This layer's router entropy term, unweighted."},
        {"layer_router_grad_norm", S::Layer, &LM::router_grad_norm, "", "layer router gradient norm", kKeep, P::None,
         "Norm of this layer's router gradient, before clipping.", "router_grad_norm"},
        {"layer_expert_grad_norm", S::Layer, &LM::expert_grad_norm, "", "layer expert gradient norm", kKeep, P::None,
         "Norm of this layer's experts' gradient, before clipping.", "expert_grad_norm"},
        {"churn", S::Layer, &LM::churn, "", "churn", kKeep, P::None,
         "Share of a fixed probe batch whose top-1 expert changed since the previous probe; measured every "
         "probe_every steps, empty otherwise."},
        {"nmi", S::Layer, &LM::nmi, "", "NMI", kKeep, P::None,
         "Normalised mutual information I(class; top-1 expert)/sqrt(H(class)·H(expert)); 0 = no specialisation."},
        // per layer and expert
        {"load", S::Expert, &LM::load, "", "load", kKeepExpert, P::Load,
         "Share C_i/(T·k) of the step's routing budget expert i took; fair share 1/E, utilisation = E·load."},
        {"mean_prob", S::Expert, &LM::mean_prob, "", "mean router prob", kNotKept, P::Load,
         "Mean router probability mean_t softmax(z_t)_i; the history keeps only the latest step's, so it is empty in "
         "the window's export."},
    };
}

double at_or_nan(const std::vector<double>& v, int i) { return i >= 0 && size_t(i) < v.size() ? v[size_t(i)] : kNaN; }

}  // namespace

const std::vector<MetricDef>& metric_table() {
    static const std::vector<MetricDef> table = build_table();
    return table;
}

const MetricDef* find_metric(std::string_view name) {
    for (const auto& d : metric_table())
        if (d.name == name) return &d;
    return nullptr;
}

std::string_view scope_name(MetricScope s) {
    switch (s) {
        case MetricScope::Model:
            return "model";
        case MetricScope::Layer:
            return "layer";
        case MetricScope::Expert:
            return "expert";
    }
    return "";
}

std::string_view plot_name(MetricPlot p) {
    switch (p) {
        case MetricPlot::None:
            return "";
        case MetricPlot::Loss:
            return "loss";
        case MetricPlot::Balance:
            return "balance";
        case MetricPlot::Entropy:
            return "entropy";
        case MetricPlot::Load:
            return "load";
    }
    return "";
}

double MetricDef::value(const StepMetrics& m, int layer, int expert) const {
    if (auto p = std::get_if<double StepMetrics::*>(&field)) return m.**p;
    if (layer < 0 || size_t(layer) >= m.layers.size()) return kNaN;
    const LayerMetrics& l = m.layers[size_t(layer)];
    if (auto p = std::get_if<double LayerMetrics::*>(&field)) return l.**p;
    if (auto p = std::get_if<int LayerMetrics::*>(&field)) return l.**p;
    return at_or_nan(l.*std::get<std::vector<double> LayerMetrics::*>(field), expert);
}

void MetricDef::set(StepMetrics& m, double v, int layer, int expert) const {
    if (auto p = std::get_if<double StepMetrics::*>(&field)) {
        m.** p = v;
        return;
    }
    if (layer < 0) return;
    if (size_t(layer) >= m.layers.size()) m.layers.resize(size_t(layer) + 1);
    LayerMetrics& l = m.layers[size_t(layer)];
    if (auto p = std::get_if<double LayerMetrics::*>(&field)) {
        l.** p = v;
    } else if (auto q = std::get_if<int LayerMetrics::*>(&field)) {
        l.** q = std::isfinite(v) ? int(v) : 0;
    } else if (expert >= 0) {
        std::vector<double>& values = l.*std::get<std::vector<double> LayerMetrics::*>(field);
        if (size_t(expert) >= values.size()) values.resize(size_t(expert) + 1, kNaN);
        values[size_t(expert)] = v;
    }
}

namespace {

std::string history_text(const MetricDef& d) {
    return d.kept() ? std::to_string(d.history_points) + " points" : "not kept";
}

// A Markdown table cell: pipes would end the cell.
std::string cell(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '|') out += '\\';
        out += c;
    }
    return out;
}

}  // namespace

std::string metric_table_text() {
    std::string s;
    MetricScope scope{};
    bool first = true;
    for (const auto& d : metric_table()) {
        if (first || d.scope != scope) {
            scope = d.scope;
            s += std::string(first ? "" : "\n") + "[" + std::string(scope_name(scope)) + "]\n";
            first = false;
        }
        std::string head = "  " + std::string(d.name);
        head.resize(std::max<size_t>(head.size() + 1, 26), ' ');
        s += head + "history " + history_text(d);
        if (d.plot != MetricPlot::None) s += "  plot " + std::string(plot_name(d.plot));
        if (!d.unit.empty()) s += "  unit " + std::string(d.unit);
        s += "\n      " + std::string(d.help) + "\n";
    }
    return s;
}

std::string metric_table_markdown() {
    std::string s =
        "| name | scope | unit | meaning | kept in history | plot |\n"
        "|---|---|---|---|---|---|\n";
    for (const auto& d : metric_table()) {
        s += "| `" + std::string(d.name) + "` | " + std::string(scope_name(d.scope)) + " | " +
             (d.unit.empty() ? "—" : cell(d.unit)) + " | " + cell(d.help) + " | " + history_text(d) + " | " +
             (d.plot == MetricPlot::None ? "—" : std::string(plot_name(d.plot))) + " |\n";
    }
    return s;
}

}  // namespace moescope
