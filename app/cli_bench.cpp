#include "cli_bench.hpp"

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "backend_choice.hpp"
#include "cli_bench_cuda.hpp"
#include "cli_common.hpp"
#include "cli_signals.hpp"
#include "error.hpp"
#include "nn/gemm.hpp"
#include "train/bench.hpp"
#include "train/bench_presets.hpp"
#include "train/knobs.hpp"

namespace moescope {

namespace {

struct BenchArgs {
    BenchOptions options;
    bool json = false;
    bool compare_pytorch = false;
    std::string backend = "cpu";
    bool gpu_scale = false;
    bool presets = false;
};

// scripts/pytorch_baseline.py run by --compare-pytorch, or why it was skipped.
struct PytorchRun {
    std::string skipped;    // non-empty: not run, and why
    nlohmann::json result;  // what the script printed (--json)
    double tokens_per_s = 0;
};

int parse_positive(const std::string& flag, const std::string& v) {
    size_t used = 0;
    int n = 0;
    try {
        n = std::stoi(v, &used);
    } catch (...) {
        used = 0;
    }
    if (v.empty() || used != v.size() || n < 1)
        throw ConfigError(flag + " expects a whole number ≥ 1, got '" + v + "'");
    return n;
}

BenchArgs parse_bench_args(const std::vector<std::string>& args) {
    BenchArgs a;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& flag = args[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= args.size()) throw ConfigError(flag + " needs a value");
            return args[++i];
        };
        if (flag == "--json") {
            a.json = true;
        } else if (flag == "--compare-pytorch") {
            a.compare_pytorch = true;
        } else if (flag == "--gpu-scale") {
            a.gpu_scale = true;
            scale_for_gpu(a.options.config);  // a later --set still changes it
        } else if (flag == "--presets") {
            a.presets = true;
        } else if (flag == "--no-scaling") {
            a.options.scaling = false;
        } else if (flag == "--steps") {
            a.options.steps = parse_positive(flag, value());
        } else if (flag == "--backend") {
            a.backend = value();
            check_backend_name(a.backend);
        } else if (flag == "--set") {
            const std::string s = value();
            const auto eq = s.find('=');
            if (eq == std::string::npos || eq == 0) throw ConfigError("--set expects KEY=VALUE, got '" + s + "'");
            const KnobDef& k = knob(s.substr(0, eq));
            // The language model benches as people run it (the lm preset); later --set change it.
            if (k.name == "model" && s.substr(eq + 1) == "transformer" && !a.options.config.is_lm())
                a.options.config = lm_bench_config();
            k.set_text(a.options.config, s.substr(eq + 1));
        } else {
            throw ConfigError("unknown option '" + flag + "' for bench (see 'moescope-cli bench --help')");
        }
    }
    if (a.gpu_scale && a.backend != "cuda")
        throw ConfigError("--gpu-scale sizes the GPU bench: use it with --backend cuda");
    a.options.config.validate();
    return a;
}

std::string pad(const std::string& s, size_t w) { return s.size() >= w ? s + " " : s + std::string(w - s.size(), ' '); }
std::string lpad(const std::string& s, size_t w) {
    return s.size() >= w ? " " + s : std::string(w - s.size(), ' ') + s;
}

std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char ch : s) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    return q + "'";
}

// The baseline script: beside the sources of this build, or where `make install` put it.
std::string pytorch_script() {
    for (const char* p : {MOESCOPE_SOURCE_DIR "/scripts/pytorch_baseline.py", MOESCOPE_DATA_DIR "/pytorch_baseline.py"})
        if (std::filesystem::is_regular_file(p)) return p;
    return "";
}

// $MOESCOPE_PYTHON, else Debian's /usr/bin/python3 (where python3-torch installs), else python3 on PATH.
std::string pytorch_python() {
    if (const char* env = std::getenv("MOESCOPE_PYTHON"); env && *env) return env;
    if (std::filesystem::exists("/usr/bin/python3")) return "/usr/bin/python3";
    return "python3";
}

