#include "cli_sweep.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli_signals.hpp"
#include "cli_sweep_cluster.hpp"
#include "error.hpp"
#include "io/atomic_file.hpp"
#include "io/metrics_log.hpp"
#include "io/output_paths.hpp"
#include "io/sweep_file.hpp"
#include "train/knobs.hpp"
#include "train/sweep_runner.hpp"

extern char** environ;

namespace moescope {

std::string this_executable() {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : self.string();
}

long parse_whole(const std::string& flag, const std::string& v, long min, long max) {
    size_t used = 0;
    long n = 0;
    try {
        n = std::stol(v, &used);
    } catch (...) {
        used = 0;
    }
    if (v.empty() || used != v.size() || n < min || n > max)
        throw ConfigError(flag + " expects a whole number in [" + std::to_string(min) + ", " + std::to_string(max) +
                          "], got '" + clip_text(v) + "'");
    return n;
}

namespace {

constexpr int kExitInterrupted = 130;

struct SweepArgs {
    std::string preset = "default", config_file;
    bool preset_given = false;
    std::vector<std::string> sets;
    std::string x, y;
    bool xlog = false, ylog = false;
    long steps = 600;
    int seeds = 3, threads = 0;  // one seed's map is a coin flip near the collapse boundary
    std::string out, png;
    int measure = kLoadEntropy;
    bool quiet = false;
    std::string emit_dir;  // --emit slurm DIR: write the job array, run nothing
    SlurmOptions slurm;
};

constexpr long kMaxThreads = 4096;

SweepArgs parse_sweep_args(const std::vector<std::string>& args) {
    SweepArgs a;
    bool* last_log = nullptr;  // `--log` applies to the axis given just before it
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& flag = args[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= args.size()) throw ConfigError(flag + " needs a value");
            // An empty file name would silently mean "none": say so instead.
            if (args[i + 1].empty()) throw ConfigError(flag + " needs a value, got an empty string");
            return args[++i];
        };
        if (flag == "--preset")
            a.preset = value(), a.preset_given = true;
        else if (flag == "--config")
            a.config_file = value();
        else if (flag == "--set")
            a.sets.push_back(value());
        else if (flag == "--x")
            a.x = value(), last_log = &a.xlog;
        else if (flag == "--y")
            a.y = value(), last_log = &a.ylog;
        else if (flag == "--xlog")
            a.xlog = true;
        else if (flag == "--ylog")
            a.ylog = true;
        else if (flag == "--log") {
            if (!last_log) throw ConfigError("--log applies to the axis before it: give it after --x or --y");
            *last_log = true;
        } else if (flag == "--steps")
            a.steps = parse_whole(flag, value(), 1, kSweepMaxSteps);
        else if (flag == "--seeds")
            a.seeds = int(parse_whole(flag, value(), 1, kSweepMaxSeeds));
        else if (flag == "--threads")
            a.threads = int(parse_whole(flag, value(), 1, kMaxThreads));
        else if (flag == "--out")
            a.out = value();
        else if (flag == "--png")
            a.png = value();
        else if (flag == "--metric")
            a.measure = sweep_measure_index(value());
        else if (flag == "--quiet")
            a.quiet = true;
        else if (flag == "--emit") {
            if (value() != "slurm")
                throw ConfigError("--emit takes 'slurm' and a folder (--emit slurm DIR), got '" + clip_text(args[i]) +
                                  "'");
            a.emit_dir = value();
        } else if (!parse_slurm_option(flag, value, a.slurm))
            throw ConfigError("unknown option '" + flag + "' for sweep (see 'moescope-cli help')");
    }
    if (a.preset_given && !a.config_file.empty()) throw ConfigError("give either --preset or --config, not both");
    if (!a.emit_dir.empty() && (!a.out.empty() || !a.png.empty()))
        throw ConfigError(
            "--emit slurm runs nothing, so it writes no --out or --png: merge the finished tasks with "
            "'moescope-cli sweep --merge DIR --out FILE.moesweep'");
    if (a.x.empty() || a.y.empty())
        throw ConfigError("sweep needs both axes, e.g. --x aux_weight=1e-3:1:7 --log --y router_lr=1e-3:0.3:7 --log");
    if (!a.out.empty() && !has_extension(a.out, ".moesweep") && !has_extension(a.out, ".csv") &&
        !has_extension(a.out, ".jsonl"))
        throw ConfigError("--out '" + a.out + "' must end in .moesweep, .csv or .jsonl");
    if (!a.png.empty() && !has_extension(a.png, ".png")) throw ConfigError("--png '" + a.png + "' must end in .png");
    return a;
}

