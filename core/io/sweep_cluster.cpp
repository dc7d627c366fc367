#include "io/sweep_cluster.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "file_read.hpp"
#include "hash.hpp"
#include "io/atomic_file.hpp"
#include "io/sweep_file.hpp"
#include "json_read.hpp"
#include "monitor/metrics.hpp"

namespace moescope {

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxRunBytes = 1 * kMiB;

// FNV-1a over the definition's text: the same sweep gives the same id on every machine.
std::string definition_id(const SweepSpec& spec) {
    return hash_text(fnv1a(sweep_to_json(SweepResult{spec, {}}).dump()));
}

// Slurm reads #SBATCH lines without a shell's quoting, and '%' starts a file-name
// pattern in --output: a path with any of these is refused rather than mangled.
void check_slurm_path(const std::string& path, const std::string& what) {
    for (const unsigned char ch : path)
        if (ch <= ' ' || ch == 0x7f || std::strchr("\"'`$%\\", ch))
            throw ConfigError(what + " '" + clip_text(path) +
                              "' holds a character an sbatch script cannot carry (whitespace, a quote, '$', '%' or "
                              "'\\'); choose a path without it");
}

// A value that goes on an #SBATCH line: printable, no spaces.
void check_slurm_value(const std::string& v, const std::string& flag) {
    if (v.empty()) return;
    for (const unsigned char ch : v)
        if (ch <= ' ' || ch == 0x7f || std::strchr("\"'`$\\", ch))
            throw ConfigError(flag + " '" + clip_text(v) + "' must be one word without quotes, '$' or '\\'");
}

std::string absolute(const std::string& path) {
    std::error_code ec;
    const fs::path p = fs::absolute(path, ec);
    return (ec ? fs::path(path) : p).lexically_normal().string();
}

std::string task_row_text(long u) { return std::to_string(u); }

}  // namespace

std::string slurm_array_ranges(std::vector<long> tasks) {
    std::sort(tasks.begin(), tasks.end());
    tasks.erase(std::unique(tasks.begin(), tasks.end()), tasks.end());
    std::string out;
    for (size_t i = 0; i < tasks.size();) {
        size_t j = i;
        while (j + 1 < tasks.size() && tasks[j + 1] == tasks[j] + 1) ++j;
        if (!out.empty()) out += ',';
        out += task_row_text(tasks[i]);
        if (j > i) out += '-' + task_row_text(tasks[j]);
        i = j + 1;
    }
    return out;
}

