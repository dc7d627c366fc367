// moescope-cli: the headless front end. Trains a preset or config with live
// progress, saves and resumes snapshots, lists presets and knobs. Every bad
// input is one line on stderr starting "moescope-cli: error:" and exit status
// 2; a run halted by non-finite values exits 3.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend_choice.hpp"
#include "cli_bench.hpp"
#include "cli_common.hpp"
#include "cli_engine.hpp"
#include "cli_knobs.hpp"
#include "cli_signals.hpp"
#include "cli_snapshot.hpp"
#include "cli_sweep.hpp"
#include "cli_watch.hpp"
#include "error.hpp"
#include "io/atomic_file.hpp"
#include "io/metrics_log.hpp"
#include "io/output_paths.hpp"
#include "io/report.hpp"
#include "monitor/metric_defs.hpp"
#include "nn/threads.hpp"
#include "train/config.hpp"
#include "train/interval_rate.hpp"
#include "train/knobs.hpp"
#include "train/memory_estimate.hpp"
#include "train/trainer.hpp"

using namespace moescope;

namespace {

constexpr int kExitUsage = 2, kExitHalted = 3, kExitOutputClosed = 5;

// One row per command: what `help` lists and what `COMMAND --help` prints.
struct Command {
    const char* name;
    const char* summary;  // one line in the command list
    const char* args;     // after "moescope-cli NAME"
    const char* options;  // its options, one per line; "" when it has none
    int (*run)(const std::vector<std::string>&);
};

int cmd_train(const std::vector<std::string>& args);
int cmd_metrics(const std::vector<std::string>& args);
int cmd_presets(const std::vector<std::string>& args);

const Command kCommands[] = {
    {"train", "train a Mixture-of-Experts model with live progress", "[OPTIONS]",
     R"(  --preset NAME         start from a built-in preset (default: default)
  --config FILE         start from a config JSON file instead
  --set KEY=VALUE       override one knob (repeatable), e.g. --set aux_weight=0.1
  --steps N             train until step N, counting a resumed snapshot's steps (default 1000)
  --metrics FILE        write per-step metrics to FILE.csv or FILE.jsonl
  --every N             print a progress line every N steps (default: live line on a terminal, else every steps/20)
  --quiet               print only warnings and the final JSON summary
  --save-config FILE    write the effective config JSON and continue
  --snapshot FILE       save the run to FILE (.moesnap) at the end, on Ctrl-C and on a halt
  --snapshot-every N    also save it every N steps
  --allow-non-finite    save snapshots even when weights hold NaN or inf
  --dry-run             print the config's memory estimate against this machine's memory and exit
  --report DIR          at the end, write config.json, metrics.csv and report.md into DIR
  --resume FILE         continue the run saved in FILE with its config; --set then
                        changes live knobs only (structural ones need a new run)
  --backend B           auto|cpu|cuda (default cpu): the engine that trains; auto takes
                        the GPU when there is a usable one and says which engine in one
                        line; cuda without a usable GPU is refused, naming why. The
                        summary names the engine that ran ("engine", "engine_reason")
)",
     cmd_train},
    {"inspect", "summarise a snapshot file: step, config, warnings", "FILE [--json]",
     R"(  --json                print one JSON object instead of text
)",
     cmd_inspect},
    {"presets", "list the built-in presets", "", "", cmd_presets},
    {"knobs", "list every knob: name, kind, range, default, help", "[--markdown]",
     R"(  --markdown            print the table as Markdown (what docs/knobs.md holds)
)",
     cmd_knobs},
    {"bench", "measure training speed on a fixed config against this machine's sgemm roofline", "[OPTIONS]",
     R"(  --backend B           auto|cpu|cuda (default cpu); cuda times training steps on the GPU
                        against the same run's cuBLAS sgemm peak on the bench shapes
  --gpu-scale           with --backend cuda: the bench config scaled up to 64 experts,
                        d_model 1024, d_ff 4096, 32768 tokens per step
  --json                print one JSON object instead of tables
  --steps N             timed steps after warm-up (default 10)
  --no-scaling          skip the scaling table (tokens, experts, d_ff, top-k)
  --presets             every shipped preset's tokens/s as people run it: the engine's
                        thread rule against 1 thread and all threads, idle and with one
                        core kept busy by another process (--steps per measurement)
  --compare-pytorch     also run scripts/pytorch_baseline.py (python3 with torch,
                        or $MOESCOPE_PYTHON) at its best setting; skipped with a
                        message when torch is absent
  --set KEY=VALUE       change the bench config (repeatable)
)",
     cmd_bench},
    {"metrics", "list every metric: name, scope, unit, meaning, where it is kept and shown", "[--markdown]",
     R"(  --markdown            print the table as Markdown (what docs/metrics.md holds)
)",
     cmd_metrics},
    {"sweep", "phase diagram: train a grid of two knobs x seeds on all cores, map where routing collapses",
     "--x KNOB=LO:HI:N --y KNOB=LO:HI:N [OPTIONS]",
     R"(  lesson scripts are off during sweeps
  --preset NAME | --config FILE | --set KEY=VALUE   the base config, as for train
  --x KNOB=LO:HI:N      x axis, e.g. --x aux_weight=1e-3:1:7; --log right after it (or --xlog) spaces it in log
  --y KNOB=LO:HI:N      y axis likewise (--log after it, or --ylog)
  --steps S             steps per run (default 600)
  --seeds K             runs per cell, with seeds base, base+1, ... (default 3)
  --threads T           worker threads, one core each (default: every core)
  --metric NAME         measure of the text map (default load_entropy; see docs/sweep.md)
  --out FILE            .moesweep (whole sweep, opens in the window), .csv or .jsonl (one row per cell)
  --png FILE.png        draw the map with the window binary next to moescope-cli (offscreen)
  --quiet               no progress line on stderr
  Ctrl-C keeps the finished cells, writes them and exits 130.
 on a Slurm cluster (docs/sweep.md, "On a cluster"):
  --emit slurm DIR      write the sweep and an sbatch job array (one task per cell x seed) into DIR; run nothing
    --partition P  --time T (default 1:00:00)  --cpus-per-task N  --mem M  --gres G  --account A
    --parallel P        at most P tasks at once (--array=...%P)
    --cli PATH          the moescope-cli the tasks run (default: this one)
  --cell DIR TASK       run one task of an emitted sweep; writes DIR/cells/TASK.json (what the array runs)
  --merge DIR           merge the finished tasks into --out FILE.moesweep [--png]; names missing and failed
                        tasks and the sbatch line that reruns them; exit 4 while some are missing
)",
     cmd_sweep},
    {"watch", "follow a real training job's router log (PyTorch, Hugging Face, Megatron-LM): load, entropy, warnings",
     "PATH [OPTIONS]", kWatchOptions, cmd_watch},
    {"export-knobs", "print a run's knobs as Megatron flags, a Hugging Face config or DeepSpeed MoE arguments",
     "--format F [OPTIONS]", kExportKnobsOptions, cmd_export_knobs},
};

