#include "train/sweep.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "error.hpp"
#include "monitor/metrics.hpp"
#include "train/knobs.hpp"

namespace moescope {

namespace {

constexpr int kMaxAxisPoints = 64;
constexpr long long kMaxSeed = std::numeric_limits<int>::max();  // the seed knob's range is [0, INT_MAX]

std::string shortest(double v) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

double parse_number(std::string_view part, std::string_view what, std::string_view text) {
    double v = 0;
    const char* first = part.data();
    const char* last = part.data() + part.size();
    if (!part.empty() && *first == '+') ++first;
    const auto [end, ec] = std::from_chars(first, last, v);
    if (part.empty() || ec != std::errc() || end != last || !std::isfinite(v))
        throw ConfigError("sweep axis '" + std::string(text) + "': " + std::string(what) + " '" + std::string(part) +
                          "' is not a number");
    return v;
}

void validate_axis(const SweepAxis& a, std::string_view which) {
    const std::string at = "sweep " + std::string(which) + " axis: ";
    const KnobDef& k = knob(a.knob);  // throws "unknown knob ... did you mean"
    if (k.is_text()) throw ConfigError(at + "knob '" + a.knob + "' is not numeric (it takes " + k.range_text() + ")");
    if (a.n < 1 || a.n > kMaxAxisPoints)
        throw ConfigError(at + "the number of points must be in [1, " + std::to_string(kMaxAxisPoints) + "], got " +
                          std::to_string(a.n));
    if (!std::isfinite(a.lo) || !std::isfinite(a.hi)) throw ConfigError(at + "lo and hi must be finite numbers");
    if (a.lo > a.hi) throw ConfigError(at + "lo " + shortest(a.lo) + " is above hi " + shortest(a.hi));
    if (a.lo < k.min || a.hi > k.max)
        throw ConfigError(at + shortest(a.lo) + ":" + shortest(a.hi) + " leaves the range " + k.range_text() +
                          " of knob '" + a.knob + "'");
    if (a.log && a.lo <= 0)
        throw ConfigError(at + "a log axis needs lo > 0, got " + shortest(a.lo) + " for knob '" + a.knob + "'");
}

}  // namespace

double SweepAxis::value(int i) const {
    const double t = n > 1 ? double(i) / double(n - 1) : 0.0;
    double v = log ? lo * std::pow(hi / lo, t) : lo + (hi - lo) * t;
    if (i == n - 1 && n > 1) v = hi;  // exactly hi, not hi·(1 ± ε)
    const KnobDef* k = find_knob(knob);
    if (k && k->is_int()) v = std::round(v);
    return v;
}

SweepAxis parse_sweep_axis(std::string_view text, bool log) {
    const std::string t(text);
    const auto eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0)
        throw ConfigError("sweep axis '" + t + "': expected KNOB=LO:HI:N, e.g. aux_weight=1e-3:1:7");
    SweepAxis a;
    a.knob = std::string(knob(text.substr(0, eq)).name);
    a.log = log;
    const std::string_view range = text.substr(eq + 1);
    const auto c1 = range.find(':');
    const auto c2 = c1 == std::string_view::npos ? c1 : range.find(':', c1 + 1);
    if (c2 == std::string_view::npos || range.find(':', c2 + 1) != std::string_view::npos)
        throw ConfigError("sweep axis '" + t + "': expected KNOB=LO:HI:N, e.g. aux_weight=1e-3:1:7");
    a.lo = parse_number(range.substr(0, c1), "lo", text);
    a.hi = parse_number(range.substr(c1 + 1, c2 - c1 - 1), "hi", text);
    const double n = parse_number(range.substr(c2 + 1), "N", text);
    if (n != std::floor(n) || n < 1 || n > kMaxAxisPoints)
        throw ConfigError("sweep axis '" + t + "': N must be a whole number in [1, " + std::to_string(kMaxAxisPoints) +
                          "]");
    a.n = int(n);
    return a;
}

std::string sweep_axis_text(const SweepAxis& a) {
    return a.knob + "=" + shortest(a.lo) + ":" + shortest(a.hi) + ":" + std::to_string(a.n);
}