SweepSpec build_spec(const SweepArgs& a) {
    Config c = a.config_file.empty() ? load_preset(a.preset) : load_config_file(a.config_file);
    for (const auto& s : a.sets) {
        const auto eq = s.find('=');
        if (eq == std::string::npos || eq == 0) throw ConfigError("--set expects KEY=VALUE, got '" + s + "'");
        knob(s.substr(0, eq)).set_text(c, s.substr(eq + 1));
    }
    SweepSpec spec = make_sweep_spec(c, parse_sweep_axis(a.x, a.xlog), parse_sweep_axis(a.y, a.ylog), a.steps, a.seeds);
    spec.validate();
    return spec;
}

// The window binary draws PNGs (the CLI links no Qt); it sits next to moescope-cli.
std::string window_binary() {
    const std::string self = this_executable();
    return self.empty() ? "moescope" : (std::filesystem::path(self).parent_path() / "moescope").string();
}

std::string duration_text(double s) {
    if (s < 0) return "?";
    char buf[32];
    const long t = std::lround(s);
    if (t >= 3600)
        std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
    else
        std::snprintf(buf, sizeof buf, "%lds", t);
    return buf;
}

std::string progress_text(const SweepProgress& p) {
    const int width = 24, filled = p.runs ? int(width * p.runs_done / p.runs) : 0;
    return "[" + std::string(size_t(filled), '#') + std::string(size_t(width - filled), '-') + "] " +
           std::to_string(p.cells_done) + "/" + std::to_string(p.cells) + " cells, " + std::to_string(p.runs_done) +
           "/" + std::to_string(p.runs) + " runs, " + duration_text(p.elapsed_s) + " elapsed, ETA " +
           duration_text(p.eta_s);
}

std::string number_text(double v, int width) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%*.*g", width, width >= 7 ? 3 : 2, v);
    return buf;
}

// Runs `moescope --sweep-png sweep png` offscreen; false when it could not.
bool render_png(const std::string& sweep, const std::string& png, std::string& why) {
    const std::string bin = window_binary();
    if (access(bin.c_str(), X_OK) != 0) {
        why = "the window binary '" + bin + "' is not there (build with MOESCOPE_GUI=ON)";
        return false;
    }
    setenv("QT_QPA_PLATFORM", "offscreen", 1);
    std::vector<std::string> argv_s = {bin, "--sweep-png", sweep, png};
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    posix_spawnattr_t attr;  // the child gets the usual signals, not this process's blocked Ctrl-C
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    const int spawned = posix_spawn(&pid, bin.c_str(), nullptr, &attr, argv.data(), environ);
    posix_spawnattr_destroy(&attr);
    if (spawned != 0) {
        why = "cannot start '" + bin + "'";
        return false;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        why = "'" + bin + " --sweep-png' failed";
        return false;
    }
    return true;
}

// The .moesweep the window draws --png from when --out is not one.
std::string png_sweep_file(const std::string& png) { return png + ".moesweep"; }

// Before hours of runs: every output can be written and none is the same file
// as the sweep's inputs or another output.
void check_sweep_outputs(const SweepArgs& a, const Config& base) {
    if (!a.out.empty()) check_writable_target(a.out, "sweep file");
    if (!a.png.empty()) check_writable_target(a.png, "PNG image");
    std::vector<NamedPath> in = {{"--config", a.config_file}};
    if (base.dataset == "csv") in.push_back({"the config's csv_path", base.csv_path});
    if (base.dataset == "text") in.push_back({"the config's text_path", base.text_path});
    std::vector<NamedPath> out = {{"--out", a.out}, {"--png", a.png}};
    if (!a.png.empty() && !has_extension(a.out, ".moesweep"))
        out.push_back({"--png's sweep file", png_sweep_file(a.png)});
    check_outputs_distinct(in, out);
}

}  // namespace

std::string sweep_text_map(const SweepResult& r, int measure) {
    const SweepSpec& s = r.spec;
    const SweepMeasure& m = sweep_measures()[size_t(measure)];
    std::string out = std::string(m.label) + " (" + (s.seeds > 1 ? "median over " : "") + std::to_string(s.seeds) +
                      " seed" + (s.seeds > 1 ? "s" : "") + ", worst layer); * = collapsed (load entropy < " +
                      number_text(s.base.collapse_entropy, 1) + " or halted)" +
                      (s.seeds > 1 ? ", ? = the seeds disagree about collapse" : "") + "\n";
    out += s.y.knob + (s.y.log ? " (log)" : "") + "\n";
    const int w = 7;
    for (int iy = s.y.n - 1; iy >= 0; --iy) {
        out += number_text(s.y.value(iy), 10) + " |";
        for (int ix = 0; ix < s.x.n; ++ix) {
            const SweepCell* c = r.cell(ix, iy);
            if (!c) {
                out += std::string(size_t(w - 1), ' ') + ". ";
                continue;
            }
            const char* mark = sweep_cell_disputed(*c, s.base) ? "?" : sweep_cell_collapsed(*c, s.base) ? "*" : " ";
            out += number_text(c->stat(measure).median, w) + mark;
        }
        out += "\n";
    }
    out += std::string(11, ' ') + "+" + std::string(size_t(s.x.n * (w + 1)), '-') + "\n" + std::string(12, ' ');
    for (int ix = 0; ix < s.x.n; ++ix) out += number_text(s.x.value(ix), w) + " ";
    out += "\n" + std::string(12, ' ') + s.x.knob + (s.x.log ? " (log)" : "") + "\n";
    return out;
}

