#include "cli_sweep_cluster.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli_engine.hpp"
#include "cli_signals.hpp"
#include "cli_sweep.hpp"
#include "error.hpp"
#include "io/metrics_log.hpp"
#include "nn/threads.hpp"
#include "train/memory_estimate.hpp"
#include "train/sweep_runner.hpp"

namespace moescope {

namespace {

constexpr int kExitIncomplete = 4, kExitInterrupted = 130;
// Slurm's default MaxArraySize (slurm.conf): array task ids 0 to 1000.
constexpr long kSlurmDefaultMaxArraySize = 1001;

std::string short_number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

std::string task_text(const SweepSpec& s, long u) {
    const SweepTask t = sweep_task(s, u);
    return "task " + std::to_string(u) + " (cell ix " + std::to_string(t.ix) + ", iy " + std::to_string(t.iy) + ": " +
           s.x.knob + " " + short_number(s.x.value(t.ix)) + ", " + s.y.knob + " " + short_number(s.y.value(t.iy)) +
           ", seed " + std::to_string(s.base.seed + t.s) + ")";
}

}  // namespace

bool parse_slurm_option(const std::string& flag, const std::function<std::string()>& value, SlurmOptions& o) {
    if (flag == "--partition")
        o.partition = value();
    else if (flag == "--time")
        o.time = value();
    else if (flag == "--cpus-per-task")
        o.cpus_per_task = int(parse_whole(flag, value(), 1, 4096));
    else if (flag == "--mem")
        o.mem = value();
    else if (flag == "--gres")
        o.gres = value();
    else if (flag == "--account")
        o.account = value();
    else if (flag == "--parallel")
        o.parallel = int(parse_whole(flag, value(), 0, 1'000'000));
    else if (flag == "--cli")
        o.cli = value();
    else
        return false;
    return true;
}

int emit_slurm(const SweepSpec& spec, SlurmOptions o, const std::string& dir) {
    if (o.cli.empty()) o.cli = this_executable();
    if (o.cli.empty()) o.cli = "moescope-cli";
    const std::string script = emit_slurm_sweep(spec, o, dir);
    const std::string folder = std::filesystem::path(script).parent_path().string();  // DIR, made absolute
    std::cout << "sweep: wrote " << folder << "/sweep.moesweep and " << script << ": " << spec.runs()
              << " array tasks (" << spec.cells() << " cells x " << spec.seeds << " seeds, " << spec.steps
              << " steps each)\n"
              << "submit:  sbatch " << script << "\n"
              << "merge:   moescope-cli sweep --merge " << folder << " --out map.moesweep   (any time; again later)\n";
    if (spec.runs() > kSlurmDefaultMaxArraySize)
        std::cerr << "sweep: warning: " << spec.runs() << " tasks are more than Slurm's default MaxArraySize ("
                  << kSlurmDefaultMaxArraySize
                  << "); ask the cluster's admin, or use fewer seeds or a coarser grid ('scontrol show config | grep "
                     "MaxArraySize' shows yours)\n";
    return 0;
}

int cmd_sweep_cell(const std::vector<std::string>& args) {
    if (args.size() < 3) throw ConfigError("--cell needs a sweep folder and a task id: sweep --cell DIR TASK");
    std::string backend_name = "cpu";
    for (size_t i = 3; i < args.size(); ++i) {
        if (args[i] == "--backend" && i + 1 < args.size())
            backend_name = args[++i];
        else
            throw ConfigError("unknown option '" + clip_text(args[i]) + "' for sweep --cell (it takes --backend)");
    }
    const ClusterSweep c = load_cluster_sweep(args[1]);
    const long u = parse_whole("the task id", args[2], 0, c.spec.runs() - 1);
    const Backend backend = training_backend(backend_name);
    check_sweep_memory(c.spec, 1);
    threads::cap_this_thread(1);  // as each worker of a local sweep: the same cell, bit for bit
    const SweepTask t = sweep_task(c.spec, u);
    std::cerr << "sweep: " << task_text(c.spec, u) << " of " << c.spec.runs() << ", " << c.spec.steps << " steps\n";
    const cli::StopOnSignal stop;  // a time limit (SIGTERM) or scancel: say so in the result, then exit
    const auto t0 = std::chrono::steady_clock::now();
    SweepRun run;
    bool done = false;
    try {
        done = run_sweep_cell(c.spec, t.ix, t.iy, t.s, run, &stop.flag(), backend);
    } catch (const std::exception& e) {
        save_cluster_failure(c, u, e.what());
        throw;
    }
    if (!done) {
        save_cluster_failure(c, u,
                             std::string("stopped by ") + (stop.signal() == SIGTERM ? "SIGTERM" : "SIGINT") +
                                 " before it finished (a time limit, scancel or Ctrl-C); rerun it");
        std::cerr << "sweep: " << task_text(c.spec, u) << " stopped before it finished; its result says so\n";
        return kExitInterrupted;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    save_cluster_run(c, u, run, seconds);
    std::cerr << "sweep: task " << u << " done in " << seconds << " s: " << cluster_cell_path(c, u) << "\n";
    return 0;
}

int cmd_sweep_merge(const std::vector<std::string>& args) {
    if (args.size() < 2) throw ConfigError("--merge needs the sweep folder: sweep --merge DIR --out FILE.moesweep");
    std::string out, png;
    int measure = kLoadEntropy;
    for (size_t i = 2; i < args.size(); ++i) {
        const std::string& f = args[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= args.size() || args[i + 1].empty()) throw ConfigError(f + " needs a value");
            return args[++i];
        };
        if (f == "--out")
            out = value();
        else if (f == "--png")
            png = value();
        else if (f == "--metric")
            measure = sweep_measure_index(value());
        else
            throw ConfigError("unknown option '" + clip_text(f) +
                              "' for sweep --merge (it takes --out, --png, --metric)");
    }
    if (!out.empty() && !has_extension(out, ".moesweep") && !has_extension(out, ".csv") &&
        !has_extension(out, ".jsonl"))
        throw ConfigError("--out '" + out + "' must end in .moesweep, .csv or .jsonl");
    if (!png.empty() && !has_extension(png, ".png")) throw ConfigError("--png '" + png + "' must end in .png");
    const ClusterSweep c = load_cluster_sweep(args[1]);
    const ClusterMerge m = merge_cluster_sweep(c);
    const SweepSpec& s = c.spec;
    std::cout << "sweep: " << c.dir << ": " << m.runs_done << " of " << s.runs() << " runs in, "
              << m.result.cells.size() << " of " << s.cells() << " cells complete\n";
    if (!m.missing.empty()) {
        std::cout << "missing (no result yet: pending, running, or never ran): " << m.missing.size() << " run(s)\n";
        for (size_t i = 0; i < m.missing.size() && i < 20; ++i) std::cout << "  " << task_text(s, m.missing[i]) << "\n";
        if (m.missing.size() > 20) std::cout << "  ... and " << m.missing.size() - 20 << " more\n";
    }
    if (!m.failed.empty()) {
        std::cout << "failed: " << m.failed.size() << " run(s)\n";
        for (size_t i = 0; i < m.failed.size() && i < 20; ++i)
            std::cout << "  " << task_text(s, m.failed[i].first) << ": " << m.failed[i].second << "\n";
        if (m.failed.size() > 20) std::cout << "  ... and " << m.failed.size() - 20 << " more\n";
    }
    if (!m.rerun.empty()) std::cout << "rerun the missing and failed runs (once none is running): " << m.rerun << "\n";
    print_and_write_sweep(m.result, out, png, measure);
    return m.rerun.empty() ? 0 : kExitIncomplete;
}

}  // namespace moescope
