#include "train/knobs.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

#include "error.hpp"

namespace moescope {

namespace {

using K = KnobKind;
constexpr double kIntMax = 2147483647.0;

// Every knob, once. Sections group the config JSON; `Live` knobs apply at the
// next step of a running training, `Structural` ones rebuild the run.
std::vector<KnobDef> build_table() {
    return {
        // model
        {"experts",
         "model",
         K::Structural,
         &Config::experts,
         1,
         256,
         {},
         "",
         false,
         "Number of experts E per MoE layer; more experts = more capacity, more routing to get right."},
        {"top_k",
         "model",
         K::Structural,
         &Config::top_k,
         1,
         8,
         {},
         "",
         false,
         "Experts chosen per token (k=1 is Switch); each token's output mixes k experts."},
        {"layers", "model", K::Structural, &Config::layers, 1, 16, {}, "", false, "Number of residual MoE blocks."},
        {"d_model",
         "model",
         K::Structural,
         &Config::d_model,
         2,
         8192,
         {},
         "",
         false,
         "Width of the residual stream (token vector size)."},
        {"d_ff",
         "model",
         K::Structural,
         &Config::d_ff,
         2,
         32768,
         {},
         "",
         false,
         "Hidden width of each expert MLP; experts cost 4·d_model·d_ff FLOPs per token."},
        {"policy",
         "model",
         K::Structural,
         &Config::policy,
         0,
         0,
         {"topk", "noisy_topk", "expert_choice", "bias_balanced", "hash", "random"},
         "",
         false,
         "Routing policy: how tokens pick experts (or experts pick tokens)."},
        {"router_init_std",
         "model",
         K::Structural,
         &Config::router_init_std,
         1e-5,
         10,
         {},
         "",
         true,
         "Std of the initial router weights; large values start routing decided and prone to collapse."},
        {"batch_tokens",
         "model",
         K::Structural,
         &Config::batch_tokens,
         4,
         1 << 20,
         {},
         "tokens",
         true,
         "Tokens per training step T."},
        {"seed",
         "model",
         K::Structural,
         &Config::seed,
         0,
         kIntMax,
         {},
         "",
         false,
         "Seed of every random choice (data, init, noise): same seed, same run."},
        {"optimizer",
         "model",
         K::Structural,
         &Config::optimizer,
         0,
         0,
         {"adamw", "sgd"},
         "",
         false,
         "AdamW (default) or SGD with momentum 0.9; both with router/expert/rest groups."},
        // training (live)
        {"lr",
         "train",
         K::Live,
         &Config::lr,
         0,
         1,
         {},
         "",
         true,
         "Learning rate of experts and the rest of the network."},
        {"router_lr",
         "train",
         K::Live,
         &Config::router_lr,
         0,
         1,
         {},
         "",
         true,
         "Router learning rate; a smaller router LR keeps routing stable, a large one makes it churn and collapse."},
        {"weight_decay",
         "train",
         K::Live,
         &Config::weight_decay,
         0,
         1,
         {},
         "",
         true,
         "Decoupled weight decay on weight matrices (not biases or norm gains)."},
        {"aux_weight",
         "train",
         K::Live,
         &Config::aux_weight,
         0,
         10,
         {},
         "",
         true,
         "Weight of the load-balancing loss E·Σ f_i·P_i; the standard cure for collapse (Switch uses 1e-2)."},
        {"z_weight",
         "train",
         K::Live,
         &Config::z_weight,
         0,
         1,
         {},
         "",
         true,
         "Weight of the router z-loss mean(logsumexp z)²; keeps router logits small and training stable (ST-MoE: "
         "1e-3)."},
        {"importance_weight",
         "train",
         K::Live,
         &Config::importance_weight,
         0,
         10,
         {},
         "",
         true,
         "Weight of CV² of expert importance (sum of router probabilities), Shazeer et al.'s balancing term."},
        {"entropy_weight",
         "train",
         K::Live,
         &Config::entropy_weight,
         -1,
         1,
         {},
         "",
         false,
         "Weight of the mean normalised router entropy: positive makes routing decisive, negative keeps it "
         "exploratory."},
        {"noise_std",
         "train",
         K::Live,
         &Config::noise_std,
         0,
         10,
         {},
         "",
         false,
         "Std of Gaussian noise on router logits during training; lets dead experts win tokens again."},
        {"capacity_factor",
         "train",
         K::Live,
         &Config::capacity_factor,
         0,
         16,
         {},
         "",
         false,
         "Expert capacity = ceil(cf·T·k/E); overflow tokens are dropped and keep the residual. 0 = dropless."},
        {"router_grad_clip",
         "train",
         K::Live,
         &Config::router_grad_clip,
         0,
         100,
         {},
         "",
         false,
         "Clip the router gradient norm to this value (0 = off); tames router updates without slowing experts."},
        {"grad_clip",
         "train",
         K::Live,
         &Config::grad_clip,
         0,
         100,
         {},
         "",
         false,
         "Clip the global gradient norm to this value (0 = off)."},
        {"bias_update_rate",
         "train",
         K::Live,
         &Config::bias_update_rate,
         0,
         1,
         {},
         "",
         true,
         "γ of bias_balanced routing: per-expert selection bias moves by γ·sign(mean load − load) each step."},
        {"temperature",
         "train",
         K::Live,
         &Config::temperature,
         0.05,
         10,
         {},
         "",
         true,
         "Router softmax temperature; below 1 sharpens routing, above 1 flattens it."},
        {"eval_every",
         "train",
         K::Live,
         &Config::eval_every,
         0,
         1000000,
         {},
         "steps",
         false,
         "Held-out accuracy every N steps (0 = never)."},
        {"probe_every",
         "train",
         K::Live,
         &Config::probe_every,
         0,
         1000000,
         {},
         "steps",
         false,
         "Measure routing churn on a fixed probe batch every N steps (0 = never)."},
        // dataset
        {"dataset",
         "dataset",
         K::Structural,
         &Config::dataset,
         0,
         0,
         {"clusters", "blobs", "moons", "spirals", "csv", "text"},
         "",
         false,
         "What the tokens are: synthetic clusters, a 2-D toy, a CSV table or characters of a text."},
        {"d_in",
         "dataset",
         K::Structural,
         &Config::d_in,
         1,
         4096,
         {},
         "",
         false,
         "Input features per token for clusters (2-D toys force 2)."},
        {"classes",
         "dataset",
         K::Structural,
         &Config::classes,
         2,
         1000,
         {},
         "",
         false,
         "Number of classes for synthetic data."},
        {"clusters",
         "dataset",
         K::Structural,
         &Config::clusters,
         1,
         100000,
         {},
         "",
         false,
         "Gaussian clusters (each with a random class): many clusters per class make experts matter."},
        {"zipf",
         "dataset",
         K::Structural,
         &Config::zipf,
         0,
         5,
         {},
         "",
         false,
         "Zipf exponent of cluster frequencies; skewed data provokes routing imbalance (0 = uniform)."},
        {"cluster_std",
         "dataset",
         K::Structural,
         &Config::cluster_std,
         0.01,
         10,
         {},
         "",
         false,
         "Spread of each cluster; larger overlaps clusters and makes the task harder."},
        {"data_noise",
         "dataset",
         K::Structural,
         &Config::data_noise,
         0,
         2,
         {},
         "",
         false,
         "Noise of the 2-D toy datasets."},
        {"train_samples",
         "dataset",
         K::Structural,
         &Config::train_samples,
         10,
         10000000,
         {},
         "samples",
         true,
         "Size of the training set for synthetic data (cap for text)."},
        {"test_samples",
         "dataset",
         K::Structural,
         &Config::test_samples,
         1,
         1000000,
         {},
         "samples",
         true,
         "Size of the held-out set for synthetic data."},
        {"csv_path",
         "dataset",
         K::Structural,
         &Config::csv_path,
         0,
         0,
         {},
         "",
         false,
         "CSV file with a header row (dataset csv)."},
        {"label_column",
         "dataset",
         K::Structural,
         &Config::label_column,
         0,
         0,
         {},
         "",
         false,
         "CSV label column: a header name, a 0-based index, 'first' or 'last'."},
        {"holdout",
         "dataset",
         K::Structural,
         &Config::holdout,
         0.01,
         0.9,
         {},
         "",
         false,
         "Share of a CSV or text kept out of training for held-out accuracy."},
        {"text_path",
         "dataset",
         K::Structural,
         &Config::text_path,
         0,
         0,
         {},
         "",
         false,
         "UTF-8 text file (dataset text): predict each character from the previous ones."},
        {"context",
         "dataset",
         K::Structural,
         &Config::context,
         1,
         64,
         {},
         "chars",
         false,
         "Characters of context per token for the text dataset."},
        // monitor
        {"hysteresis",
         "monitor",
         K::Live,
         &Config::hysteresis,
         1,
         10000,
         {},
         "steps",
         false,
         "A warning is raised after this many bad steps in a row and cleared after as many good ones."},
        {"collapse_entropy",
         "monitor",
         K::Live,
         &Config::collapse_entropy,
         0,
         1,
         {},
         "",
         false,
         "Collapse warning when load entropy falls below this."},
        {"collapse_max_util",
         "monitor",
         K::Live,
         &Config::collapse_max_util,
         1,
         1000,
         {},
         "×",
         false,
         "Collapse warning when one expert's utilisation exceeds this many fair shares."},
        {"dead_util",
         "monitor",
         K::Live,
         &Config::dead_util,
         0,
         1,
         {},
         "×",
         false,
         "An expert is dead when its utilisation stays below this over the dead window."},
        {"dead_window",
         "monitor",
         K::Live,
         &Config::dead_window,
         1,
         100000,
         {},
         "steps",
         false,
         "Window over which dead experts are judged."},
        {"saturation_entropy",
         "monitor",
         K::Live,
         &Config::saturation_entropy,
         0,
         1,
         {},
         "",
         false,
         "Router saturation warning when router entropy is below this ..."},
        {"saturation_logit",
         "monitor",
         K::Live,
         &Config::saturation_logit,
         0,
         1000,
         {},
         "",
         false,
         "... and the largest |router logit| exceeds this."},
        {"drop_warn",
         "monitor",
         K::Live,
         &Config::drop_warn,
         0,
         1,
         {},
         "",
         false,
         "High-drop warning when more than this share of assignments is dropped."},
        {"spike_factor",
         "monitor",
         K::Live,
         &Config::spike_factor,
         1,
         1000,
         {},
         "×",
         false,
         "Loss-spike warning when the cross-entropy exceeds this multiple of its running average (not the total "
         "loss: raising aux_weight or z_weight is an intervention, not a spike)."},
        // run housekeeping
        {"autosave_every",
         "run",
         K::Live,
         &Config::autosave_every,
         0,
         100000000,
         {},
         "steps",
         false,
         "Save a snapshot every this many steps (0 = off): the window autosaves next to the last saved file, "
         "the CLI to --snapshot FILE."},
    };
}

std::string format_number(double v) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

std::string format_range(double lo, double hi) { return "[" + format_number(lo) + ", " + format_number(hi) + "]"; }

// Edit distance, for "did you mean" suggestions on unknown knobs.
size_t distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t cur = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1)});
            prev = cur;
        }
    }
    return row[b.size()];
}

}  // namespace

