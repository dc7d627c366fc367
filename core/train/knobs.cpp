#include "train/knobs.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

#include "error.hpp"

namespace moescope {

namespace {

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