std::string command_help(const Command& c) {
    std::string s =
        "usage: moescope-cli " + std::string(c.name) + (*c.args ? " " : "") + c.args + "\n\n" + c.summary + "\n";
    if (*c.options) s += "\noptions:\n" + std::string(c.options);
    return s;
}

std::string usage() {
    std::string s =
        "usage: moescope-cli COMMAND [OPTIONS]\n"
        "       moescope-cli COMMAND --help    that command's options\n\ncommands:\n";
    for (const Command& c : kCommands) {
        std::string name = c.name;
        name.resize(std::max<size_t>(name.size() + 1, 10), ' ');
        s += "  " + name + c.summary + "\n";
    }
    s += "  help      show this text\n";
    for (const Command& c : kCommands)
        if (*c.options) s += "\n" + std::string(c.name) + " options:\n" + c.options;
    return s;
}

struct TrainArgs {
    std::string preset = "default";
    std::string config_file;
    std::vector<std::string> sets;
    long steps = 1000;
    std::string metrics_file;
    long every = 0;
    bool quiet = false;
    std::string save_config;
    std::string snapshot, resume;
    long snapshot_every = 0;
    bool allow_non_finite = false;
    bool dry_run = false;
    std::string backend = "cpu";
    std::string report;
};

long parse_count(const std::string& flag, const std::string& v, long min) {
    size_t used = 0;
    long n = 0;
    try {
        n = std::stol(v, &used);
    } catch (...) {
        used = 0;
    }
    if (used != v.size() || v.empty() || n < min)
        throw UsageError(flag + " expects a whole number ≥ " + std::to_string(min) + ", got '" + v + "'");
    return n;
}

