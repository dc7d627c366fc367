#include "train/config.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "train/knobs.hpp"
#include "train/presets_data.hpp"

namespace moescope {

using nlohmann::json;

namespace {

const char* const kSections[] = {"model", "train", "dataset", "monitor", "run"};

std::string json_type(const json& v) { return v.type_name(); }

void set_from_json(const KnobDef& k, Config& c, const json& v) {
    const std::string where = std::string(k.section) + "." + std::string(k.name);
    if (k.is_text()) {
        if (!v.is_string())
            throw ConfigError("config key '" + where + "' must be a string (" + k.range_text() + "), not " +
                              json_type(v));
        k.set_text(c, v.get<std::string>());
        return;
    }
    if (!v.is_number())
        throw ConfigError("config key '" + where + "' must be a number in " + k.range_text() + ", not " + json_type(v));
    try {
        k.set_number(c, v.get<double>());
    } catch (const ConfigError& e) {
        throw ConfigError("config key '" + where + "': " +
                          std::string(e.what()).substr(e.what()[0] == 'k' ? std::string(e.what()).find(": ") + 2 : 0));
    }
}

void read_script(Config& c, const json& s) {
    if (!s.is_array()) throw ConfigError("config key 'script' must be an array of {step, knob, value}");
    for (size_t i = 0; i < s.size(); ++i) {
        const json& e = s[i];
        const std::string where = "config key 'script[" + std::to_string(i) + "]'";
        if (!e.is_object() || !e.contains("step") || !e.contains("knob") || !e.contains("value"))
            throw ConfigError(where + " must be an object with step, knob and value");
        if (!e["step"].is_number_integer() || e["step"].get<long>() < 0)
            throw ConfigError(where + ".step must be a whole number ≥ 0");
        ScriptedChange ch;
        ch.step = e["step"].get<long>();
        ch.knob = e["knob"].is_string() ? e["knob"].get<std::string>() : "";
        const KnobDef& k = knob(ch.knob);
        if (k.kind != KnobKind::Live)
            throw ConfigError(where + ": knob '" + ch.knob + "' is structural and cannot change during a run");
        ch.value = e["value"].is_string() ? e["value"].get<std::string>() : e["value"].dump();
        Config probe = c;
        try {
            k.set_text(probe, ch.value);  // validates the value now, not mid-lesson
        } catch (const ConfigError& err) {
            throw ConfigError(where + ": " + err.what());
        }
        c.script.push_back(ch);
    }
}

}  // namespace

void Config::validate() const {
    if (top_k > experts)
        throw ConfigError("config: top_k = " + std::to_string(top_k) + " must be ≤ experts (" +
                          std::to_string(experts) + ")");
    if (policy == "expert_choice" && capacity_factor > 0 && capacity(batch_tokens) < 1)
        throw ConfigError("config: capacity_factor too small: experts would take no tokens");
    if (dataset == "csv" && csv_path.empty()) throw ConfigError("config: dataset 'csv' needs csv_path");
    if (dataset == "text" && text_path.empty()) throw ConfigError("config: dataset 'text' needs text_path");
    if ((policy == "hash" || policy == "random") && top_k > experts)
        throw ConfigError("config: top_k must be ≤ experts for hash/random routing");
}

long Config::capacity(long tokens) const {
    // Expert choice always has a capacity (cf 0 means the balanced share T·k/E).
    const double cf = capacity_factor > 0 ? capacity_factor : (policy == "expert_choice" ? 1.0 : 0.0);
    if (cf <= 0) return 0;
    return static_cast<long>(std::ceil(cf * static_cast<double>(tokens) * top_k / experts));
}

Config config_from_json(const json& j) {
    if (!j.is_object()) throw ConfigError("config must be a JSON object");
    Config c;
    for (const auto& [key, value] : j.items()) {
        if (key == "name" || key == "description") {
            if (!value.is_string()) throw ConfigError("config key '" + key + "' must be a string");
            (key == "name" ? c.name : c.description) = value.get<std::string>();
        } else if (key == "script") {
            // Read after the knobs so values are validated against the final config.
        } else if (std::find(std::begin(kSections), std::end(kSections), key) != std::end(kSections)) {
            if (!value.is_object()) throw ConfigError("config key '" + key + "' must be an object");
            for (const auto& [name, v] : value.items()) {
                const KnobDef* k = find_knob(name);
                if (!k || k->section != key) {
                    std::string hint;
                    if (k)
                        hint = " (it belongs in '" + std::string(k->section) + "')";
                    else
                        try {
                            knob(name);
                        } catch (const ConfigError& e) {
                            hint = std::string(": ") + e.what();
                        }
                    throw ConfigError("config key '" + key + "." + name + "' is unknown" + hint);
                }
                set_from_json(*k, c, v);
            }
        } else {
            throw ConfigError("config key '" + key +
                              "' is unknown (expected name, description, model, train, dataset, monitor, run, script)");
        }
    }
    if (j.contains("script")) read_script(c, j["script"]);
    c.validate();
    return c;
}

json config_to_json(const Config& c) {
    json j;
    j["name"] = c.name;
    j["description"] = c.description;
    for (const char* s : kSections) j[s] = json::object();
    for (const auto& k : knob_table()) {
        json& sec = j[std::string(k.section)];
        if (k.is_text())
            sec[std::string(k.name)] = k.get_text(c);
        else if (k.is_int())
            sec[std::string(k.name)] = static_cast<int>(k.get_number(c));
        else
            sec[std::string(k.name)] = k.get_number(c);
    }
    json script = json::array();
    for (const auto& ch : c.script) script.push_back({{"step", ch.step}, {"knob", ch.knob}, {"value", ch.value}});
    j["script"] = script;
    return j;
}

static json parse_json_text(const std::string& text, const std::string& origin) {
    try {
        return json::parse(text);
    } catch (const json::parse_error& e) {
        // nlohmann reports a byte offset; turn it into a line number for people.
        const size_t off = std::min<size_t>(e.byte, text.size());
        const long line = 1 + std::count(text.begin(), text.begin() + static_cast<long>(off), '\n');
        throw ConfigError(origin + " line " + std::to_string(line) + ": invalid JSON (" +
                          std::string(e.what()).substr(std::string(e.what()).rfind(':') + 2) + ")");
    }
}

Config load_config_file(const std::string& path) {
    if (const auto why = unreadable_file_reason(path); !why.empty())
        throw ConfigError("cannot open config file '" + path + "': " + why);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError("cannot open config file '" + path + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return config_from_json(parse_json_text(ss.str(), path));
    } catch (const ConfigError& e) {
        const std::string what = e.what();
        throw ConfigError(what.rfind(path, 0) == 0 ? what : path + ": " + what);
    }
}

void save_config_file(const Config& c, const std::string& path) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw ConfigError("cannot write config file '" + path + "'");
    out << config_to_json(c).dump(2) << "\n";
    if (!out) throw ConfigError("error while writing config file '" + path + "'");
}

std::vector<std::string> preset_names() {
    std::vector<std::string> names;
    for (const auto& p : embedded_presets()) names.emplace_back(p.name);
    return names;
}

Config load_preset(const std::string& name) {
    for (const auto& p : embedded_presets())
        if (p.name == name) return config_from_json(parse_json_text(std::string(p.json), "preset " + name));
    std::string known;
    for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
    throw ConfigError("unknown preset '" + name + "' (known: " + known + ")");
}

}  // namespace moescope
