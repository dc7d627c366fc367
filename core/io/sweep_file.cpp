#include "io/sweep_file.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "file_read.hpp"
#include "io/atomic_file.hpp"
#include "io/metrics_log.hpp"
#include "json_read.hpp"

namespace moescope {

namespace {

using nlohmann::json;

json axis_json(const SweepAxis& a) {
    return {{"knob", a.knob}, {"lo", a.lo}, {"hi", a.hi}, {"n", a.n}, {"log", a.log}};
}

// Reading: every lookup names the key it wanted, so a damaged file says where.
struct Reader {
    std::string what;

    [[noreturn]] void fail(const std::string& msg) const { throw DataError(what + ": " + clip_text(msg, 280)); }

    const json& at(const json& j, const char* key, const std::string& where) const {
        if (!j.is_object() || !j.contains(key)) fail("missing key '" + where + key + "'");
        return j.at(key);
    }
    double number(const json& j, const char* key, const std::string& where) const {
        const json& v = at(j, key, where);
        if (!v.is_number()) fail("'" + where + key + "' must be a number");
        return v.get<double>();
    }
    // A whole number in [lo, hi]: a count the file declares is never truncated into another one.
    long integer(const json& j, const char* key, const std::string& where, long lo = std::numeric_limits<int>::min(),
                 long hi = std::numeric_limits<int>::max()) const {
        const json& v = at(j, key, where);
        if (!v.is_number_integer()) fail("'" + where + key + "' must be a whole number");
        const bool fits = v.is_number_unsigned() ? v.get<unsigned long long>() <= (unsigned long long)hi
                                                 : v.get<long long>() >= lo && v.get<long long>() <= hi;
        if (!fits)
            fail("'" + where + key + "' is " + v.dump() + ", outside [" + std::to_string(lo) + ", " +
                 std::to_string(hi) + "]");
        return long(v.get<long long>());
    }
    SweepAxis axis(const json& j, const std::string& where) const {
        SweepAxis a;
        const json& k = at(j, "knob", where);
        if (!k.is_string()) fail("'" + where + "knob' must be a string");
        a.knob = k.get<std::string>();
        a.lo = number(j, "lo", where);
        a.hi = number(j, "hi", where);
        a.n = int(integer(j, "n", where));
        const json& lg = at(j, "log", where);
        if (!lg.is_boolean()) fail("'" + where + "log' must be true or false");
        a.log = lg.get<bool>();
        return a;
    }
};

}  // namespace

json sweep_to_json(const SweepResult& r) {
    const SweepSpec& s = r.spec;
    json measures = json::array();
    for (const auto& m : sweep_measures()) measures.push_back(std::string(m.name));
    json cells = json::array();
    for (const SweepCell& c : r.cells) {
        json runs = json::array();
        for (const SweepRun& run : c.runs) {
            json values = json::array();
            for (double v : run.values) values.push_back(json_number(v));
            runs.push_back({{"seed", run.seed}, {"values", std::move(values)}});
        }
        cells.push_back({{"ix", c.ix}, {"iy", c.iy}, {"x", c.x}, {"y", c.y}, {"runs", std::move(runs)}});
    }
    return {{"format", kSweepFormat},
            {"version", kSweepVersion},
            {"config", config_to_json(s.base)},
            {"spec", {{"x", axis_json(s.x)}, {"y", axis_json(s.y)}, {"steps", s.steps}, {"seeds", s.seeds}}},
            {"measures", std::move(measures)},
            {"cells", std::move(cells)}};
}

SweepResult sweep_from_json(const json& j, const std::string& what) {
    const Reader rd{what};
    if (!j.is_object()) rd.fail("not a JSON object");
    const json& fmt = rd.at(j, "format", "");
    if (fmt != kSweepFormat) rd.fail("format is " + json_excerpt(fmt) + ", expected \"" + kSweepFormat + "\"");
    if (const long v = rd.integer(j, "version", ""); v != kSweepVersion)
        rd.fail("version " + std::to_string(v) + " is not supported (this build reads version " +
                std::to_string(kSweepVersion) + ")");

    SweepResult r;
    try {
        r.spec.base = config_from_json(rd.at(j, "config", ""));
    } catch (const ConfigError& e) {
        rd.fail(std::string("config: ") + e.what());
    }
    const json& spec = rd.at(j, "spec", "");
    r.spec.x = rd.axis(rd.at(spec, "x", "spec."), "spec.x.");
    r.spec.y = rd.axis(rd.at(spec, "y", "spec."), "spec.y.");
    r.spec.steps = rd.integer(spec, "steps", "spec.", 1, kSweepMaxSteps);
    r.spec.seeds = int(rd.integer(spec, "seeds", "spec."));
    try {
        r.spec.validate();
    } catch (const ConfigError& e) {
        rd.fail(e.what());
    }

    const json& measures = rd.at(j, "measures", "");
    const auto& known = sweep_measures();
    if (!measures.is_array() || measures.size() != known.size())
        rd.fail("'measures' does not list this build's measures");
    for (size_t m = 0; m < known.size(); ++m)
        if (measures[m] != std::string(known[m].name))
            rd.fail("measure " + std::to_string(m) + " is " + json_excerpt(measures[m]) + ", expected \"" +
                    std::string(known[m].name) + "\"");

    const json& cells = rd.at(j, "cells", "");
    if (!cells.is_array()) rd.fail("'cells' must be an array");
    std::set<std::pair<int, int>> seen;
    for (size_t i = 0; i < cells.size(); ++i) {
        const std::string where = "cells[" + std::to_string(i) + "].";
        const json& cj = cells[i];
        SweepCell c;
        c.ix = int(rd.integer(cj, "ix", where));
        c.iy = int(rd.integer(cj, "iy", where));
        if (c.ix < 0 || c.ix >= r.spec.x.n || c.iy < 0 || c.iy >= r.spec.y.n)
            rd.fail(where + "ix/iy (" + std::to_string(c.ix) + ", " + std::to_string(c.iy) + ") lies outside the " +
                    std::to_string(r.spec.x.n) + "×" + std::to_string(r.spec.y.n) + " grid");
        if (!seen.insert({c.iy, c.ix}).second) rd.fail(where + "cell appears twice");
        c.x = r.spec.x.value(c.ix);  // from the spec: the stored x, y are for people reading the file
        c.y = r.spec.y.value(c.iy);
        const json& runs = rd.at(cj, "runs", where);
        if (!runs.is_array() || long(runs.size()) != r.spec.seeds)
            rd.fail(where + "runs must hold one run per seed (" + std::to_string(r.spec.seeds) + ")");
        for (size_t s = 0; s < runs.size(); ++s) {
            const std::string rw = where + "runs[" + std::to_string(s) + "].";
            SweepRun run;
            run.seed = int(rd.integer(runs[s], "seed", rw));
            const long long expected = (long long)r.spec.base.seed + (long long)s;
            if (run.seed != expected)
                rd.fail(rw + "seed " + std::to_string(run.seed) + " should be " + std::to_string(expected));
            const json& values = rd.at(runs[s], "values", rw);
            if (!values.is_array() || values.size() != known.size())
                rd.fail(rw + "values must hold " + std::to_string(known.size()) + " numbers");
            for (size_t m = 0; m < known.size(); ++m) {
                if (!values[m].is_null() && !values[m].is_number())
                    rd.fail(rw + "values[" + std::to_string(m) + "] must be a number or null");
                run.values[m] = values[m].is_null() ? kNaN : values[m].get<double>();
            }
            c.runs.push_back(run);
        }
        r.cells.push_back(std::move(c));
    }
    std::sort(r.cells.begin(), r.cells.end(),
              [](const SweepCell& a, const SweepCell& b) { return std::tie(a.iy, a.ix) < std::tie(b.iy, b.ix); });
    return r;
}

void save_sweep(const SweepResult& r, const std::string& path) {
    write_file_atomically(path, {sweep_to_json(r).dump(1), "\n"}, "sweep file");
}

SweepResult load_sweep(const std::string& path) {
    const std::string what = "sweep file '" + clip_text(path, 200) + "'";
    const std::string text = read_regular_file(path, kMaxSweepBytes, "sweep file");
    json j;
    try {
        j = json::parse(text);
    } catch (const json::parse_error& e) {
        throw DataError(what + ": not valid JSON (" + json_error_text(e) + ")");
    } catch (const json::exception& e) {
        // The one other failure of parsing: a number beyond a double ("1e400"), which the library names quoted.
        const std::string said = e.what();
        const auto open = said.find('\''), close = open == std::string::npos ? open : said.find('\'', open + 1);
        const std::string number = close == std::string::npos ? std::string("a number")
                                                              : clip_text(said.substr(open + 1, close - open - 1), 40);
        throw DataError(what + ": " + number +
                        " is beyond the range of a double (a number too large to hold); every value must be a "
                        "finite number or null");
    }
    return sweep_from_json(j, what);
}

void export_sweep_cells(const SweepResult& r, const std::string& path) {
    const bool csv = has_extension(path, ".csv");
    if (!csv && !has_extension(path, ".jsonl"))
        throw ConfigError("sweep export '" + path + "' must end in .csv or .jsonl (or .moesweep for the whole sweep)");
    const auto& measures = sweep_measures();
    std::ostringstream out;
    if (csv) {
        out << "ix,iy," << r.spec.x.knob << ',' << r.spec.y.knob << ",seeds,collapsed,disputed";
        for (const auto& m : measures)
            out << ',' << m.name << "_mean," << m.name << "_median," << m.name << "_min," << m.name << "_max";
        out << '\n';
    }
    for (const SweepCell& c : r.cells) {
        if (csv) {
            out << c.ix << ',' << c.iy << ',' << csv_number(c.x) << ',' << csv_number(c.y) << ',' << c.runs.size()
                << ',' << int(sweep_cell_collapsed(c, r.spec.base)) << ',' << int(sweep_cell_disputed(c, r.spec.base));
            for (size_t m = 0; m < measures.size(); ++m) {
                const SweepStat s = c.stat(int(m));
                out << ',' << csv_number(s.mean) << ',' << csv_number(s.median) << ',' << csv_number(s.min) << ','
                    << csv_number(s.max);
            }
            out << '\n';
        } else {
            json row = {{"ix", c.ix},
                        {"iy", c.iy},
                        {r.spec.x.knob, c.x},
                        {r.spec.y.knob, c.y},
                        {"seeds", c.runs.size()},
                        {"collapsed", sweep_cell_collapsed(c, r.spec.base)},
                        {"disputed", sweep_cell_disputed(c, r.spec.base)}};
            for (size_t m = 0; m < measures.size(); ++m) {
                const SweepStat s = c.stat(int(m));
                row[std::string(measures[m].name)] = {{"mean", json_number(s.mean)},
                                                      {"median", json_number(s.median)},
                                                      {"min", json_number(s.min)},
                                                      {"max", json_number(s.max)}};
            }
            out << row.dump() << '\n';
        }
    }
    write_file_atomically(path, {out.str()}, "sweep export");
}

}  // namespace moescope