void print_and_write_sweep(const SweepResult& result, const std::string& out, const std::string& png, int measure) {
    const SweepSpec& spec = result.spec;
    std::cout << sweep_text_map(result, measure);
    int collapsed = 0, disputed = 0;
    for (const SweepCell& c : result.cells) {
        disputed += sweep_cell_disputed(c, spec.base);
        collapsed += !sweep_cell_disputed(c, spec.base) && sweep_cell_collapsed(c, spec.base);
    }
    std::cout << collapsed << " of " << result.cells.size() << " cells collapsed on every seed";
    if (spec.seeds > 1) std::cout << ", " << disputed << " where the seeds disagree";
    std::cout << "\n";

    if (!out.empty()) {
        if (has_extension(out, ".moesweep"))
            save_sweep(result, out);
        else
            export_sweep_cells(result, out);
        std::cerr << "sweep: wrote " << out << "\n";
    }
    if (!png.empty()) {
        // The window binary reads a .moesweep: the --out file when it is one, else one beside the PNG,
        // which is kept when the drawing fails so that the sweep is not lost.
        const bool own = has_extension(out, ".moesweep");
        const std::string file = own ? out : png_sweep_file(png);
        if (!own) save_sweep(result, file);
        std::string why;
        const bool ok = render_png(file, png, why);
        if (!ok)
            throw DataError("cannot draw '" + png + "': " + why + "; the sweep is kept in '" + file +
                            "' (draw it with 'moescope --sweep-png " + file + " OUT.png')");
        if (!own) std::filesystem::remove(file);
        std::cerr << "sweep: wrote " << png << "\n";
    }
}

int cmd_sweep(const std::vector<std::string>& args) {
    if (!args.empty() && args[0] == "--cell") return cmd_sweep_cell(args);
    if (!args.empty() && args[0] == "--merge") return cmd_sweep_merge(args);
    const SweepArgs a = parse_sweep_args(args);
    const SweepSpec spec = build_spec(a);
    if (!a.emit_dir.empty()) return emit_slurm(spec, a.slurm, a.emit_dir);
    if (!a.png.empty() && access(window_binary().c_str(), X_OK) != 0)
        throw ConfigError("--png is drawn by the window binary '" + window_binary() +
                          "', which is not there; write --out FILE.moesweep and open it with "
                          "'moescope --sweep-png FILE.moesweep OUT.png' where the window is built");
    check_sweep_outputs(a, spec.base);
    const bool tty = isatty(STDERR_FILENO);
    if (!a.quiet)
        std::cerr << "sweep: " << spec.base.name << " | " << sweep_axis_text(spec.x) << (spec.x.log ? " log" : "")
                  << " × " << sweep_axis_text(spec.y) << (spec.y.log ? " log" : "") << " | " << spec.steps
                  << " steps × " << spec.seeds << " seed(s) = " << spec.runs() << " runs (lesson scripts off)\n";

    std::optional<cli::StopOnSignal> stop(std::in_place);  // Ctrl-C keeps the finished cells
    SweepOptions opt;
    opt.threads = a.threads;
    opt.cancel = &stop->flag();
    auto last_line = std::chrono::steady_clock::now();
    opt.on_run = [&](const SweepProgress& p) {
        if (a.quiet) return;
        const auto now = std::chrono::steady_clock::now();
        if (tty) {
            std::cerr << "\r\033[K" << progress_text(p) << std::flush;
        } else if (p.runs_done == p.runs || now - last_line > std::chrono::seconds(10)) {
            std::cerr << progress_text(p) << "\n";
            last_line = now;
        }
    };
    const SweepResult result = run_sweep(spec, opt);
    const bool interrupted = stop->requested();
    stop.reset();
    if (!a.quiet && tty) std::cerr << "\n";
    if (interrupted)
        std::cerr << "sweep: interrupted; keeping the " << result.cells.size() << " of " << spec.cells()
                  << " cells that finished\n";

    print_and_write_sweep(result, a.out, a.png, a.measure);
    return interrupted ? kExitInterrupted : 0;
}

}  // namespace moescope