TrainArgs parse_train_args(const std::vector<std::string>& args) {
    TrainArgs a;
    bool preset_given = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& flag = args[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= args.size()) throw UsageError(flag + " needs a value");
            // An empty file name would silently mean "none": say so instead.
            if (args[i + 1].empty()) throw UsageError(flag + " needs a value, got an empty string");
            return args[++i];
        };
        if (flag == "--preset")
            a.preset = value(), preset_given = true;
        else if (flag == "--config")
            a.config_file = value();
        else if (flag == "--set")
            a.sets.push_back(value());
        else if (flag == "--steps")
            a.steps = parse_count(flag, value(), 0);
        else if (flag == "--metrics")
            a.metrics_file = value();
        else if (flag == "--every")
            a.every = parse_count(flag, value(), 1);
        else if (flag == "--quiet")
            a.quiet = true;
        else if (flag == "--save-config")
            a.save_config = value();
        else if (flag == "--snapshot")
            a.snapshot = value();
        else if (flag == "--snapshot-every")
            a.snapshot_every = parse_count(flag, value(), 1);
        else if (flag == "--allow-non-finite")
            a.allow_non_finite = true;
        else if (flag == "--dry-run")
            a.dry_run = true;
        else if (flag == "--resume")
            a.resume = value();
        else if (flag == "--backend")
            a.backend = value();
        else if (flag == "--report")
            a.report = value();
        else
            throw UsageError("unknown option '" + clip_text(flag) + "' for train (see 'moescope-cli train --help')");
    }
    if (preset_given && !a.config_file.empty()) throw UsageError("give either --preset or --config, not both");
    if (!a.resume.empty() && (preset_given || !a.config_file.empty()))
        throw UsageError("--resume continues with the snapshot's config; drop --preset/--config");
    if (a.snapshot_every > 0 && a.snapshot.empty()) throw UsageError("--snapshot-every needs --snapshot FILE");
    if (a.dry_run && !a.resume.empty()) throw UsageError("--dry-run estimates a new run; drop --resume");
    return a;
}

Config build_config(const TrainArgs& a) {
    Config c = a.config_file.empty() ? load_preset(a.preset) : load_config_file(a.config_file);
    for (const auto& s : a.sets) {
        const auto eq = s.find('=');
        if (eq == std::string::npos || eq == 0) throw UsageError("--set expects KEY=VALUE, got '" + clip_text(s) + "'");
        knob(s.substr(0, eq)).set_text(c, s.substr(eq + 1));
    }
    c.validate();
    return c;
}