const std::vector<KnobDef>& knob_table() {
    static const std::vector<KnobDef> table = build_table();
    return table;
}

const KnobDef* find_knob(std::string_view name) {
    if (const auto dot = name.find('.'); dot != std::string_view::npos) {
        const auto section = name.substr(0, dot);
        const KnobDef* k = find_knob(name.substr(dot + 1));
        return k && k->section == section ? k : nullptr;
    }
    for (const auto& k : knob_table())
        if (k.name == name) return &k;
    return nullptr;
}

const KnobDef& knob(std::string_view name) {
    if (const KnobDef* k = find_knob(name)) return *k;
    const KnobDef* best = nullptr;
    size_t best_d = 4;  // suggest only near misses
    for (const auto& k : knob_table()) {
        const size_t d = distance(name, k.name);
        if (d < best_d) best = &k, best_d = d;
    }
    std::string msg = "unknown knob '" + clip_text(name) + "'";
    if (best) msg += " (did you mean '" + std::string(best->name) + "'?)";
    msg += "; 'moescope-cli knobs' lists them all";
    throw ConfigError(msg);
}

std::string KnobDef::get_text(const Config& c) const {
    if (auto p = std::get_if<double Config::*>(&field)) return format_number(c.**p);
    if (auto p = std::get_if<int Config::*>(&field)) return std::to_string(c.**p);
    return c.*std::get<std::string Config::*>(field);
}

