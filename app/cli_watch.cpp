#include "cli_watch.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_common.hpp"
#include "cli_signals.hpp"
#include "error.hpp"
#include "io/framework_knobs.hpp"
#include "io/snapshot.hpp"
#include "monitor/run_watcher.hpp"
#include "train/config.hpp"
#include "train/knobs.hpp"

using namespace moescope;

const char* const kWatchOptions =
    R"(  PATH                  a router log file, or a directory of rank*.jsonl files (docs/integrations.md)
  --once                read to the end, print the summary and exit (for scripts and tests)
  --every N             print a progress line every N steps (default 10)
  --ep N                expert-parallel size of a Megatron job (default: from the log's header, else 1)
  --top-k K             experts per token, to normalise loads by tokens·k (default: from the header)
  --framework F         megatron|hf|deepspeed: name remedies in that framework's flags
                        (default: from the header, or megatron for Megatron logs)
  --fail-on LEVEL       warning|critical: exit 4 when a warning of that severity or worse is active at the end
  --poll-ms N           how often to look for new lines (default 200)
  --quiet               print only warnings, problems and the summary
)";

const char* const kExportKnobsOptions = R"(  --format F            megatron|hf|deepspeed (required)
  --preset NAME | --config FILE | --resume FILE.moesnap    the run whose knobs to print (default: --preset default)
  --set KEY=VALUE       change a knob first (repeatable)
  --table               print the mapping table itself (Markdown, as in docs/integrations.md)
)";

namespace {

constexpr int kExitFailOn = 4;

struct WatchArgs {
    std::string path;
    bool once = false, quiet = false;
    long every = 10, poll_ms = 200;
    WatchOptions opt;
    std::string fail_on;
};

long whole_flag(const std::string& flag, const std::string& v, long lo, long hi) {
    char* end = nullptr;
    const long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || n < lo || n > hi)
        throw ConfigError(flag + " expects a whole number in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                          "], got '" + v.substr(0, 40) + "'");
    return n;
}

WatchArgs parse_watch_args(const std::vector<std::string>& args) {
    WatchArgs a;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& f = args[i];
        auto value = [&]() -> const std::string& {
            if (i + 1 >= args.size()) throw ConfigError(f + " needs a value");
            return args[++i];
        };
        if (f == "--once")
            a.once = true;
        else if (f == "--quiet")
            a.quiet = true;
        else if (f == "--every")
            a.every = whole_flag(f, value(), 1, 1L << 40);
        else if (f == "--poll-ms")
            a.poll_ms = whole_flag(f, value(), 10, 60000);
        else if (f == "--ep")
            a.opt.ep = int(whole_flag(f, value(), 1, 1 << 16));
        else if (f == "--top-k")
            a.opt.top_k = int(whole_flag(f, value(), 1, 1 << 10));
        else if (f == "--framework")
            a.opt.framework = framework_name(framework_from_name(value()));
        else if (f == "--fail-on") {
            a.fail_on = value();
            if (a.fail_on != "warning" && a.fail_on != "critical")
                throw ConfigError("--fail-on expects warning or critical, got '" + a.fail_on.substr(0, 40) + "'");
        } else if (!f.empty() && f[0] == '-')
            throw ConfigError("unknown option '" + f + "' for watch");
        else if (a.path.empty())
            a.path = f;
        else
            throw ConfigError("watch takes one PATH, got a second: '" + f + "'");
    }
    if (a.path.empty()) throw ConfigError("watch needs a PATH: a router log file or a directory of rank files");
    return a;
}

}  // namespace

