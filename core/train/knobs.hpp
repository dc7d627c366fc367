#pragma once
// The knob table: the single definition of every settable value (name, section,
// live or structural, type, range, default, unit, help). See config.hpp.
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "train/config.hpp"

namespace moescope {

enum class KnobKind { Live, Structural };

struct KnobDef {
    std::string_view name;
    std::string_view section;  // model | train | dataset | monitor | run
    KnobKind kind;
    std::variant<double Config::*, int Config::*, std::string Config::*> field;
    double min = 0, max = 0;                // numeric range, inclusive
    std::vector<std::string_view> choices;  // non-empty for enumerations
    std::string_view unit;
    bool log_scale = false;  // sliders: rates and weights span decades
    std::string_view help;   // one line: what it does and why it matters

    bool is_real() const { return std::holds_alternative<double Config::*>(field); }
    bool is_int() const { return std::holds_alternative<int Config::*>(field); }
    bool is_text() const { return std::holds_alternative<std::string Config::*>(field); }
    // Paths are any bytes (a file system's names need not be UTF-8); other text must be UTF-8.
    bool is_path() const { return is_text() && name.ends_with("_path"); }

    // The knob's value in `c`, as text (numbers in shortest round-trip form).
    std::string get_text(const Config& c) const;
    double get_number(const Config& c) const;  // numeric knobs only
    // Parses and range-checks `text`, then stores it. Throws ConfigError
    // "knob 'aux_weight': '-1' is out of range [0, 10]" and leaves `c` unchanged.
    void set_text(Config& c, std::string_view text) const;
    void set_number(Config& c, double v) const;
    std::string default_text() const;
    std::string range_text() const;  // "[0, 10]" or "topk|noisy_topk|..."
};

const std::vector<KnobDef>& knob_table();
// Accepts "aux_weight" and "train.aux_weight". Returns nullptr when unknown.
const KnobDef* find_knob(std::string_view name);
// Like find_knob but throws ConfigError naming the unknown knob and the closest known one.
const KnobDef& knob(std::string_view name);

}  // namespace moescope
