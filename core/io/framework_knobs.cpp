#include "io/framework_knobs.hpp"

#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "train/knobs.hpp"

namespace moescope {

const std::vector<FrameworkKnob>& framework_knob_table() {
    static const std::vector<FrameworkKnob> table = {
        {"experts", "--num-experts", "num_local_experts", "num_experts", ""},
        {"top_k", "--moe-router-topk", "num_experts_per_tok", "k", ""},
        {"aux_weight", "--moe-aux-loss-coeff", "router_aux_loss_coef", "",
         "all three weight the Switch/GShard balance loss E·Σ f_i·P_i; Megatron needs "
         "--moe-router-load-balancing-type aux_loss, Hugging Face output_router_logits=True, and DeepSpeed-MoE "
         "returns the loss for the training script to weight (Megatron-DeepSpeed: --moe-loss-coeff)"},
        {"z_weight", "--moe-z-loss-coeff", "router_z_loss_coef", "",
         "the ST-MoE router z-loss; in Hugging Face only the Switch Transformers models have it"},
        {"noise_std", "--moe-input-jitter-eps", "router_jitter_noise", "noisy_gate_policy",
         "different noise: moescope adds Gaussian noise N(0, noise_std²) to the router logits; Megatron and "
         "Mixtral multiply the router input by U[1−ε, 1+ε]; DeepSpeed's 'Jitter' does the same and 'RSample' "
         "adds noise to the logits. Values do not carry over one to one",
         false},
        {"capacity_factor", "--moe-expert-capacity-factor", "", "capacity_factor",
         "0 (dropless) in moescope = leave the flag out in Megatron; Mixtral in Hugging Face is always dropless"},
        {"bias_update_rate", "--moe-router-bias-update-rate", "", "",
         "moescope's bias_balanced policy; Megatron also needs --moe-router-enable-expert-bias"},
        {"router_lr", "", "", "",
         "no framework has a separate router learning rate flag: put the router weights in their own optimizer "
         "parameter group"},
        {"lr", "--lr", "learning_rate", "", "Hugging Face: a TrainingArguments field, not a model config key"},
        {"grad_clip", "--clip-grad", "max_grad_norm", "", "Hugging Face: a TrainingArguments field"},
    };
    return table;
}

Framework framework_from_name(std::string_view name) {
    if (name == "megatron") return Framework::Megatron;
    if (name == "hf" || name == "huggingface") return Framework::HuggingFace;
    if (name == "deepspeed") return Framework::DeepSpeed;
    throw ConfigError("unknown framework '" + std::string(name) + "': use megatron, hf or deepspeed");
}

const char* framework_name(Framework f) {
    switch (f) {
        case Framework::Megatron:
            return "megatron";
        case Framework::HuggingFace:
            return "hf";
        case Framework::DeepSpeed:
            return "deepspeed";
    }
    return "?";
}

namespace {
std::string_view column(const FrameworkKnob& k, Framework f) {
    return f == Framework::Megatron ? k.megatron : f == Framework::HuggingFace ? k.hf : k.deepspeed;
}
}  // namespace

const FrameworkKnob* framework_knob(std::string_view knob_name) {
    for (const auto& k : framework_knob_table())
        if (k.knob == knob_name) return &k;
    return nullptr;
}

std::string framework_flag(std::string_view knob_name, Framework f) {
    const FrameworkKnob* k = framework_knob(knob_name);
    return k ? std::string(column(*k, f)) : "";
}

std::string remedy_for_framework(const std::string& knob_name, double value, const std::string& moescope_text,
                                 Framework f) {
    const FrameworkKnob* k = framework_knob(knob_name);
    const std::string flag = k ? std::string(column(*k, f)) : "";
    if (flag.empty()) return moescope_text + " (" + framework_name(f) + " has no such setting)";
    if (!k->same_meaning)
        return moescope_text + " (the closest " + framework_name(f) + " setting, " + flag +
               ", is not the same: see docs/integrations.md)";
    char v[32];
    std::snprintf(v, sizeof v, "%g", value);
    return "set " + flag + " to " + v + " (moescope: " + moescope_text + ")";
}

std::string export_knobs(const Config& cfg, Framework f) {
    std::ostringstream out;
    nlohmann::ordered_json hf = nlohmann::ordered_json::object();
    std::vector<std::string> notes;
    if (cfg.policy == "bias_balanced" && f == Framework::Megatron) out << "--moe-router-enable-expert-bias \\\n";
    if (cfg.aux_weight > 0 && f == Framework::Megatron) out << "--moe-router-load-balancing-type aux_loss \\\n";
    if (cfg.aux_weight > 0 && f == Framework::HuggingFace) hf["output_router_logits"] = true;
    for (const auto& k : framework_knob_table()) {
        const KnobDef& def = knob(k.knob);
        const std::string value = def.get_text(cfg);
        const std::string_view name = column(k, f);
        const bool skip = (k.knob == "bias_update_rate" && cfg.policy != "bias_balanced") ||
                          (k.knob == "capacity_factor" && cfg.capacity_factor == 0) ||
                          (k.knob == "noise_std" && cfg.noise_std == 0) || (k.knob == "z_weight" && cfg.z_weight == 0);
        if (name.empty()) {
            if (!skip) notes.push_back(std::string(k.knob) + " = " + value + ": no equivalent. " + std::string(k.note));
            continue;
        }
        if (skip) continue;
        if (!k.note.empty() && k.knob == "noise_std") notes.push_back(std::string(k.knob) + ": " + std::string(k.note));
        switch (f) {
            case Framework::Megatron:
                out << name << ' ' << value << " \\\n";
                break;
            case Framework::HuggingFace:
                hf[std::string(name)] =
                    def.is_text() ? nlohmann::ordered_json(value) : nlohmann::ordered_json(def.get_number(cfg));
                break;
            case Framework::DeepSpeed:
                out << name << '=' << value << ",\n";
                break;
        }
    }
    if (cfg.policy != "topk" && cfg.policy != "bias_balanced")
        notes.push_back("policy = " + cfg.policy + ": the frameworks' routers are top-k; this policy has no flag");
    if (f == Framework::HuggingFace) out << hf.dump(2) << '\n';
    for (const auto& n : notes) out << "# " << n << '\n';
    return out.str();
}

std::string framework_knobs_markdown() {
    std::ostringstream out;
    out << "| moescope knob | Megatron-Core | Hugging Face | DeepSpeed-MoE | where it differs |\n"
           "|---|---|---|---|---|\n";
    auto cell = [](std::string_view s) { return s.empty() ? std::string("—") : "`" + std::string(s) + "`"; };
    for (const auto& k : framework_knob_table())
        out << "| `" << k.knob << "` | " << cell(k.megatron) << " | " << cell(k.hf) << " | " << cell(k.deepspeed)
            << " | " << k.note << " |\n";
    return out.str();
}

}  // namespace moescope