int cmd_watch(const std::vector<std::string>& args) {
    const WatchArgs a = parse_watch_args(args);
    RunWatcher w(a.path, a.opt);
    const cli::StopOnSignal stop;  // Ctrl-C ends the watch after its summary
    long steps = 0;
    std::optional<StepMetrics> last;
    auto problems = [&] {
        for (const auto& p : w.take_problems()) std::cerr << "moescope-cli: watch: " << p << "\n";
    };
    auto show = [&](WatchedStep&& s) {
        ++steps;
        for (const auto& ev : s.events) {
            const Warning& wn = ev.warning;
            if (ev.kind == MonitorEvent::Raised) {
                std::cout << "[step " << wn.last_step << "] " << severity_name(wn.severity) << " " << wn.id << ": "
                          << wn.message << "\n";
                if (!wn.remedy.text.empty()) std::cout << "    remedy: " << w.job_remedy(wn.remedy).text << "\n";
            } else {
                std::cout << "[step " << wn.cleared_step << "] cleared " << wn.id
                          << (wn.layer >= 0 ? " layer " + std::to_string(w.layer_ids()[wn.layer]) : "") << "\n";
            }
        }
        if (!a.quiet && steps % a.every == 0) {
            const WorstLayers wl = worst_layers(s.metrics);
            std::cout << "step " << s.metrics.step << "  layers " << s.metrics.layers.size() << "  experts "
                      << w.experts() << "  loadH " << fmt("%.3f", wl.load_entropy) << "  maxU "
                      << fmt("%.2f", wl.max_util) << "x  dead " << wl.dead << "\n";
        }
        last = std::move(s.metrics);
    };
    auto take = [&](std::vector<WatchedStep> got) {
        problems();
        for (auto& s : got) show(std::move(s));
        std::cout << std::flush;
    };
    if (!a.quiet)
        std::cout << "moescope: watching " << a.path << " (" << w.sources() << " file" << (w.sources() == 1 ? "" : "s")
                  << (a.once ? ", to the end" : ", Ctrl-C stops") << ")\n";
    while (!a.once && !stop.requested()) {
        take(w.poll());
        std::this_thread::sleep_for(std::chrono::milliseconds(a.poll_ms));
    }
    // Steps are shown as they complete, so --once holds one step at a time whatever the file size.
    w.finish([&](WatchedStep&& s) {
        problems();
        show(std::move(s));
    });
    problems();
    std::cout << std::flush;
    const std::string layout = w.layout_problem();
    if (!layout.empty()) std::cerr << "moescope-cli: watch: " << layout << "\n";
    if (const std::string n = w.layout_note(); !n.empty()) std::cerr << "moescope-cli: watch: note: " << n << "\n";

    nlohmann::json active = nlohmann::json::array(), raised = nlohmann::json::array();
    bool fail = false;
    for (const auto& wn : w.monitor().active()) {
        active.push_back(wn.id);
        if (a.fail_on == "warning" ? wn.severity != Severity::Info : wn.severity == Severity::Critical) fail = true;
    }
    for (const auto& wn : w.monitor().history())
        raised.push_back({{"id", wn.id},
                          {"layer", wn.layer >= 0 ? w.layer_ids()[wn.layer] : -1},
                          {"first_step", wn.first_step},
                          {"severity", severity_name(wn.severity)},
                          {"remedy", w.job_remedy(wn.remedy).text}});
    auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    nlohmann::json summary = {{"path", a.path},
                              {"steps", steps},
                              {"records", w.records()},
                              {"bad_lines", w.bad_lines()},
                              {"non_finite_records", w.non_finite_records()},
                              {"segments", w.segments()},
                              {"files", w.sources()},
                              {"experts", w.experts()},
                              {"layers", w.layer_ids()},
                              {"warnings_raised", raised},
                              {"warnings_active", active}};
    if (last) {
        const WorstLayers wl = worst_layers(*last);
        summary["last_step"] = last->step;
        summary["load_entropy"] = num(wl.load_entropy);
        summary["max_util"] = num(wl.max_util);
        // worst_layers() starts router entropy at 1; a log that carries none has no router entropy.
        double router_entropy = kNaN;
        for (const auto& l : last->layers)
            if (std::isfinite(l.router_entropy))
                router_entropy =
                    std::isnan(router_entropy) ? l.router_entropy : std::min(router_entropy, l.router_entropy);
        summary["router_entropy"] = num(router_entropy);
        summary["dead_experts"] = wl.dead;
    }
    // Paths and names from the file system need not be UTF-8: escape, never lose the summary.
    std::cout << summary.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    if (w.records() == 0) {
        std::cerr << "moescope-cli: watch: no router records in '" << a.path << "' (" << w.sources() << " file"
                  << (w.sources() == 1 ? "" : "s") << " read)"
                  << (a.fail_on.empty() ? "" : ": a pipeline cannot pass on no data") << "\n";
        if (!a.fail_on.empty()) return kExitFailOn;
    }
    if (!layout.empty()) return 2;
    return !a.fail_on.empty() && fail ? kExitFailOn : 0;
}

int cmd_export_knobs(const std::vector<std::string>& args) {
    std::string format, preset = "default", config_file, resume;
    std::vector<std::string> sets;
    if (args.size() == 1 && args[0] == "--table") {
        std::cout << framework_knobs_markdown();
        return 0;
    }
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& f = args[i];
        if (i + 1 >= args.size()) throw ConfigError(f + " needs a value (see 'moescope-cli help')");
        const std::string& v = args[++i];
        if (f == "--format")
            format = v;
        else if (f == "--preset")
            preset = v;
        else if (f == "--config")
            config_file = v;
        else if (f == "--resume")
            resume = v;
        else if (f == "--set")
            sets.push_back(v);
        else
            throw ConfigError("unknown option '" + f + "' for export-knobs");
    }
    if (format.empty()) throw ConfigError("export-knobs needs --format megatron|hf|deepspeed");
    const Framework fw = framework_from_name(format);
    Config c = !resume.empty()        ? load_snapshot(resume).state.config
               : !config_file.empty() ? load_config_file(config_file)
                                      : load_preset(preset);
    for (const auto& s : sets) {
        const auto eq = s.find('=');
        if (eq == std::string::npos || eq == 0) throw ConfigError("--set expects KEY=VALUE, got '" + s + "'");
        knob(s.substr(0, eq)).set_text(c, s.substr(eq + 1));
    }
    c.validate();
    std::cout << export_knobs(c, fw);
    return 0;
}