std::string emit_slurm_sweep(const SweepSpec& spec, const SlurmOptions& o, const std::string& dir_arg) {
    spec.validate();
    if (dir_arg.empty()) throw ConfigError("--emit slurm needs a folder");
    const std::string dir = absolute(dir_arg);
    check_slurm_path(dir, "the sweep folder");
    check_slurm_path(o.cli, "the moescope-cli path");
    check_slurm_value(o.partition, "--partition");
    check_slurm_value(o.time, "--time");
    check_slurm_value(o.gres, "--gres");
    check_slurm_value(o.mem, "--mem");
    check_slurm_value(o.account, "--account");
    if (o.cpus_per_task < 1 || o.cpus_per_task > 4096)
        throw ConfigError("--cpus-per-task must be in [1, 4096], got " + std::to_string(o.cpus_per_task));
    if (o.parallel < 0 || o.parallel > 1'000'000)
        throw ConfigError("--parallel must be in [0, 1000000] (0: no limit), got " + std::to_string(o.parallel));
    if (o.time.empty()) throw ConfigError("--time needs a value such as 1:00:00");

    const std::string def_path = (fs::path(dir) / "sweep.moesweep").string();
    const std::string id = definition_id(spec);
    std::error_code ec;
    if (fs::exists(fs::symlink_status(dir, ec))) {
        if (!fs::is_directory(fs::symlink_status(dir, ec)))
            throw ConfigError("the sweep folder '" + clip_text(dir_arg) + "' exists and is not a folder");
        bool ours = false;
        if (fs::exists(def_path, ec)) {
            try {
                ours = load_cluster_sweep(dir).id == id;
            } catch (const Error&) {
                ours = false;
            }
            if (!ours)
                throw ConfigError("the sweep folder '" + clip_text(dir_arg) +
                                  "' holds another sweep (its sweep.moesweep differs); give a new folder");
        } else if (fs::directory_iterator(dir, ec) != fs::directory_iterator()) {
            throw ConfigError("the sweep folder '" + clip_text(dir_arg) +
                              "' is not empty; give a new folder (or the folder of this same sweep)");
        }
    } else if (!fs::create_directories(dir, ec) || ec) {
        throw ConfigError("cannot create the sweep folder '" + clip_text(dir_arg) + "': " + ec.message());
    }
    for (const char* sub : {"cells", "logs"}) {
        fs::create_directory(fs::path(dir) / sub, ec);
        if (ec) throw ConfigError("cannot create '" + clip_text(dir_arg) + "/" + sub + "': " + ec.message());
    }

    // The definition: the .moesweep header, and each task's cell, knob values and seed.
    json def = sweep_to_json(SweepResult{spec, {}});
    json tasks = json::array();
    for (long u = 0; u < spec.runs(); ++u) {
        const SweepTask t = sweep_task(spec, u);
        tasks.push_back({{"task", u},
                         {"ix", t.ix},
                         {"iy", t.iy},
                         {spec.x.knob, spec.x.value(t.ix)},
                         {spec.y.knob, spec.y.value(t.iy)},
                         {"seed", spec.base.seed + t.s}});
    }
    def["cluster"] = {{"id", id}, {"scheduler", "slurm"}, {"script", "sweep.sbatch"}, {"tasks", tasks}};
    write_file_atomically(def_path, {def.dump(1), "\n"}, "sweep definition");

    const long last = spec.runs() - 1;
    std::ostringstream sh;
    sh << "#!/bin/bash\n"
       << "# moescope sweep " << id << ": " << spec.base.name << ", " << sweep_axis_text(spec.x)
       << (spec.x.log ? " (log)" : "") << " x " << sweep_axis_text(spec.y) << (spec.y.log ? " (log)" : "") << ", "
       << spec.steps << " steps x " << spec.seeds << " seed(s) = " << spec.runs() << " runs, one array task each.\n"
       << "# Submit: sbatch " << dir << "/sweep.sbatch\n"
       << "# Merge (any time, also while it runs): moescope-cli sweep --merge " << dir << " --out map.moesweep\n"
       << "#SBATCH --job-name=moescope-sweep\n"
       << "#SBATCH --array=0-" << last << (o.parallel > 0 ? "%" + std::to_string(o.parallel) : "") << "\n"
       << "#SBATCH --ntasks=1\n"
       << "#SBATCH --cpus-per-task=" << o.cpus_per_task << "\n"
       << "#SBATCH --time=" << o.time << "\n";
    if (!o.partition.empty()) sh << "#SBATCH --partition=" << o.partition << "\n";
    if (!o.account.empty()) sh << "#SBATCH --account=" << o.account << "\n";
    if (!o.mem.empty()) sh << "#SBATCH --mem=" << o.mem << "\n";
    if (!o.gres.empty()) sh << "#SBATCH --gres=" << o.gres << "\n";
    sh << "#SBATCH --output=" << dir << "/logs/%A_%a.out\n"
       << "# Each run trains on one thread, as in a local sweep (bit for bit the same cell).\n"
       << "export OMP_NUM_THREADS=1\n"
       << "exec '" << o.cli << "' sweep --cell '" << dir
       << "' \"${SLURM_ARRAY_TASK_ID:?submit this script with sbatch}\"" << (o.gres.empty() ? "" : " --backend auto")
       << "\n";
    const std::string script = (fs::path(dir) / "sweep.sbatch").string();
    write_file_atomically(script, {sh.str()}, "sbatch script");
    ::chmod(script.c_str(), 0755);
    return script;
}

ClusterSweep load_cluster_sweep(const std::string& dir_arg) {
    const std::string dir = absolute(dir_arg);
    const std::string path = (fs::path(dir) / "sweep.moesweep").string();
    const std::string what = "sweep definition '" + clip_text(path, 200) + "'";
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw DataError("'" + clip_text(dir_arg) +
                        "' is not a sweep folder (written by 'moescope-cli sweep ... --emit "
                        "slurm DIR')");
    const std::string text = read_regular_file(path, kMaxSweepBytes, "sweep definition");
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        throw DataError(what + ": not valid JSON (" + json_error_text(e) + ")");
    }
    ClusterSweep c;
    c.spec = sweep_from_json(j, what).spec;
    c.dir = dir;
    c.script = (fs::path(dir) / "sweep.sbatch").string();
    const json* cluster = j.is_object() && j.contains("cluster") ? &j["cluster"] : nullptr;
    if (!cluster || !cluster->is_object() || !cluster->contains("id") || !(*cluster)["id"].is_string())
        throw DataError(what + ": it has no 'cluster' section (a local sweep file, not a cluster sweep's definition)");
    c.id = (*cluster)["id"].get<std::string>();
    if (c.id != definition_id(c.spec))
        throw DataError(what + ": its cluster id " + json_excerpt((*cluster)["id"]) +
                        " does not match its sweep (the file was edited); emit the sweep again into a new folder");
    return c;
}

std::string cluster_cell_path(const ClusterSweep& c, long task) {
    return (fs::path(c.dir) / "cells" / (std::to_string(task) + ".json")).string();
}

