#pragma once
// moescope's knobs in the words of the frameworks that train real MoE models:
// one table, read both ways — `moescope-cli export-knobs` prints a tuned run's
// settings as a job's flags, and a watched job's warnings name the job's own
// flag instead of a moescope knob (docs/integrations.md shows the table).
#include <string>
#include <string_view>
#include <vector>

#include "train/config.hpp"

namespace moescope {

enum class Framework { Megatron, HuggingFace, DeepSpeed };

// Parses "megatron" | "hf" | "deepspeed"; throws ConfigError naming the choices.
Framework framework_from_name(std::string_view name);
const char* framework_name(Framework f);

struct FrameworkKnob {
    std::string_view knob;       // moescope knob name
    std::string_view megatron;   // Megatron-Core flag, "" when it has none
    std::string_view hf;         // Hugging Face config key, ""
    std::string_view deepspeed;  // DeepSpeed-MoE argument, ""
    std::string_view note;       // where the semantics differ
    bool same_meaning = true;    // false: the flag is only the closest setting, values do not carry over
};

const std::vector<FrameworkKnob>& framework_knob_table();
// The framework's row for a moescope knob, or nullptr when the table has none.
const FrameworkKnob* framework_knob(std::string_view knob);
// The framework's name for a moescope knob, or "" when it has none.
std::string framework_flag(std::string_view knob, Framework f);

// The value a framework needs for a moescope knob's value to mean the same
// (docs/integrations.md, "Conversions"): Megatron sums the balance and z-loss
// over layers where moescope averages (÷ layers); Hugging Face's balance loss is
// k at even routing where moescope's is 1 (÷ top_k). layers/top_k ≤ 0: unknown,
// and then a converted value cannot be given (returns NaN).
double framework_value(std::string_view knob, double value, Framework f, int layers, int top_k);

// A monitor remedy ("set aux_weight to 0.1: why") in a job's own words:
// "set --moe-aux-loss-coeff to 0.025 (...)", or the moescope advice with the closest
// setting named when the framework has no equivalent of the same meaning.
// layers/top_k: the job's, for the conversion (0 when unknown: the rule is said instead).
std::string remedy_for_framework(const std::string& knob, double value, const std::string& moescope_text, Framework f,
                                 int layers = 0, int top_k = 0);

// The settings of `cfg` as the framework writes them: Megatron command-line
// flags, a Hugging Face config JSON fragment, or DeepSpeed MoE layer
// arguments, with a comment line for each knob that has no equivalent.
std::string export_knobs(const Config& cfg, Framework f);
// The mapping table as Markdown (docs/integrations.md): the knob table, then
// each knob per framework with its conversion and the source file it was read in.
std::string framework_knobs_markdown();

}  // namespace moescope
