#pragma once
// The run configuration: one flat struct, every field of which is described by
// exactly one row of the knob table (knobs.cpp). Config JSON, `--set key=value`,
// `moescope-cli knobs`, the GUI knob panel and snapshots all go through that
// table, so there is no second list of knobs anywhere.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace moescope {

// A knob change scheduled by a preset's lesson script: at `step`, set `knob`.
// `control`: just before this change, the window forks a control run that keeps
// the knob's old value (scripted branch-and-compare; control_config below).
struct ScriptedChange {
    long step = 0;
    std::string knob;
    std::string value;
    bool control = false;
};

struct Config {
    // --- identity (not knobs) ---
    std::string name = "custom";
    std::string description;
    std::vector<ScriptedChange> script;
    // A lesson's length in steps (0: not a lesson). The window pauses there and
    // paces the lesson to last about a minute (docs/lessons.md "Pacing").
    long lesson_steps = 0;

    // --- model (structural: changing them needs a reset) ---
    std::string model = "mlp";  // mlp|transformer (docs/lm.md)
    int heads = 4;              // attention heads (transformer)
    int experts = 8;
    int top_k = 2;
    int layers = 2;
    int d_model = 64;
    int d_ff = 128;
    std::string policy = "topk";  // topk|noisy_topk|expert_choice|bias_balanced|hash|random
    double router_init_std = 0.01;
    int batch_tokens = 512;
    int seed = 1;
    std::string optimizer = "adamw";  // adamw|sgd

    // --- training (live: applied between two steps) ---
    double lr = 1e-3;
    double router_lr = 1e-3;
    double weight_decay = 0.0;
    double aux_weight = 1e-2;
    double z_weight = 0.0;
    double importance_weight = 0.0;
    double entropy_weight = 0.0;
    double noise_std = 0.0;
    double capacity_factor = 0.0;
    double router_grad_clip = 0.0;
    double grad_clip = 1.0;
    double bias_update_rate = 1e-3;
    double temperature = 1.0;
    int eval_every = 100;
    int probe_every = 20;

    // --- dataset (structural) ---
    std::string dataset = "clusters";  // clusters|blobs|moons|spirals|csv|text|lm
    int d_in = 16;
    int classes = 10;
    int clusters = 40;
    double zipf = 0.0;
    double cluster_std = 1.0;
    double data_noise = 0.1;
    int train_samples = 20000;
    int test_samples = 2000;
    std::string csv_path;
    std::string label_column = "last";
    double holdout = 0.2;
    std::string text_path;
    int context = 8;  // text: characters per token; lm: sequence length

    // --- monitor thresholds (live) ---
    int hysteresis = 20;
    double collapse_entropy = 0.75;
    double collapse_max_util = 3.0;
    double dead_util = 0.1;
    int dead_window = 50;
    double saturation_entropy = 0.1;
    double saturation_logit = 8.0;
    double drop_warn = 0.05;
    double spike_factor = 3.0;

    // --- run housekeeping (live; never logged as an intervention) ---
    int autosave_every = 0;  // steps between automatic snapshots; 0 = off

    // Whole-config checks that no single knob range can express (k ≤ E, ...).
    // Throws ConfigError naming the keys involved.
    void validate() const;

    bool is_lm() const { return model == "transformer"; }

    // The effective expert capacity for T tokens (0 means dropless).
    long capacity(long tokens) const;
};

// JSON: {"name","description","model":{...},"train":{...},"dataset":{...},
// "monitor":{...},"script":[{"step":N,"knob":K,"value":V[,"control":true]}]}. Unknown keys,
// wrong types and out-of-range values throw ConfigError naming the key.
Config config_from_json(const nlohmann::json& j);
nlohmann::json config_to_json(const Config& c);
Config load_config_file(const std::string& path);
void save_config_file(const Config& c, const std::string& path);

// The step at which the script forks its control run (its `control` entries),
// or -1 when it asks for none. config_from_json allows control entries at one step only.
long control_step(const Config& c);
// The knobs the control run keeps at their old values (those of the control entries).
std::vector<std::string> control_knobs(const Config& c);
// The control run's config: `c` without the scripted changes to control_knobs
// from control_step on (later changes to other knobs stay), and no control entries.
Config control_config(const Config& c);

// Built-in presets (resources/presets/*.json, compiled into the binary).
std::vector<std::string> preset_names();
Config load_preset(const std::string& name);  // throws ConfigError listing the known names

}  // namespace moescope
