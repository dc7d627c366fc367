#include "train/config.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string_view>

#include <nlohmann/json.hpp>

#include "data/shipped_data.hpp"
#include "error.hpp"
#include "file_read.hpp"
#include "io/atomic_file.hpp"
#include "json_read.hpp"
#include "train/knobs.hpp"
#include "train/presets_data.hpp"

namespace moescope {

using nlohmann::json;

namespace {

const char* const kSections[] = {"model", "train", "dataset", "monitor", "run"};

std::string json_type(const json& v) { return v.type_name(); }

std::string path_from_json(const json& v, const std::string& where) {
    const json& h = v.at("hex");
    const std::string hex = h.is_string() ? h.get<std::string>() : "";
    std::string out;
    auto nibble = [](char ch) {
        return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
    };
    for (size_t i = 0; i + 1 < hex.size() && nibble(hex[i]) >= 0 && nibble(hex[i + 1]) >= 0; i += 2)
        out += static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1]));
    if (!h.is_string() || out.size() * 2 != hex.size())
        throw ConfigError("config key '" + where +
                          "': {\"hex\": ...} must hold an even number of lowercase hex digits");
    return out;
}

void set_from_json(const KnobDef& k, Config& c, const json& v) {
    const std::string where = std::string(k.section) + "." + std::string(k.name);
    if (k.is_path() && v.is_object() && v.size() == 1 && v.contains("hex")) {
        k.set_text(c, path_from_json(v, where));
        return;
    }
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
    // One scratch config for checking values: copying `c` per entry would copy the growing script (quadratic).
    Config probe = c;
    probe.script.clear();
    c.script.reserve(s.size());
    long first_control = -1;  // the step of the first control entry
    for (size_t i = 0; i < s.size(); ++i) {
        const json& e = s[i];
        const std::string where = "config key 'script[" + std::to_string(i) + "]'";
        if (!e.is_object() || !e.contains("step") || !e.contains("knob") || !e.contains("value"))
            throw ConfigError(where + " must be an object with step, knob and value");
        for (const auto& [key, v] : e.items())
            if (key != "step" && key != "knob" && key != "value" && key != "control")
                throw ConfigError(where + " has an unknown key '" + clip_text(key) +
                                  "' (expected step, knob, value and optionally control)");
        if (e.contains("control") && !e["control"].is_boolean())
            throw ConfigError(where + ".control must be true or false, not " + json_type(e["control"]));
        if (!e["step"].is_number_integer() || e["step"].get<long>() < 0)
            throw ConfigError(where + ".step must be a whole number ≥ 0");
        if (!e["knob"].is_string())
            throw ConfigError(where + ".knob must be a knob name (a string), not " + json_type(e["knob"]));
        ScriptedChange ch;
        ch.step = e["step"].get<long>();
        ch.knob = e["knob"].get<std::string>();
        const KnobDef* k = nullptr;
        try {
            k = &knob(ch.knob);
        } catch (const ConfigError& err) {
            throw ConfigError(where + ": " + err.what());
        }
        if (k->kind != KnobKind::Live)
            throw ConfigError(where + ": knob '" + ch.knob + "' is structural and cannot change during a run");
        ch.value = e["value"].is_string() ? e["value"].get<std::string>() : e["value"].dump();
        ch.control = e.value("control", false);
        if (ch.control && first_control >= 0 && first_control != ch.step)
            throw ConfigError(where + ": a script forks one control run, at one step: control entries at steps " +
                              std::to_string(first_control) + " and " + std::to_string(ch.step));
        if (ch.control) first_control = ch.step;
        try {
            k->set_text(probe, ch.value);  // validates the value now, not mid-lesson
        } catch (const ConfigError& err) {
            throw ConfigError(where + ": " + err.what());
        }
        c.script.push_back(std::move(ch));
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
    if (is_lm() != (dataset == "lm"))
        throw ConfigError(is_lm() ? "config: model 'transformer' trains on dataset 'lm' (got dataset '" + dataset + "')"
                                  : "config: dataset 'lm' needs model 'transformer' (got model '" + model + "')");
    if (is_lm() && d_model % heads != 0)
        throw ConfigError("config: d_model = " + std::to_string(d_model) + " must be a multiple of heads (" +
                          std::to_string(heads) + ")");
    if (is_lm() && context < 2) throw ConfigError("config: the lm dataset needs context ≥ 2 (its sequence length)");
    if (is_lm() && batch_tokens % context != 0)
        throw ConfigError("config: batch_tokens = " + std::to_string(batch_tokens) +
                          " must be a multiple of context (" + std::to_string(context) +
                          ") for the lm dataset: a batch is whole sequences");
    if ((policy == "hash" || policy == "random") && top_k > experts)
        throw ConfigError("config: top_k must be ≤ experts for hash/random routing");
}

long Config::capacity(long tokens) const {
    // Expert choice always has a capacity (cf 0 means the balanced share T·k/E).
    const double cf = capacity_factor > 0 ? capacity_factor : (policy == "expert_choice" ? 1.0 : 0.0);
    if (cf <= 0) return 0;
    return static_cast<long>(std::ceil(cf * static_cast<double>(tokens) * top_k / experts));
}

long control_step(const Config& c) {
    for (const auto& ch : c.script)
        if (ch.control) return ch.step;
    return -1;
}

std::vector<std::string> control_knobs(const Config& c) {
    std::vector<std::string> knobs;
    for (const auto& ch : c.script)
        if (ch.control && std::find(knobs.begin(), knobs.end(), ch.knob) == knobs.end()) knobs.push_back(ch.knob);
    return knobs;
}

Config control_config(const Config& c) {
    const long at = control_step(c);
    const std::vector<std::string> kept = control_knobs(c);
    Config out = c;
    std::erase_if(out.script, [&](const ScriptedChange& ch) {
        return ch.step >= at && std::find(kept.begin(), kept.end(), ch.knob) != kept.end();
    });
    for (auto& ch : out.script) ch.control = false;
    return out;
}

Config config_from_json(const json& j) {
    if (!j.is_object()) throw ConfigError("config must be a JSON object");
    Config c;
    for (const auto& [key, value] : j.items()) {
        if (key == "name" || key == "description") {
            if (!value.is_string()) throw ConfigError("config key '" + key + "' must be a string");
            (key == "name" ? c.name : c.description) = value.get<std::string>();
        } else if (key == "lesson_steps") {
            if (!value.is_number_integer() || value.get<long>() < 0 || value.get<long>() > 1000000000)
                throw ConfigError("config key 'lesson_steps' must be a whole number of steps in [0, 1e9], got " +
                                  clip_text(value.dump()));
            c.lesson_steps = value.get<long>();
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
            throw ConfigError(
                "config key '" + key +
                "' is unknown (expected name, description, lesson_steps, model, train, dataset, monitor, run, "
                "script)");
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
        if (k.is_path())
            sec[std::string(k.name)] = path_to_json(k.get_text(c));
        else if (k.is_text())
            sec[std::string(k.name)] = k.get_text(c);
        else if (k.is_int())
            sec[std::string(k.name)] = static_cast<int>(k.get_number(c));
        else
            sec[std::string(k.name)] = k.get_number(c);
    }
    json script = json::array();
    for (const auto& ch : c.script) {
        script.push_back({{"step", ch.step}, {"knob", ch.knob}, {"value", ch.value}});
        if (ch.control) script.back()["control"] = true;
    }
    j["script"] = script;
    if (c.lesson_steps > 0) j["lesson_steps"] = c.lesson_steps;
    return j;
}

// "line 3" of the byte offset `off` in `text`.
static std::string line_of(const std::string& text, size_t off) {
    off = std::min(off, text.size());
    return "line " + std::to_string(1 + std::count(text.begin(), text.begin() + static_cast<long>(off), '\n'));
}

static json parse_json_text(const std::string& text, const std::string& origin) {
    try {
        return json::parse(text);
    } catch (const json::parse_error& e) {
        // nlohmann reports a byte offset; turn it into a line number for people.
        const size_t off = e.byte > 0 ? e.byte - 1 : 0;
        std::string why = json_error_text(e);
        if (const auto dash = why.find(" - "); dash != std::string::npos) why.erase(0, dash + 3);
        // The word the parser stopped in: NaN and Infinity are common and deserve a plain answer.
        size_t w = std::min(off, text.size());
        while (w > 0 && std::isalpha(static_cast<unsigned char>(text[w - 1]))) --w;
        const std::string word = text.substr(w, 8);
        if (word.rfind("NaN", 0) == 0 || word.rfind("nan", 0) == 0 || word.rfind("Inf", 0) == 0 ||
            word.rfind("inf", 0) == 0)
            why = "JSON has no NaN or Infinity; every number must be finite";
        throw ConfigError(origin + " " + line_of(text, off) + ": invalid JSON (" + clip_text(why) + ")");
    } catch (const json::out_of_range& e) {
        // A number beyond double range ("1e400"); the library names the literal but not where it is.
        std::string literal = e.what();
        const auto q = literal.find('\'');
        literal = q == std::string::npos ? "" : literal.substr(q + 1, literal.rfind('\'') - q - 1);
        const size_t at = literal.empty() ? std::string::npos : text.find(literal);
        std::string key;
        if (at != std::string::npos) {
            const size_t colon = text.rfind(':', at), close = text.rfind('"', colon), open = text.rfind('"', close - 1);
            if (colon != std::string::npos && close != std::string::npos && open != std::string::npos && close > 0)
                key = " (key '" + text.substr(open + 1, close - open - 1) + "')";
        }
        throw ConfigError(origin + (at == std::string::npos ? "" : " " + line_of(text, at)) + ": number " +
                          clip_text(literal) + " is too large for a double" + key);
    }
}

Config load_config_file(const std::string& path) {
    std::string text;
    try {
        text = read_regular_file(path, kMaxConfigBytes, "config file");
    } catch (const DataError& e) {
        throw ConfigError(e.what());
    }
    try {
        return config_from_json(parse_json_text(text, path));
    } catch (const ConfigError& e) {
        const std::string what = e.what();
        throw ConfigError(what.rfind(path, 0) == 0 ? what : path + ": " + what);
    }
}

void save_config_file(const Config& c, const std::string& path) {
    // Atomic like a snapshot: an earlier config is replaced whole or not at all.
    write_file_atomically(path, {config_to_json(c).dump(2), "\n"}, "config");
}

namespace {
// "lesson2" < "lesson10": digit runs compare as numbers, the rest as text.
bool natural_less(const std::string& a, const std::string& b) {
    size_t i = 0, j = 0;
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    while (i < a.size() && j < b.size()) {
        if (digit(a[i]) && digit(b[j])) {
            size_t ie = i, je = j;
            while (ie < a.size() && digit(a[ie])) ++ie;
            while (je < b.size() && digit(b[je])) ++je;
            const std::string_view na = std::string_view(a).substr(i, ie - i),
                                   nb = std::string_view(b).substr(j, je - j);
            const auto strip = [](std::string_view v) {
                while (v.size() > 1 && v.front() == '0') v.remove_prefix(1);
                return v;
            };
            const std::string_view sa = strip(na), sb = strip(nb);
            if (sa.size() != sb.size()) return sa.size() < sb.size();
            if (sa != sb) return sa < sb;
            i = ie, j = je;
            continue;
        }
        if (a[i] != b[j]) return a[i] < b[j];
        ++i, ++j;
    }
    return a.size() - i < b.size() - j;
}
}  // namespace

std::vector<std::string> preset_names() {
    std::vector<std::string> names;
    for (const auto& p : embedded_presets()) names.emplace_back(p.name);
    std::stable_sort(names.begin(), names.end(), natural_less);
    return names;
}

Config load_preset(const std::string& name) {
    for (const auto& p : embedded_presets())
        if (p.name == name) {
            Config c = config_from_json(parse_json_text(std::string(p.json), "preset " + name));
            c.text_path = shipped_data_path(c.text_path);  // a preset names a shipped text by its file name
            return c;
        }
    std::string known;
    for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
    throw ConfigError("unknown preset '" + name + "' (known: " + known + ")");
}

}  // namespace moescope