double KnobDef::get_number(const Config& c) const {
    if (auto p = std::get_if<double Config::*>(&field)) return c.**p;
    if (auto p = std::get_if<int Config::*>(&field)) return c.**p;
    throw ConfigError("knob '" + std::string(name) + "' is text, not a number");
}

void KnobDef::set_number(Config& c, double v) const {
    const std::string prefix = "knob '" + std::string(name) + "': ";
    if (is_text()) throw ConfigError(prefix + "expects one of " + range_text() + ", not a number");
    if (!std::isfinite(v)) throw ConfigError(prefix + "value must be a finite number");
    if (v < min || v > max) throw ConfigError(prefix + format_number(v) + " is out of range " + format_range(min, max));
    if (auto p = std::get_if<int Config::*>(&field)) {
        if (v != std::floor(v)) throw ConfigError(prefix + format_number(v) + " is not a whole number");
        c.** p = static_cast<int>(v);
    } else {
        c.*std::get<double Config::*>(field) = v;
    }
}

void KnobDef::set_text(Config& c, std::string_view text) const {
    const std::string prefix = "knob '" + std::string(name) + "': ";
    if (auto p = std::get_if<std::string Config::*>(&field)) {
        if (!choices.empty()) {
            bool ok = false;
            for (auto ch : choices) ok = ok || ch == text;
            if (!ok) throw ConfigError(prefix + "'" + clip_text(text) + "' is not one of " + range_text());
        }
        if (!is_path() && !is_utf8(text))
            throw ConfigError(prefix + "'" + clip_text(text) +
                              "' is not valid UTF-8 text (only file paths may be raw bytes)");
        c.** p = std::string(text);
        return;
    }
    double v = 0;
    const char* first = text.data();
    const char* last = text.data() + text.size();
    if (!text.empty() && *first == '+') ++first;
    auto [end, ec] = std::from_chars(first, last, v);
    if (text.empty() || ec != std::errc() || end != last)
        throw ConfigError(prefix + "'" + clip_text(text) + "' is not a number (expected " +
                          (is_int() ? "a whole number in " : "a number in ") + range_text() + ")");
    set_number(c, v);
}

std::string KnobDef::default_text() const {
    static const Config defaults;
    return get_text(defaults);
}

std::string KnobDef::range_text() const {
    if (!choices.empty()) {
        std::string s;
        for (auto ch : choices) s += (s.empty() ? "" : "|") + std::string(ch);
        return s;
    }
    if (is_text()) return "text";
    return format_range(min, max);
}

}  // namespace moescope