// Runs the baseline at its default (PyTorch's best setting: torch threads 1, BLAS
// kernels of its own choosing, BLAS threads = cores or 1, whichever is faster)
// and reads its JSON line.
PytorchRun run_pytorch_baseline(const Config& c, int classes) {
    PytorchRun run;
    const std::string script = pytorch_script();
    if (script.empty()) {
        run.skipped = "scripts/pytorch_baseline.py not found";
        return run;
    }
    const std::string python = pytorch_python();
    std::string cmd = shell_quote(python) + " " + shell_quote(script) + " --json";
    if (c.is_lm()) {
        const nlohmann::json lm = {
            {"d_model", c.d_model}, {"heads", c.heads}, {"layers", c.layers},   {"experts", c.experts},
            {"top_k", c.top_k},     {"d_ff", c.d_ff},   {"context", c.context}, {"batch_tokens", c.batch_tokens},
            {"vocab", classes}};
        cmd += " --lm " + shell_quote(lm.dump());
    }
    cmd += " 2>/dev/null";
    FILE* pipe = nullptr;
    {
        const cli::ChildSignals child_gets_ctrl_c;  // python stops on Ctrl-C like any child of a shell
        pipe = popen(cmd.c_str(), "r");
    }
    if (!pipe) {
        run.skipped = "cannot start " + python;
        return run;
    }
    std::string out;
    std::array<char, 4096> buf;
    while (size_t n = fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
    const int status = pclose(pipe);
    // The JSON is the last line.
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    const auto nl = out.rfind('\n');
    try {
        run.result = nlohmann::json::parse(nl == std::string::npos ? out : out.substr(nl + 1));
    } catch (const std::exception&) {
        run.result = nullptr;
    }
    if (run.result.is_object() && run.result.contains("skipped")) {
        run.skipped = run.result.value("skipped", std::string("skipped"));
    } else if (status != 0 || !run.result.is_object() || !run.result.contains("tokens_per_s")) {
        run.skipped =
            python + " could not run the baseline (is python3-torch installed? try: " + python + " " + script + ")";
    } else {
        run.tokens_per_s = run.result.value("tokens_per_s", 0.0);
        if (!(run.tokens_per_s > 0)) run.skipped = "the baseline reported no tokens/s";
    }
    if (!run.skipped.empty()) run.result = nullptr;
    return run;
}

void print_sgemm_table(const BenchResult& r) {
    const SgemmCandidate& best = r.sgemm_candidates[size_t(r.best_candidate)];
    std::cout << "  sgemm libraries at the expert shapes (" << r.config.experts << " experts × 6 GEMMs, " << r.threads
              << " threads, median of the best pass after each step):\n";
    for (size_t i = 0; i < r.sgemm_candidates.size(); ++i) {
        const SgemmCandidate& c = r.sgemm_candidates[i];
        std::cout << "    " << pad(c.name, 26) << pad(c.kernel, 18) << lpad(fmt("%.1f", c.gflops), 8) << " GFLOP/s"
                  << (c.used_by_model ? "  the model's" : "") << (int(i) == r.best_candidate ? "  fastest" : "")
                  << "\n";
    }
    for (const char* var : {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"})
        if (const char* v = std::getenv(var))
            std::cout << "    (" << var << "=" << v
                      << " is set: OpenBLAS runs that, not its own choice for this CPU)\n";
    std::cout << "  roofline sgemm   " << fmt("%7.1f", r.sgemm_gflops) << " GFLOP/s  fastest library after each step ("
              << best.name << ", " << best.kernel << ")\n";
    // MOESCOPE_GEMM=auto: which library each of the step's shape classes runs on.
    const std::vector<gemm::TunedChoice> choices = gemm::tuned_choices();
    if (!choices.empty()) {
        std::cout << "  the model's sgemm per shape class (timed here on first use; cache " << gemm::tuning_cache_path()
                  << "):\n";
        for (const auto& ch : choices) std::cout << "    " << pad(ch.shape, 34) << ch.library << "\n";
    }
}

void print_tables(const BenchResult& r, const PytorchRun* pytorch) {
    const Config& c = r.config;
    std::cout << "moescope bench (cpu, " << r.threads << " threads): " << c.dataset
              << (c.is_lm()
                      ? ", transformer, " + std::to_string(c.heads) + " heads, context " + std::to_string(c.context)
                      : " d_in " + std::to_string(c.d_in))
              << ", d_model " << c.d_model << ", d_ff " << c.d_ff << ", E=" << c.experts << " k=" << c.top_k
              << " L=" << c.layers << ", " << c.batch_tokens << " tokens/step, " << c.optimizer << ", median of "
              << r.steps << " steps\n\n";
    std::cout << "  step        " << fmt("%9.1f", r.ms_per_step) << " ms      " << fmt("%9.0f", r.tokens_per_s)
              << " tokens/s\n\n";

    std::cout << "  phase            ms/step    share\n";
    double sum = 0;
    for (double ms : r.phase_ms) sum += ms;
    for (int p = 0; p < kPhases; ++p)
        std::cout << "  " << pad(kPhaseNames[p], 14) << lpad(fmt("%.1f", r.phase_ms[p]), 9)
                  << lpad(fmt("%.1f %%", 100.0 * r.phase_ms[p] / sum), 10) << "\n";
    std::cout << "  " << pad("sum", 14) << lpad(fmt("%.1f", sum), 9) << "   (mean step "
              << fmt("%.1f", r.mean_ms_per_step) << " ms)\n\n";

    std::cout << "  expert GEMMs     " << fmt("%7.1f", r.expert_flops_per_step * 1e-9)
              << " GFLOP/step  (12·T·k·L·d_model·d_ff)\n";
    std::cout << "  expert GEMMs     " << fmt("%7.1f", r.expert_gflops) << " GFLOP/s in the training step\n";
    print_sgemm_table(r);
    std::cout << "  GEMM efficiency  " << fmt("%7.1f", 100 * r.gemm_efficiency)
              << " %  expert GEMMs ÷ roofline sgemm (target ≥ 85 %)\n";
    if (c.is_lm())
        std::cout << "  model GEMMs      " << fmt("%7.1f", r.model_flops_per_step * 1e-9)
                  << " GFLOP/step  (experts, attention, routers, head; forward and backward)\n";
    std::cout << "  roofline         " << fmt("%7.0f", r.roofline_tokens_per_s)
              << " tokens/s  (roofline sgemm ÷ the step's GEMM FLOPs per token)\n";
    std::cout << "  step efficiency  " << fmt("%7.1f", 100 * r.step_efficiency) << " %  of roofline (target ≥ 70 %)\n";
    const ExpertAttribution& a = r.attribution;
    const double gf = r.expert_flops_per_step * 1e-6;
    auto row = [&](const char* what, double ms, const std::string& extra) {
        std::cout << "    " << pad(what, 40) << lpad(fmt("%.1f", ms), 8) << " ms" << lpad(fmt("%.1f", gf / ms), 8)
                  << " GFLOP/s" << extra << "\n";
    };
    std::cout << "  expert phases, attributed (replays of the last step's expert work, the model's sgemm):\n";
    row("six GEMMs, T·k/E tokens per expert", a.even_gemm_ms, "");
    row("six GEMMs, the step's tokens per expert", a.step_loads_gemm_ms,
        "  (busiest expert " + std::to_string(a.max_tokens_per_expert) + " tokens)");
    row("+ bias, GELU and its gradient", a.model_ops_ms, "");
    row("in the training step", a.phase_ms, "");
    std::cout << "  memory           " << fmt("%7.1f", r.workspace_bytes / 1048576.0) << " MiB activations/scratch, "
              << fmt("%.1f", r.parameter_bytes / 1048576.0) << " MiB parameters+gradients+AdamW moments\n";
    if (pytorch && !pytorch->skipped.empty()) std::cout << "  PyTorch          skipped: " << pytorch->skipped << "\n";
    if (pytorch && pytorch->skipped.empty()) {
        const nlohmann::json& p = pytorch->result;
        std::cout << "  PyTorch          " << fmt("%7.0f", pytorch->tokens_per_s) << " tokens/s  (torch "
                  << p.value("torch", std::string("?")) << ", "
                  << "torch threads " << p.value("torch_threads", 0) << ", " << p.value("blas", std::string("?")) << " "
                  << p.value("blas_kernel", std::string("")) << ", "
                  << "BLAS threads " << p.value("blas_threads", 0) << ")\n";
        std::cout << "  vs PyTorch       " << fmt("%7.2f", r.tokens_per_s / pytorch->tokens_per_s)
                  << " ×  moescope tokens/s ÷ PyTorch tokens/s (target ≥ 1.5)\n";
    }

    if (r.scaling.empty()) return;
    std::cout << "\n  scaling (one field changed; cost = ms ÷ (tokens·k·d_ff), relative to the bench config)\n";
    std::cout << "  axis        value    ms/step   tokens/s   expert GFLOP/s   rel. cost\n";
    for (const auto& p : r.scaling)
        std::cout << "  " << pad(p.axis, 9) << lpad(std::to_string(p.value), 8) << lpad(fmt("%.1f", p.ms_per_step), 11)
                  << lpad(fmt("%.0f", p.tokens_per_s), 11) << lpad(fmt("%.1f", p.expert_gflops), 17)
                  << lpad(fmt("%.2f", p.relative_cost), 12) << "\n";
}

// null without --compare-pytorch; {"skipped": why}; or the script's fields plus the ratio.
nlohmann::json pytorch_json(const BenchResult& r, const PytorchRun* pytorch) {
    if (!pytorch) return nullptr;
    if (!pytorch->skipped.empty()) return {{"skipped", pytorch->skipped}};
    nlohmann::json j = pytorch->result;
    j["ratio"] = r.tokens_per_s / pytorch->tokens_per_s;
    return j;
}

nlohmann::json per_shape_json() {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& ch : gemm::tuned_choices()) out[ch.shape] = ch.library;
    return out;
}

nlohmann::json result_json(const BenchResult& r, const PytorchRun* pytorch) {
    const Config& c = r.config;
    nlohmann::json phases = nlohmann::json::object(), scaling = nlohmann::json::array();
    nlohmann::json candidates = nlohmann::json::array();
    for (const auto& s : r.sgemm_candidates)
        candidates.push_back(
            {{"name", s.name}, {"kernel", s.kernel}, {"gflops", s.gflops}, {"used_by_model", s.used_by_model}});
    const SgemmCandidate& best = r.sgemm_candidates[size_t(r.best_candidate)];
    nlohmann::json environment = nlohmann::json::object();
    for (const char* var : {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"})
        if (const char* v = std::getenv(var)) environment[var] = v;
    for (int p = 0; p < kPhases; ++p) phases[kPhaseNames[p]] = r.phase_ms[p];
    for (const auto& p : r.scaling)
        scaling.push_back({{"axis", p.axis},
                           {"value", p.value},
                           {"ms_per_step", p.ms_per_step},
                           {"tokens_per_s", p.tokens_per_s},
                           {"expert_gflops", p.expert_gflops},
                           {"relative_cost", p.relative_cost}});
    return {{"backend", "cpu"},
            {"threads", r.threads},
            {"config",
             {{"dataset", c.dataset},
              {"d_in", c.d_in},
              {"classes", c.classes},
              {"d_model", c.d_model},
              {"d_ff", c.d_ff},
              {"experts", c.experts},
              {"top_k", c.top_k},
              {"layers", c.layers},
              {"batch_tokens", c.batch_tokens},
              {"policy", c.policy},
              {"optimizer", c.optimizer},
              {"capacity_factor", c.capacity_factor},
              {"aux_weight", c.aux_weight}}},
            {"steps", r.steps},
            {"ms_per_step", r.ms_per_step},
            {"mean_ms_per_step", r.mean_ms_per_step},
            {"tokens_per_s", r.tokens_per_s},
            {"phase_ms", phases},
            {"expert_flops_per_step", r.expert_flops_per_step},
            {"model_flops_per_step", r.model_flops_per_step},
            {"expert_gflops", r.expert_gflops},
            {"sgemm_candidates", candidates},
            {"sgemm_best", best.name + " (" + best.kernel + ")"},
            {"model_sgemm", r.sgemm_candidates.front().name + " (" + r.sgemm_candidates.front().kernel + ")"},
            {"model_sgemm_gflops", r.model_sgemm_gflops},
            {"model_sgemm_per_shape", per_shape_json()},
            {"sgemm_gflops", r.sgemm_gflops},
            {"environment", environment},
            {"gemm_efficiency", r.gemm_efficiency},
            {"roofline_tokens_per_s", r.roofline_tokens_per_s},
            {"step_efficiency", r.step_efficiency},
            {"expert_attribution",
             {{"phase_ms", r.attribution.phase_ms},
              {"even_gemm_ms", r.attribution.even_gemm_ms},
              {"step_loads_gemm_ms", r.attribution.step_loads_gemm_ms},
              {"model_ops_ms", r.attribution.model_ops_ms},
              {"max_tokens_per_expert", r.attribution.max_tokens_per_expert}}},
            {"workspace_bytes", r.workspace_bytes},
            {"parameter_bytes", r.parameter_bytes},
            {"scaling", scaling},
            {"pytorch", pytorch_json(r, pytorch)}};
}

// Another process that keeps one core busy while it lives: what a desktop's
// browser, window drawing or second run does to a training run.
class BusyCore {
public:
    void set(bool on) {
        if (on && pid_ <= 0) {
            pid_ = fork();
            if (pid_ == 0) {
                volatile unsigned long spin = 0;
                for (;;) spin = spin + 1;
            }
        } else if (!on && pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
    }
    ~BusyCore() { set(false); }

private:
    pid_t pid_ = -1;
};

std::string k_tokens(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1fk", v / 1000.0);
    return text;
}

int bench_presets_table(int steps, bool json) {
    BusyCore other;
    const std::vector<PresetSpeed> speeds = bench_presets(steps, [&](bool on) { other.set(on); });
    if (json) {
        nlohmann::json rows = nlohmann::json::array();
        for (const PresetSpeed& p : speeds)
            rows.push_back({{"preset", p.name},
                            {"flops_per_step", p.flops_per_step},
                            {"threads", p.threads},
                            {"idle_tokens_per_s", p.idle},
                            {"idle_one_thread", p.idle_one},
                            {"idle_all_threads", p.idle_all},
                            {"busy_tokens_per_s", p.busy},
                            {"busy_one_thread", p.busy_one},
                            {"busy_all_threads", p.busy_all}});
        std::cout << nlohmann::json{{"steps", steps}, {"presets", rows}}.dump() << std::endl;
        return 0;
    }
    std::cout << "tokens/s per preset, median of 3 interleaved rounds of " << steps
              << " steps each: the engine's thread rule, then 1 thread and all threads; idle, then with one core "
                 "busy (another process spinning)\n\n";
    std::cout << pad("preset", 28) << lpad("GFLOP/step", 11) << lpad("thr", 4) << lpad("idle", 9) << lpad("1 thr", 9)
              << lpad("all", 9) << lpad("vs best", 8) << lpad("busy", 9) << lpad("1 thr", 9) << lpad("all", 9)
              << lpad("busy/idle", 10) << "\n";
    for (const PresetSpeed& p : speeds) {
        char frac[32], ratio[32], gf[32];
        std::snprintf(gf, sizeof gf, "%.3f", p.flops_per_step * 1e-9);
        std::snprintf(frac, sizeof frac, "%.0f %%", 100.0 * p.idle / std::max(p.idle_one, p.idle_all));
        std::snprintf(ratio, sizeof ratio, "%.0f %%", 100.0 * p.busy / p.idle);
        std::cout << pad(p.name, 28) << lpad(gf, 11) << lpad(std::to_string(p.threads), 4) << lpad(k_tokens(p.idle), 9)
                  << lpad(k_tokens(p.idle_one), 9) << lpad(k_tokens(p.idle_all), 9) << lpad(frac, 8)
                  << lpad(k_tokens(p.busy), 9) << lpad(k_tokens(p.busy_one), 9) << lpad(k_tokens(p.busy_all), 9)
                  << lpad(ratio, 10) << "\n";
    }
    std::cout << "\nvs best: the rule's idle speed against the faster of 1 thread and all threads (target ≥ 90 %); "
                 "busy/idle: the rule's speed with one core busy against idle (target ≥ 45 %)\n";
    return 0;
}

}  // namespace

int cmd_bench(const std::vector<std::string>& args) {
    const BenchArgs a = parse_bench_args(args);
    if (a.presets) return bench_presets_table(a.options.steps, a.json);
    // Only an explicit --backend cuda runs the GPU bench: auto and cpu time the CPU engine and its roofline.
    if (choose_backend(a.backend, a.backend == "cuda", "training", std::cerr) == Backend::Cuda)
        return bench_cuda(a.options.config, a.options.warmup_steps, a.options.steps, a.json);
    const BenchResult r = run_bench(a.options);
    PytorchRun pytorch;
    if (a.compare_pytorch) pytorch = run_pytorch_baseline(r.config, r.classes);
    const PytorchRun* p = a.compare_pytorch ? &pytorch : nullptr;
    if (a.json)
        std::cout << result_json(r, p).dump() << std::endl;
    else
        print_tables(r, p);
    return 0;
}

}  // namespace moescope