void SweepSpec::validate() const {
    validate_axis(x, "x");
    validate_axis(y, "y");
    if (x.knob == y.knob)
        throw ConfigError("sweep: x and y both sweep knob '" + x.knob + "'; pick two different knobs");
    if (steps < 1 || steps > kSweepMaxSteps)
        throw ConfigError("sweep: steps must be in [1, " + std::to_string(kSweepMaxSteps) + "], got " +
                          std::to_string(steps));
    if (seeds < 1 || seeds > kSweepMaxSeeds)
        throw ConfigError("sweep: seeds must be in [1, " + std::to_string(kSweepMaxSeeds) + "], got " +
                          std::to_string(seeds));
    if (base.seed < 0 || (long long)base.seed + seeds - 1 > kMaxSeed)
        throw ConfigError("sweep: the runs' seeds " + std::to_string(base.seed) + " to " +
                          std::to_string((long long)base.seed + seeds - 1) + " leave the seed knob's range [0, " +
                          std::to_string(kMaxSeed) + "]; lower the config's seed or the number of seeds");
    if (!base.script.empty()) throw ConfigError("sweep: the base config must have no lesson script");
    // Every cell, so a bad combination (top_k above experts) fails before hours of runs.
    for (int iy = 0; iy < y.n; ++iy)
        for (int ix = 0; ix < x.n; ++ix) {
            const Config c = sweep_run_config(*this, ix, iy, 0);
            try {
                c.validate();
            } catch (const ConfigError& e) {
                throw ConfigError("sweep cell " + x.knob + "=" + shortest(x.value(ix)) + ", " + y.knob + "=" +
                                  shortest(y.value(iy)) + ": " + e.what());
            }
        }
}

SweepSpec make_sweep_spec(Config base, SweepAxis x, SweepAxis y, long steps, int seeds) {
    base.script.clear();
    return {std::move(base), std::move(x), std::move(y), steps, seeds};
}

SweepTask sweep_task(const SweepSpec& spec, long u) {
    const long cell = u / spec.seeds;
    return {int(cell % spec.x.n), int(cell / spec.x.n), int(u % spec.seeds)};
}

Config sweep_run_config(const SweepSpec& spec, int ix, int iy, int s) {
    Config c = spec.base;
    c.script.clear();
    knob(spec.x.knob).set_number(c, spec.x.value(ix));
    knob(spec.y.knob).set_number(c, spec.y.value(iy));
    const long long seed = (long long)spec.base.seed + s;  // validate() keeps it a valid seed
    if (seed < 0 || seed > kMaxSeed) throw ConfigError("sweep: run seed " + std::to_string(seed) + " is out of range");
    c.seed = int(seed);
    return c;
}

const std::array<SweepMeasure, kSweepMeasures>& sweep_measures() {
    static const std::array<SweepMeasure, kSweepMeasures> table = {{
        {"load_entropy", "load entropy", true},
        {"load_entropy_worst", "load entropy (worst window)", true},
        {"max_util", "max utilisation", false},
        {"max_util_worst", "max utilisation (worst window)", false},
        {"dead_experts", "dead experts", false},
        {"dead_experts_worst", "dead experts (worst window)", false},
        {"dropped", "dropped share", false},
        {"dropped_worst", "dropped share (worst window)", false},
        {"router_entropy", "router entropy", true},
        {"router_entropy_worst", "router entropy (worst window)", true},
        {"test_acc", "held-out accuracy", true},
        {"halted", "halted (non-finite)", false},
    }};
    return table;
}

int sweep_measure_index(std::string_view name) {
    const auto& m = sweep_measures();
    for (size_t i = 0; i < m.size(); ++i)
        if (m[i].name == name) return int(i);
    std::string known;
    for (const auto& d : m) known += (known.empty() ? "" : ", ") + std::string(d.name);
    throw ConfigError("unknown sweep measure '" + std::string(name) + "' (known: " + known + ")");
}

long sweep_window(long steps) { return std::clamp(steps / 10, 1L, 50L); }

SweepStat SweepCell::stat(int measure) const {
    SweepStat s{kNaN, kNaN, kNaN, kNaN, 0};
    std::vector<double> finite;
    for (const SweepRun& r : runs)
        if (const double v = r.values[size_t(measure)]; std::isfinite(v)) finite.push_back(v);
    if (finite.empty()) return s;
    std::sort(finite.begin(), finite.end());
    const size_t n = finite.size();
    s.n = int(n);
    s.min = finite.front();
    s.max = finite.back();
    s.median = n % 2 ? finite[n / 2] : (finite[n / 2 - 1] + finite[n / 2]) / 2;
    double sum = 0;
    for (double v : finite) sum += v;
    s.mean = sum / double(n);
    return s;
}

const SweepCell* SweepResult::cell(int ix, int iy) const {
    for (const SweepCell& c : cells)
        if (c.ix == ix && c.iy == iy) return &c;
    return nullptr;
}

bool sweep_run_collapsed(const SweepRun& r, const Config& base) {
    const double h = r.values[kLoadEntropy];
    return r.values[kHalted] > 0 || (std::isfinite(h) && h < base.collapse_entropy);
}

bool sweep_cell_collapsed(const SweepCell& c, const Config& base) {
    const SweepStat h = c.stat(kLoadEntropy);
    long halted = 0;
    for (const SweepRun& r : c.runs) halted += r.values[kHalted] > 0;
    return (h.n > 0 && h.median < base.collapse_entropy) || 2 * halted > long(c.runs.size());
}

bool sweep_cell_disputed(const SweepCell& c, const Config& base) {
    long collapsed = 0;
    for (const SweepRun& r : c.runs) collapsed += sweep_run_collapsed(r, base);
    return collapsed > 0 && collapsed < long(c.runs.size());
}

}  // namespace moescope
