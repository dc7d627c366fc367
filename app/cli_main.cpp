// moescope-cli: the headless front end. Trains a preset or config with live
// progress, saves and resumes snapshots, lists presets and knobs. Every bad
// input is one line on stderr starting "moescope-cli: error:" and exit status
// 2; a run halted by non-finite values exits 3.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend_choice.hpp"
#include "cli_bench.hpp"
#include "cli_snapshot.hpp"
#include "cli_sweep.hpp"
#include "error.hpp"
#include "io/metrics_log.hpp"
#include "train/config.hpp"
#include "train/knobs.hpp"
#include "train/trainer.hpp"

using namespace moescope;

namespace {

constexpr int kExitUsage = 2, kExitHalted = 3;
std::atomic<bool> g_interrupted{false};

const char* const kUsage = R"(usage: moescope-cli COMMAND [OPTIONS]

commands:
  train     train a Mixture-of-Experts model with live progress
  inspect   summarise a snapshot file: step, config, warnings (--json for JSON)
  presets   list the built-in presets
  knobs     list every knob: name, kind, range, default, help
  bench     measure training speed on a fixed config against this machine's sgemm roofline
  sweep     phase diagram: train a grid of two knobs x seeds on all cores, map where routing collapses
  help      show this text

train options:
  --preset NAME         start from a built-in preset (default: default)
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
  --resume FILE         continue the run saved in FILE with its config; --set then
                        changes live knobs only (structural ones need a new run)
  --backend B           auto|cpu|cuda (default cpu); training runs on the CPU until the
                        CUDA path lands: auto says so in one line, cuda is refused

bench options:
  --backend B           auto|cpu|cuda (default cpu); cuda times cuBLAS sgemm only
  --json                print one JSON object instead of tables
  --steps N             timed steps after warm-up (default 10)
  --no-scaling          skip the scaling table (tokens, experts, d_ff, top-k)
  --set KEY=VALUE       change the bench config (repeatable)

sweep options (lesson scripts are off during sweeps):
  --preset NAME | --config FILE | --set KEY=VALUE   the base config, as for train
  --x KNOB=LO:HI:N      x axis, e.g. --x aux_weight=1e-3:1:7; --log right after it (or --xlog) spaces it in log
  --y KNOB=LO:HI:N      y axis likewise (--log after it, or --ylog)
  --steps S             steps per run (default 600)
  --seeds K             runs per cell, with seeds base, base+1, ... (default 1)
  --threads T           worker threads, one core each (default: every core)
  --metric NAME         measure of the text map (default load_entropy; see docs/sweep.md)
  --out FILE            .moesweep (whole sweep, opens in the window), .csv or .jsonl (one row per cell)
  --png FILE.png        draw the map with the window binary next to moescope-cli (offscreen)
  --quiet               no progress line on stderr
  Ctrl-C keeps the finished cells, writes them and exits 130.
)";

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

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
    std::string backend = "cpu";
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
        else if (flag == "--resume")
            a.resume = value();
        else if (flag == "--backend")
            a.backend = value();
        else
            throw UsageError("unknown option '" + flag + "' for train (see 'moescope-cli help')");
    }
    if (preset_given && !a.config_file.empty()) throw UsageError("give either --preset or --config, not both");
    if (!a.resume.empty() && (preset_given || !a.config_file.empty()))
        throw UsageError("--resume continues with the snapshot's config; drop --preset/--config");
    if (a.snapshot_every > 0 && a.snapshot.empty()) throw UsageError("--snapshot-every needs --snapshot FILE");
    return a;
}