// `tokens_per_s` is the rate over the steps since the previous line (IntervalRate).
std::string progress_line(const StepMetrics& m, long total, double last_test, double tokens_per_s, const Trainer& tr) {
    const WorstLayers w = worst_layers(m);
    std::string s = "step " + std::to_string(m.step) + "/" + std::to_string(total) + "  loss " + fmt("%.4f", m.loss) +
                    "  acc " + fmt("%.3f", m.train_acc);
    if (std::isfinite(last_test)) s += "  test " + fmt("%.3f", last_test);
    s += "  loadH " + fmt("%.3f", w.load_entropy) + "  routerH " + fmt("%.3f", w.router_entropy) + "  maxU " +
         fmt("%.2f", w.max_util) + "x";
    if (w.dead) s += "  dead " + std::to_string(w.dead);
    s += "  " + fmt("%.0f", tokens_per_s) + " tok/s";
    const auto active = tr.monitor().active();
    if (!active.empty()) {
        s += "  !";
        for (const auto& wn : active) s += " " + wn.id + (wn.layer >= 0 ? "(L" + std::to_string(wn.layer) + ")" : "");
    }
    return s;
}

void print_event(const MonitorEvent& ev) {
    const Warning& w = ev.warning;
    const std::string where = w.layer >= 0 ? " layer " + std::to_string(w.layer) : "";
    if (ev.kind == MonitorEvent::Raised) {
        // The message already names the layer.
        std::cout << "[step " << w.last_step << "] " << severity_name(w.severity) << " " << w.id << ": " << w.message
                  << "\n";
        if (!w.remedy.knob.empty())
            std::cout << "    remedy: " << w.remedy.text << "  (--set " << w.remedy.knob << "="
                      << fmt("%g", w.remedy.value) << ")\n";
    } else {
        std::cout << "[step " << w.cleared_step << "] cleared " << w.id << where << "\n";
    }
}

// `last` is the newest step's metrics, or null when no step was ever taken
// (train --steps 0): then the per-step values are null, not zeros.
nlohmann::json summary_json(const Trainer& tr, const StepMetrics* last, double test_acc, double seconds,
                            double tokens_per_s, bool halted, bool interrupted) {
    auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    const WorstLayers w = last ? worst_layers(*last) : WorstLayers{kNaN, kNaN, kNaN, kNaN, 0};
    nlohmann::json raised = nlohmann::json::array(), active = nlohmann::json::array();
    for (const auto& wn : tr.monitor().history())
        raised.push_back({{"id", wn.id},
                          {"layer", wn.layer},
                          {"first_step", wn.first_step},
                          {"severity", severity_name(wn.severity)},
                          {"remedy", wn.remedy.text}});
    for (const auto& wn : tr.monitor().active()) active.push_back(wn.id);
    nlohmann::json summary = {{"preset", tr.config().name},
                              {"steps", tr.steps_done()},
                              {"loss", num(last ? last->loss : kNaN)},
                              {"train_acc", num(last ? last->train_acc : kNaN)},
                              {"test_acc", num(test_acc)},
                              {"load_entropy", num(w.load_entropy)},
                              {"router_entropy", num(w.router_entropy)},
                              {"max_util", num(w.max_util)},
                              {"dead_experts", last ? nlohmann::json(w.dead) : nlohmann::json(nullptr)},
                              {"dropped", num(w.dropped)},
                              {"warnings_raised", raised},
                              {"warnings_active", active},
                              {"interventions", tr.interventions().size()},
                              {"tokens_per_s", num(tokens_per_s)},
                              {"seconds", num(seconds)},
                              {"halted", halted},
                              {"interrupted", interrupted}};
    summary.update(engine_json(tr));
    return summary;
}

// Refuses, before anything is written, an output that is the same file as an
// input (the config, the data, the resumed snapshot) or as another output.
void check_train_paths(const TrainArgs& a, const Config& cfg) {
    std::vector<NamedPath> in = {{"--config", a.config_file}, {"--resume", a.resume}};
    if (cfg.dataset == "csv") in.push_back({"the config's csv_path", cfg.csv_path});
    if (cfg.dataset == "text") in.push_back({"the config's text_path", cfg.text_path});
    std::vector<NamedPath> out = {
        {"--snapshot", a.snapshot}, {"--metrics", a.metrics_file}, {"--save-config", a.save_config}};
    if (!a.report.empty())
        for (const char* name : {"config.json", "metrics.csv", "report.md"})
            out.push_back({"--report's " + std::string(name), (std::filesystem::path(a.report) / name).string()});
    // The resumed snapshot is read whole before the first step; saving the run back into it is the usual way to
    // continue.
    check_outputs_distinct(in, out, {{"--resume", "--snapshot"}});
}