namespace {

json run_header(const ClusterSweep& c, long task) {
    const SweepTask t = sweep_task(c.spec, task);
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0) host[0] = 0;
    return {
        {"format", kSweepRunFormat},      {"version", 1}, {"sweep", c.id}, {"task", task}, {"ix", t.ix}, {"iy", t.iy},
        {"seed", c.spec.base.seed + t.s}, {"host", host}};
}

}  // namespace

void save_cluster_run(const ClusterSweep& c, long task, const SweepRun& run, double seconds) {
    json j = run_header(c, task);
    json values = json::array();
    for (const double v : run.values) values.push_back(std::isfinite(v) ? json(v) : json(nullptr));
    j["values"] = values;
    j["seconds"] = seconds;
    write_file_atomically(cluster_cell_path(c, task), {j.dump(), "\n"}, "sweep run");
}

void save_cluster_failure(const ClusterSweep& c, long task, const std::string& why) {
    json j = run_header(c, task);
    j["error"] = why;
    write_file_atomically(cluster_cell_path(c, task), {j.dump(-1, ' ', false, json::error_handler_t::replace), "\n"},
                          "sweep run");
}

namespace {

// Task `u`'s result, or throws DataError saying why it cannot count.
SweepRun read_cluster_run(const ClusterSweep& c, long u, const std::string& path) {
    const std::string text = read_regular_file(path, kMaxRunBytes, "sweep run");
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        throw DataError("not valid JSON (" + json_error_text(e) + ")");
    }
    if (!j.is_object() || j.value("format", json()) != kSweepRunFormat) throw DataError("not a moescope sweep run");
    if (j.value("sweep", json()) != c.id)
        throw DataError("it belongs to another sweep (id " + json_excerpt(j.value("sweep", json())) + ")");
    const SweepTask t = sweep_task(c.spec, u);
    if (json_whole(j.value("task", json()), "task", 0, c.spec.runs() - 1) != u ||
        json_whole(j.value("ix", json()), "ix", 0, c.spec.x.n - 1) != t.ix ||
        json_whole(j.value("iy", json()), "iy", 0, c.spec.y.n - 1) != t.iy)
        throw DataError("its task, ix or iy is not task " + std::to_string(u) + "'s");
    if (j.contains("error"))
        throw DataError(j["error"].is_string() ? clip_text(j["error"].get<std::string>(), 200) : "it failed");
    SweepRun run;
    run.seed = int(json_whole(j.value("seed", json()), "seed", c.spec.base.seed + t.s, c.spec.base.seed + t.s));
    const json& values = j.value("values", json());
    const auto& known = sweep_measures();
    if (!values.is_array() || values.size() != known.size())
        throw DataError("'values' must hold " + std::to_string(known.size()) + " numbers");
    for (size_t m = 0; m < known.size(); ++m) {
        if (!values[m].is_null() && !values[m].is_number())
            throw DataError("values[" + std::to_string(m) + "] must be a number or null");
        run.values[m] = values[m].is_null() ? kNaN : values[m].get<double>();
    }
    return run;
}

}  // namespace

ClusterMerge merge_cluster_sweep(const ClusterSweep& c) {
    ClusterMerge m;
    m.result.spec = c.spec;
    const SweepSpec& s = c.spec;
    std::vector<std::vector<std::optional<SweepRun>>> runs(size_t(s.cells()),
                                                           std::vector<std::optional<SweepRun>>(size_t(s.seeds)));
    for (long u = 0; u < s.runs(); ++u) {
        const std::string path = cluster_cell_path(c, u);
        std::error_code ec;
        if (!fs::exists(fs::symlink_status(path, ec))) {
            m.missing.push_back(u);
            continue;
        }
        try {
            const SweepRun run = read_cluster_run(c, u, path);
            const SweepTask t = sweep_task(s, u);
            runs[size_t(t.iy * s.x.n + t.ix)][size_t(t.s)] = run;
            ++m.runs_done;
        } catch (const Error& e) {
            m.failed.emplace_back(u, e.what());
        }
    }
    for (int iy = 0; iy < s.y.n; ++iy)
        for (int ix = 0; ix < s.x.n; ++ix) {
            const auto& slots = runs[size_t(iy * s.x.n + ix)];
            if (!std::all_of(slots.begin(), slots.end(), [](const auto& r) { return r.has_value(); })) continue;
            SweepCell cell{ix, iy, s.x.value(ix), s.y.value(iy), {}};
            for (const auto& r : slots) cell.runs.push_back(*r);
            m.result.cells.push_back(std::move(cell));
        }
    std::vector<long> again = m.missing;
    for (const auto& f : m.failed) again.push_back(f.first);
    if (!again.empty()) m.rerun = "sbatch --array=" + slurm_array_ranges(again) + " " + c.script;
    return m;
}

}  // namespace moescope