Config build_config(const TrainArgs& a) {
    Config c = a.config_file.empty() ? load_preset(a.preset) : load_config_file(a.config_file);
    for (const auto& s : a.sets) {
        const auto eq = s.find('=');
        if (eq == std::string::npos || eq == 0) throw UsageError("--set expects KEY=VALUE, got '" + s + "'");
        knob(s.substr(0, eq)).set_text(c, s.substr(eq + 1));
    }
    c.validate();
    return c;
}

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::string progress_line(const StepMetrics& m, long total, double last_test, const Trainer& tr) {
    const WorstLayers w = worst_layers(m);
    std::string s = "step " + std::to_string(m.step) + "/" + std::to_string(total) + "  loss " + fmt("%.4f", m.loss) +
                    "  acc " + fmt("%.3f", m.train_acc);
    if (std::isfinite(last_test)) s += "  test " + fmt("%.3f", last_test);
    s += "  loadH " + fmt("%.3f", w.load_entropy) + "  routerH " + fmt("%.3f", w.router_entropy) + "  maxU " +
         fmt("%.2f", w.max_util) + "x";
    if (w.dead) s += "  dead " + std::to_string(w.dead);
    s += "  " + fmt("%.0f", m.tokens_per_s) + " tok/s";
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

nlohmann::json summary_json(const Trainer& tr, const StepMetrics& last, double test_acc, double seconds,
                            double tokens_per_s, bool halted, bool interrupted) {
    const WorstLayers w = worst_layers(last);
    nlohmann::json raised = nlohmann::json::array(), active = nlohmann::json::array();
    for (const auto& wn : tr.monitor().history())
        raised.push_back({{"id", wn.id},
                          {"layer", wn.layer},
                          {"first_step", wn.first_step},
                          {"severity", severity_name(wn.severity)},
                          {"remedy", wn.remedy.text}});
    for (const auto& wn : tr.monitor().active()) active.push_back(wn.id);
    auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    return {{"preset", tr.config().name},
            {"steps", tr.steps_done()},
            {"loss", num(last.loss)},
            {"train_acc", num(last.train_acc)},
            {"test_acc", num(test_acc)},
            {"load_entropy", num(w.load_entropy)},
            {"router_entropy", num(w.router_entropy)},
            {"max_util", num(w.max_util)},
            {"dead_experts", w.dead},
            {"dropped", num(w.dropped)},
            {"warnings_raised", raised},
            {"warnings_active", active},
            {"interventions", tr.interventions().size()},
            {"tokens_per_s", num(tokens_per_s)},
            {"seconds", num(seconds)},
            {"halted", halted},
            {"interrupted", interrupted}};
}

int cmd_train(const std::vector<std::string>& args) {
    const TrainArgs a = parse_train_args(args);
    choose_backend(a.backend, /*has_cuda_path=*/false, "training", std::cerr);  // CPU, or refused with the reason
    MetricsHistory history;                                                     // what a snapshot keeps of the metrics
    std::unique_ptr<Trainer> owned = a.resume.empty() ? std::make_unique<Trainer>(build_config(a))
                                                      : resume_from_snapshot(a.resume, a.sets, history, a.quiet);
    Trainer& tr = *owned;
    const Config& cfg = tr.config();
    if (a.resume.empty()) history.reset(cfg.layers, cfg.experts);
    if (!a.save_config.empty()) save_config_file(cfg, a.save_config);
    std::optional<MetricsLog> log;
    if (!a.metrics_file.empty()) log.emplace(a.metrics_file, cfg.experts);
    const bool live = !a.quiet && a.every == 0 && isatty(STDOUT_FILENO);
    const long every = a.every > 0 ? a.every : std::max(1L, a.steps / 20);
    if (!a.quiet)
        std::cout << "moescope: " << cfg.name << " | " << tr.dataset().summary << " | E=" << cfg.experts
                  << " k=" << cfg.top_k << " L=" << cfg.layers << " " << cfg.policy << " | " << a.steps << " steps"
                  << (a.resume.empty() ? "" : " (resumed at step " + std::to_string(tr.steps_done()) + ")") << "\n";
    std::signal(SIGINT, [](int) { g_interrupted = true; });
    const auto t0 = std::chrono::steady_clock::now();
    StepMetrics last;
    double last_test = kNaN, busy_ms = 0;
    long timed_steps = 0;
    const long first_step = tr.steps_done() + 1;
    while (tr.steps_done() < a.steps && !g_interrupted) {
        last = tr.step();
        if (std::isfinite(last.test_acc)) last_test = last.test_acc;
        if (last.step > first_step) busy_ms += last.step_ms, ++timed_steps;  // the first step pays for warm-up
        if (log) log->write(last);
        if (!a.snapshot.empty()) history.append(last);
        for (const auto& ev : tr.last_events()) {
            if (live) std::cout << "\r\033[K";
            print_event(ev);
        }
        if (tr.halted()) break;
        // --snapshot-every wins over the config's autosave_every knob (which a script may change).
        const long every_n =
            a.snapshot_every > 0 ? a.snapshot_every : (a.snapshot.empty() ? 0 : tr.config().autosave_every);
        if (every_n > 0 && last.step % every_n == 0) save_run(a.snapshot, tr, history, a.allow_non_finite, true);
        if (live)
            std::cout << "\r\033[K" << progress_line(last, a.steps, last_test, tr) << std::flush;
        else if (!a.quiet && (last.step % every == 0 || last.step == a.steps))
            std::cout << progress_line(last, a.steps, last_test, tr) << "\n";
    }
    if (live) std::cout << "\n";
    if (log) log->flush();
    // On a halt the update was skipped, so this saves the last finite state.
    if (!a.snapshot.empty()) save_run(a.snapshot, tr, history, a.allow_non_finite, a.quiet);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double test_acc = tr.halted() ? last_test : tr.evaluate();
    const double tps = timed_steps > 0 ? cfg.batch_tokens * 1000.0 * timed_steps / busy_ms : kNaN;
    std::cout << summary_json(tr, last, test_acc, seconds, tps, tr.halted(), g_interrupted).dump() << std::endl;
    return tr.halted() ? kExitHalted : 0;
}

int cmd_presets() {
    for (const auto& name : preset_names()) {
        const Config c = load_preset(name);
        std::cout << name << std::string(name.size() < 16 ? 16 - name.size() : 1, ' ') << c.description << "\n";
    }
    return 0;
}

int cmd_knobs() {
    std::string section;
    for (const auto& k : knob_table()) {
        if (k.section != section) {
            section = k.section;
            std::cout << "\n[" << section << "]\n";
        }
        std::string head = "  " + std::string(k.name);
        head.resize(std::max<size_t>(head.size() + 1, 22), ' ');
        std::cout << head << (k.kind == KnobKind::Live ? "live        " : "structural  ") << "default "
                  << k.default_text() << "  range " << k.range_text();
        if (!k.unit.empty()) std::cout << " " << k.unit;
        std::cout << "\n      " << k.help << "\n";
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
            std::cout << kUsage;
            return args.empty() ? kExitUsage : 0;
        }
        const std::string cmd = args[0];
        args.erase(args.begin());
        if (cmd == "train") return cmd_train(args);
        if (cmd == "bench") return cmd_bench(args);
        if (cmd == "sweep") return cmd_sweep(args);
        if (cmd == "inspect") return cmd_inspect(args);
        if (cmd == "presets" || cmd == "knobs") {
            if (!args.empty()) throw UsageError("'" + cmd + "' takes no options, got '" + args[0] + "'");
            return cmd == "presets" ? cmd_presets() : cmd_knobs();
        }
        throw UsageError("unknown command '" + cmd + "' (commands: train, inspect, bench, presets, knobs, help)");
    } catch (const UsageError& e) {
        std::cerr << "moescope-cli: error: " << e.what() << "\n";
    } catch (const Error& e) {
        std::cerr << "moescope-cli: error: " << e.what() << "\n";
    } catch (const std::exception& e) {
        std::cerr << "moescope-cli: error: " << e.what() << "\n";
    }
    return kExitUsage;
}