// --dry-run: what the run would need, without allocating it, against what this process may use.
int print_memory_estimate(const Config& c) {
    const MemoryEstimate m = estimate_memory(c);
    const MemoryBudget budget = memory_budget(read_memory_limits());
    std::cout << "moescope: " << c.name << " | E=" << c.experts << " k=" << c.top_k << " L=" << c.layers << " d_model "
              << c.d_model << " d_ff " << c.d_ff << " | " << m.parameters << " parameters\n"
              << "estimated memory " << memory_text(m) << "\n";
    if (budget.bytes > 0)
        std::cout << "this machine has " << bytes_text(physical_memory_bytes()) << "; a run may use up to "
                  << bytes_text(budget.bytes) << " (" << budget.why
                  << "): " << (m.total() <= budget.bytes ? "fits" : "too large, the run would be refused") << "\n";
    return 0;
}

int cmd_train(const std::vector<std::string>& args) {
    const TrainArgs a = parse_train_args(args);
    if (a.dry_run) return print_memory_estimate(build_config(a));
    const Backend backend = training_backend(a.backend);  // a GPU that is not there is refused before any work
    // A save that cannot succeed is found now, not after the whole run.
    if (!a.snapshot.empty()) {
        check_writable_target(a.snapshot);
        remember_snapshot_target(a.snapshot);  // another run's save there later is kept, not replaced
    }
    if (!a.save_config.empty()) check_writable_target(a.save_config, "config");
    MetricsHistory history;  // what a snapshot keeps of the metrics
    std::unique_ptr<Trainer> owned = a.resume.empty()
                                         ? std::make_unique<Trainer>(build_config(a), backend)
                                         : resume_from_snapshot(a.resume, a.sets, history, a.quiet, backend);
    Trainer& tr = *owned;
    note_engine(backend, tr, std::cerr);
    const Config& cfg = tr.config();
    if (a.resume.empty()) history.reset(cfg.layers, cfg.experts);
    check_train_paths(a, cfg);  // before anything is written
    if (!a.save_config.empty()) save_config_file(cfg, a.save_config);
    if (!a.report.empty()) prepare_report_folder(a.report);  // a bad path fails before training, not after
    std::optional<MetricsLog> log;
    if (!a.metrics_file.empty()) log.emplace(a.metrics_file, cfg.experts);
    const bool live = !a.quiet && a.every == 0 && isatty(STDOUT_FILENO);
    const long every = a.every > 0 ? a.every : std::max(1L, a.steps / 20);
    // Ctrl-C or SIGTERM (Slurm's time limit, a kill) from here on: finish the step, save, summarise.
    // Taken before the header, so a caller that waits for the header can interrupt safely.
    const cli::StopOnSignal stop;
    if (!a.quiet)
        std::cout << "moescope: " << cfg.name << " | " << tr.dataset().summary << " | E=" << cfg.experts
                  << " k=" << cfg.top_k << " L=" << cfg.layers << " " << cfg.policy << " | " << a.steps << " steps"
                  << " | engine " << tr.engine().name()
                  << (a.resume.empty() ? "" : " (resumed at step " + std::to_string(tr.steps_done()) + ")")
                  << std::endl;  // shown at once through a pipe too: training starts now
    const auto t0 = std::chrono::steady_clock::now();
    StepMetrics last;
    std::string save_error;  // a failed save ends the run but not its summary
    // A failed output other than the snapshot (disk full under --metrics) costs
    // that output only: the run goes on, then saves and prints its summary.
    std::vector<std::string> output_errors;
    double last_test = kNaN, busy_ms = 0, shown_rate = kNaN;
    long timed_steps = 0;
    IntervalRate rate;
    const long first_step = tr.steps_done() + 1;
    while (tr.steps_done() < a.steps && !stop.requested()) {
        last = tr.step();
        if (std::isfinite(last.test_acc)) last_test = last.test_acc;
        if (last.step > first_step) busy_ms += last.step_ms, ++timed_steps;  // the first step pays for warm-up
        rate.add(cfg.batch_tokens, last.step_ms);
        if (log) {
            try {
                log->write(last);
            } catch (const Error& e) {
                output_errors.push_back(std::string(e.what()) + "; the run went on without it");
                log.reset();
            }
        }
        if (!a.snapshot.empty() || !a.report.empty()) history.append(last);
        for (const auto& ev : tr.last_events()) {
            if (live) std::cout << "\r\033[K";
            print_event(ev);
        }
        if (tr.halted()) break;
        // --snapshot-every wins over the config's autosave_every knob (which a script may change).
        const long every_n =
            a.snapshot_every > 0 ? a.snapshot_every : (a.snapshot.empty() ? 0 : tr.config().autosave_every);
        if (every_n > 0 && last.step % every_n == 0) {
            try {
                save_run(a.snapshot, tr, history, a.allow_non_finite, true);
            } catch (const Error& e) {
                save_error = e.what();  // stop here: the summary of what ran still comes out
                break;
            }
        }
        if (live) {
            // The live line redraws every step; its rate changes about once a second.
            if (!std::isfinite(shown_rate) || rate.elapsed_ms() >= 1000) shown_rate = rate.take();
            std::cout << "\r\033[K" << progress_line(last, a.steps, last_test, shown_rate, tr) << std::flush;
        } else if (!a.quiet && (last.step % every == 0 || last.step == a.steps)) {
            std::cout << progress_line(last, a.steps, last_test, rate.take(), tr) << "\n";
        }
    }
    if (live) std::cout << "\n";
    if (log) {
        try {
            log->flush();
        } catch (const Error& e) {
            output_errors.push_back(e.what());
        }
    }
    // On a halt the update was skipped, so this saves the last finite state.
    try {
        if (!a.snapshot.empty() && save_error.empty()) save_run(a.snapshot, tr, history, a.allow_non_finite, a.quiet);
    } catch (const Error& e) {
        save_error = e.what();  // the summary of the run still comes first
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double test_acc = tr.halted() ? last_test : tr.evaluate();
    const double tps = timed_steps > 0 ? cfg.batch_tokens * 1000.0 * timed_steps / busy_ms : kNaN;
    // No step ran now (a resume already at --steps): the summary reports the
    // snapshot's last step; a run that never stepped reports no metrics at all.
    const bool stepped = tr.steps_done() >= first_step;
    const StepMetrics* shown = stepped ? &last : history.latest().layers.empty() ? nullptr : &history.latest();
    if (!stepped && !a.quiet)
        std::cout << "no step ran: the run is at step " << tr.steps_done() << " and --steps is " << a.steps
                  << (shown ? "; the summary shows the snapshot's last step" : "") << "\n";
    if (!a.report.empty()) {
        try {
            write_report(
                a.report,
                {&tr.config(), &history, &tr.interventions(), "", a.snapshot.empty() ? a.resume : a.snapshot, {}});
        } catch (const Error& e) {
            output_errors.push_back("report folder '" + a.report + "': " + e.what());
        }
    }
    // Names (a config's, a warning's) are text from files: bytes that are no UTF-8 are replaced, never fatal.
    nlohmann::json summary = summary_json(tr, shown, test_acc, seconds, tps, tr.halted(), stop.requested());
    if (cfg.is_lm()) {
        // The language model: held-out bits per character, and 200 characters it writes (fixed seed).
        summary["test_bits"] = std::isfinite(tr.test_bits()) ? nlohmann::json(tr.test_bits()) : nlohmann::json(nullptr);
        summary["sample"] = tr.halted() ? std::string() : tr.sample_text({}, uint64_t(cfg.seed));
    }
    std::cout << summary.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    if (!save_error.empty()) output_errors.insert(output_errors.begin(), save_error);
    for (const std::string& e : output_errors) std::cerr << "moescope-cli: error: " << e << "\n";
    if (!output_errors.empty()) return kExitUsage;
    return tr.halted() ? kExitHalted : 0;
}

int cmd_presets(const std::vector<std::string>& args) {
    if (!args.empty()) throw UsageError("'presets' takes no options, got '" + args[0] + "'");
    for (const auto& name : preset_names()) {
        const Config c = load_preset(name);
        std::cout << name << std::string(name.size() < 16 ? 16 - name.size() : 1, ' ') << c.description << "\n";
    }
    return 0;
}

int run(std::vector<std::string> args) {
    if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
        std::cout << usage();
        return args.empty() ? kExitUsage : 0;
    }
    const std::string name = args[0];
    args.erase(args.begin());
    for (const Command& c : kCommands) {
        if (name != c.name) continue;
        if (std::find(args.begin(), args.end(), "--help") != args.end() ||
            std::find(args.begin(), args.end(), "-h") != args.end()) {
            std::cout << command_help(c);
            return 0;
        }
        return c.run(args);
    }
    std::string names;
    for (const Command& c : kCommands) names += std::string(c.name) + ", ";
    throw UsageError("unknown command '" + name + "' (commands: " + names + "help)");
}

