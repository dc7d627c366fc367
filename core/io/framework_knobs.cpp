#include "io/framework_knobs.hpp"

#include <charconv>
#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "monitor/metrics.hpp"
#include "train/knobs.hpp"

namespace moescope {

// Every name and conversion below was read in the frameworks' sources:
//   Megatron-LM d98e8a6: megatron/training/arguments.py (--num-experts int,
//     --moe-aux-loss-coeff float nargs='+', --moe-router-load-balancing-type,
//     --lr, --clip-grad), megatron/core/transformer/transformer_config.py (the
//     other --moe-* flags, built from its fields; expert bias needs the sigmoid
//     score function), moe_utils.py (switch_load_balancing_loss_func: E·Σ f_i·P_i
//     with f_i = C_i/(T·k); z_loss_func; get_capacity: ceil(T·k/E·cf)), router.py
//     (each layer attaches its own coeff·loss: the terms add up over layers).
//   transformers: configuration_{mixtral,qwen2_moe,olmoe,switch_transformers}.py
//     (field types), load_balancing_loss_func (f_i = C_i/T: k at even routing).
//   DeepSpeed: deepspeed/moe/layer.py (MoE arguments; noisy_gate_policy in
//     'None', 'Jitter', 'RSample'), sharded_moe.py (capacity ceil(T/E·cf), ×2 for top-2).
const std::vector<FrameworkKnob>& framework_knob_table() {
    static const std::vector<FrameworkKnob> table = {
        {"experts", "--num-experts", "num_local_experts", "num_experts",
         "Hugging Face: Mixtral's key; Qwen2-MoE, OLMoE and Switch Transformers name it num_experts"},
        {"top_k", "--moe-router-topk", "num_experts_per_tok", "k",
         "moescope's top-1 gate is the full softmax probability: Megatron needs --moe-router-pre-softmax for "
         "it, Mixtral renormalises it to 1; for k > 1 the gates are renormalised over the k chosen (Qwen2-MoE "
         "and OLMoE: norm_topk_prob true)"},
        {"aux_weight", "--moe-aux-loss-coeff", "router_aux_loss_coef", "",
         "the Switch/GShard balance loss E·Σ f_i·P_i: Megatron adds one per layer (moescope averages: divide "
         "by the layers), Hugging Face's is k at even routing (moescope's 1: divide by k); Megatron needs "
         "--moe-router-load-balancing-type aux_loss, Hugging Face output_router_logits=True; DeepSpeed-MoE "
         "returns the loss for the training script to weight"},
        {"z_weight", "--moe-z-loss-coeff", "", "",
         "the ST-MoE router z-loss, added per layer in Megatron (divide by the layers); Hugging Face has it only "
         "in Switch Transformers (router_z_loss_coef), not converted here"},
        {"noise_std", "--moe-input-jitter-eps", "router_jitter_noise", "noisy_gate_policy",
         "different noise: moescope adds Gaussian noise N(0, noise_std²) to the router logits; Megatron and "
         "Mixtral multiply the router input by U[1−ε, 1+ε]; DeepSpeed's noisy_gate_policy takes 'Jitter' (the "
         "same) or 'RSample' (Gumbel noise on the top-1 choice), no scale. Values do not carry over",
         false},
        {"capacity_factor", "--moe-expert-capacity-factor", "", "capacity_factor",
         "capacity ceil(cf·T·k/E) in all three (DeepSpeed: top-1 and top-2); 0 (dropless) = leave the flag out "
         "in Megatron, drop_tokens=False in DeepSpeed (else it keeps capacity_factor 1.0 and drops); Mixtral, "
         "Qwen2-MoE and OLMoE in Hugging Face are dropless"},
        {"bias_update_rate", "--moe-router-bias-update-rate", "", "",
         "moescope's bias_balanced policy (bias += rate·sign(mean C − C_i)); Megatron also needs "
         "--moe-router-enable-expert-bias, which it accepts only with --moe-router-score-function sigmoid"},
        {"router_lr", "", "", "",
         "no framework has a separate router learning rate flag: put the router weights in their own optimizer "
         "parameter group"},
        {"lr", "--lr", "learning_rate", "optimizer.params.lr",
         "Hugging Face: a TrainingArguments field, not a model config key; DeepSpeed: the config JSON"},
        {"grad_clip", "--clip-grad", "max_grad_norm", "gradient_clipping",
         "Hugging Face: a TrainingArguments field; DeepSpeed: the config JSON"},
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

// Shortest text that reads back as the same double (0.0025, 1e-05, 8).
std::string number(double v) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

// A float for a framework that wants one: "1.0", never "1" (argparse type=float takes both; JSON readers differ).
std::string real(double v) {
    std::string s = number(v);
    if (s.find_first_of(".e") == std::string::npos && s.find("inf") == std::string::npos) s += ".0";
    return s;
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

double framework_value(std::string_view knob_name, double value, Framework f, int layers, int top_k) {
    if (f == Framework::Megatron && (knob_name == "aux_weight" || knob_name == "z_weight"))
        return layers > 0 ? value / layers : kNaN;
    if (f == Framework::HuggingFace && knob_name == "aux_weight") return top_k > 0 ? value / top_k : kNaN;
    return value;
}

std::string remedy_for_framework(const std::string& knob_name, double value, const std::string& moescope_text,
                                 Framework f, int layers, int top_k) {
    const FrameworkKnob* k = framework_knob(knob_name);
    const std::string flag = k ? std::string(column(*k, f)) : "";
    if (flag.empty()) return moescope_text + " (" + framework_name(f) + " has no such setting)";
    if (!k->same_meaning)
        return moescope_text + " (the closest " + framework_name(f) + " setting, " + flag +
               ", is not the same: see docs/integrations.md)";
    const double v = framework_value(knob_name, value, f, layers, top_k);
    if (std::isnan(v))
        return "set " + flag + " to " + number(value) + (f == Framework::Megatron ? " ÷ the MoE layers" : " ÷ top-k") +
               " (moescope: " + moescope_text + ")";
    return "set " + flag + " to " + number(v) + " (moescope: " + moescope_text + ")";
}

namespace {

std::string export_megatron(const Config& c, std::vector<std::string>& notes) {
    std::ostringstream out;
    auto flag = [&](const std::string& f, const std::string& v = "") {
        out << f << (v.empty() ? "" : " " + v) << " \\\n";
    };
    flag("--num-experts", std::to_string(c.experts));
    flag("--moe-router-topk", std::to_string(c.top_k));
    if (c.top_k == 1) flag("--moe-router-pre-softmax");  // the top-1 gate is the full softmax probability
    if (c.aux_weight > 0) {
        flag("--moe-router-load-balancing-type", "aux_loss");
        flag("--moe-aux-loss-coeff", real(c.aux_weight / c.layers));
    }
    if (c.z_weight > 0) flag("--moe-z-loss-coeff", real(c.z_weight / c.layers));
    if (c.capacity_factor > 0) flag("--moe-expert-capacity-factor", real(c.capacity_factor));
    if (c.policy == "bias_balanced") {
        flag("--moe-router-enable-expert-bias");
        flag("--moe-router-score-function", "sigmoid");
        flag("--moe-router-bias-update-rate", real(c.bias_update_rate));
        notes.push_back(
            "bias_balanced: Megatron takes an expert bias only with --moe-router-score-function sigmoid "
            "(transformer_config.py raises ValueError otherwise): the selection bias is the same, the gate values "
            "are sigmoid scores instead of moescope's softmax");
    }
    flag("--lr", real(c.lr));
    out << "--clip-grad " << real(c.grad_clip) << "\n";
    notes.push_back("--moe-aux-loss-coeff and --moe-z-loss-coeff are moescope's weights ÷ " + std::to_string(c.layers) +
                    " layers: Megatron adds each MoE layer's loss, moescope averages them (give the job's own MoE "
                    "layer count if it differs)");
    return out.str();
}

std::string export_hf(const Config& c, std::vector<std::string>& notes) {
    nlohmann::ordered_json hf = nlohmann::ordered_json::object();
    hf["num_local_experts"] = c.experts;
    hf["num_experts_per_tok"] = c.top_k;
    if (c.aux_weight > 0) {
        hf["output_router_logits"] = true;
        hf["router_aux_loss_coef"] = c.aux_weight / c.top_k;
        notes.push_back(
            "router_aux_loss_coef = aux_weight ÷ top_k: Hugging Face's balance loss is k at even "
            "routing, moescope's 1");
    }
    notes.push_back(
        "Qwen2-MoE, OLMoE: name the expert count num_experts" +
        std::string(c.top_k > 1 ? " and set norm_topk_prob true (moescope renormalises the top-k gates)" : "") +
        "; Mixtral renormalises its gates" +
        (c.top_k == 1 ? " (a top-1 gate of 1, where moescope's is the softmax probability)" : ""));
    notes.push_back("TrainingArguments(learning_rate=" + real(c.lr) + ", max_grad_norm=" + real(c.grad_clip) +
                    "): training arguments, not model config keys");
    if (c.z_weight > 0)
        notes.push_back("z_weight = " + number(c.z_weight) +
                        ": Mixtral, Qwen2-MoE and OLMoE have no router z-loss (Switch Transformers: "
                        "router_z_loss_coef, not converted)");
    if (c.capacity_factor > 0)
        notes.push_back("capacity_factor = " + number(c.capacity_factor) +
                        ": Mixtral, Qwen2-MoE and OLMoE are dropless and have no capacity key");
    return hf.dump(2) + "\n";
}

std::string export_deepspeed(const Config& c, std::vector<std::string>& notes) {
    std::ostringstream out;
    out << "deepspeed.moe.layer.MoE(\n"
        << "    num_experts=" << c.experts << ",\n"
        << "    k=" << c.top_k << ",\n";
    if (c.capacity_factor > 0) {
        out << "    capacity_factor=" << real(c.capacity_factor) << ",\n"
            << "    eval_capacity_factor=" << real(c.capacity_factor) << ",\n"
            << "    min_capacity=0,\n"  // moescope has no minimum capacity (DeepSpeed's default is 4)
            << "    drop_tokens=True,\n";
        if (c.top_k > 2)
            notes.push_back(
                "capacity_factor with k > 2: DeepSpeed's top-k gate was not checked for the capacity "
                "rule");
    } else {
        out << "    drop_tokens=False,\n";  // dropless: DeepSpeed would keep capacity_factor 1.0 and drop
    }
    if (c.top_k == 2) out << "    top2_2nd_expert_sampling=False,\n";  // moescope's second choice is the plain top-2
    out << ")\n";
    nlohmann::ordered_json ds = {{"gradient_clipping", c.grad_clip}, {"optimizer", {{"params", {{"lr", c.lr}}}}}};
    out << "ds_config = " << ds.dump(2) << "\n";
    if (c.aux_weight > 0)
        notes.push_back("aux_weight = " + number(c.aux_weight) +
                        ": MoE.forward returns l_aux; add aux_weight × its mean over the MoE layers to the loss");
    return out.str();
}

}  // namespace

std::string export_knobs(const Config& cfg, Framework f) {
    std::vector<std::string> notes;
    std::string body = f == Framework::Megatron      ? export_megatron(cfg, notes)
                       : f == Framework::HuggingFace ? export_hf(cfg, notes)
                                                     : export_deepspeed(cfg, notes);
    if (cfg.noise_std > 0) {
        const FrameworkKnob* k = framework_knob("noise_std");
        notes.push_back("noise_std = " + number(cfg.noise_std) + ": not exported, the closest setting (" +
                        std::string(column(*k, f)) + ") is different noise. " + std::string(k->note));
    }
    if (cfg.router_lr > 0)
        notes.push_back("router_lr = " + number(cfg.router_lr) + ": no equivalent. " +
                        std::string(framework_knob("router_lr")->note));
    if (cfg.policy == "bias_balanced" && f != Framework::Megatron)
        notes.push_back("policy = bias_balanced: no " + std::string(framework_name(f)) + " setting");
    if (cfg.policy != "topk" && cfg.policy != "bias_balanced")
        notes.push_back("policy = " + cfg.policy + ": the frameworks' routers are top-k; this policy has no flag");
    std::ostringstream out;
    out << body;
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
    // What export-knobs prints, per framework (L = layers, k = top_k).
    struct Row {
        const char *knob, *framework, *name, *conversion, *source;
    };
    static const Row rows[] = {
        {"experts", "Megatron", "`--num-experts` (int)", "as is", "megatron/training/arguments.py"},
        {"top_k", "Megatron", "`--moe-router-topk` (int)", "as is; k = 1 adds `--moe-router-pre-softmax`",
         "transformer_config.py, moe_utils.py `topk_routing_with_score_function`"},
        {"aux_weight", "Megatron", "`--moe-aux-loss-coeff` (float, nargs +)", "aux_weight ÷ L",
         "arguments.py; moe_utils.py `switch_load_balancing_loss_func`; router.py"},
        {"z_weight", "Megatron", "`--moe-z-loss-coeff` (float)", "z_weight ÷ L",
         "moe_utils.py `z_loss_func`; router.py"},
        {"capacity_factor", "Megatron", "`--moe-expert-capacity-factor` (float)", "as is; 0 → left out (dropless)",
         "moe_utils.py `get_capacity`"},
        {"bias_update_rate", "Megatron", "`--moe-router-bias-update-rate` (float)",
         "as is, with `--moe-router-enable-expert-bias --moe-router-score-function sigmoid`",
         "transformer_config.py; moe_utils.py `get_updated_expert_bias`"},
        {"lr, grad_clip", "Megatron", "`--lr`, `--clip-grad` (float)", "as is", "arguments.py"},
        {"experts", "Hugging Face", "`num_local_experts` (int; Qwen2-MoE, OLMoE: `num_experts`)", "as is",
         "configuration_mixtral.py, configuration_qwen2_moe.py, configuration_olmoe.py"},
        {"top_k", "Hugging Face", "`num_experts_per_tok` (int)", "as is", "configuration_mixtral.py"},
        {"aux_weight", "Hugging Face", "`router_aux_loss_coef` (float)", "aux_weight ÷ k",
         "modeling_mixtral.py `load_balancing_loss_func`"},
        {"lr, grad_clip", "Hugging Face", "TrainingArguments `learning_rate`, `max_grad_norm`",
         "as is (a comment: not model config)", "—"},
        {"experts, top_k", "DeepSpeed", "`MoE(num_experts=, k=)` (int)", "as is", "deepspeed/moe/layer.py"},
        {"capacity_factor", "DeepSpeed", "`capacity_factor`, `eval_capacity_factor`, `min_capacity=0`",
         "as is; 0 → `drop_tokens=False`", "deepspeed/moe/layer.py, sharded_moe.py `_capacity`"},
        {"top_k = 2", "DeepSpeed", "`top2_2nd_expert_sampling=False`", "moescope's second choice is not sampled",
         "deepspeed/moe/layer.py"},
        {"lr, grad_clip", "DeepSpeed", "config JSON `optimizer.params.lr`, `gradient_clipping`", "as is", "—"},
        {"noise_std", "all", "—", "not exported: the frameworks' noise is another kind (a comment says so)",
         "layer.py `noisy_gate_policy`; transformer_config.py `moe_input_jitter_eps`"},
    };
    out << "\n| moescope knob | framework | name (type) | conversion | source read |\n|---|---|---|---|---|\n";
    for (const Row& r : rows)
        out << "| `" << r.knob << "` | " << r.framework << " | " << r.name << " | " << r.conversion << " | " << r.source
            << " |\n";
    return out.str();
}

}  // namespace moescope