// The metric table (docs/metrics.md holds the --markdown output).
int cmd_metrics(const std::vector<std::string>& args) {
    const bool markdown = args.size() == 1 && args[0] == "--markdown";
    if (!args.empty() && !markdown) throw UsageError("'metrics' takes only --markdown, got '" + args[0] + "'");
    std::cout << (markdown ? metric_table_markdown() : metric_table_text());
    return 0;
}

// What to lower when a command ran out of memory despite the estimate: each command its own.
std::string out_of_memory_hint(const std::string& command) {
    if (command == "train" || command == "bench")
        return "; lower batch_tokens, d_model, d_ff, experts, layers, dead_window or the dataset size "
               "('moescope-cli train --dry-run' shows the estimate)";
    if (command == "sweep")
        return "; lower --threads, --steps, or the knobs that scale in the base config or on the axes (batch_tokens, "
               "d_model, d_ff, experts, layers, dead_window)";
    if (command == "inspect") return " reading the snapshot: it declares more than this machine can hold";
    if (command == "watch")
        return " reading the router log: it declares more layers × experts than this machine can hold";
    return "";
}

}  // namespace

// stdout closed by its reader (`moescope-cli train … | head`): the run goes on
// and writes its files; then this says so, and the exit status is 5 unless
// the run itself failed.
int finish_stdout(int status) {
    std::cout.flush();
    if (std::cout && std::fflush(stdout) == 0 && !std::ferror(stdout)) return status;
    std::cerr << "moescope-cli: warning: standard output was closed before everything was printed (broken pipe); "
                 "the files the command names were written as usual\n";
    return status == 0 ? kExitOutputClosed : status;
}

int main(int argc, char** argv) {
    threads::ensure_passive_wait(argv);
    cli::take_stop_signals();  // before any thread starts: see cli_signals.hpp
    register_cuda_engine();
    // A closed pipe is an EPIPE write error to notice, not a signal that kills the run before its save.
    std::signal(SIGPIPE, SIG_IGN);
    try {
        return finish_stdout(run(std::vector<std::string>(argv + 1, argv + argc)));
    } catch (const std::bad_alloc&) {
        std::cerr << "moescope-cli: error: out of memory" << out_of_memory_hint(argc > 1 ? argv[1] : "") << "\n";
        return kExitUsage;
    } catch (const std::exception& e) {  // UsageError, ConfigError, DataError: all one line
        std::cerr << "moescope-cli: error: " << e.what() << "\n";
        return kExitUsage;
    }
}
