#include "cli_bench.hpp"

#include <algorithm>
#include <iostream>

#include <nlohmann/json.hpp>

#include "backend_choice.hpp"
#include "cli_common.hpp"
#include "error.hpp"
#include "train/bench.hpp"
#include "train/knobs.hpp"

namespace moescope {

namespace {

struct BenchArgs {
    BenchOptions options;
    bool json = false;
    std::string backend = "cpu";
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
            knob(s.substr(0, eq)).set_text(a.options.config, s.substr(eq + 1));
        } else {
            throw ConfigError("unknown option '" + flag + "' for bench (see 'moescope-cli bench --help')");
        }
    }
    a.options.config.validate();
    return a;
}

std::string pad(const std::string& s, size_t w) { return s.size() >= w ? s + " " : s + std::string(w - s.size(), ' '); }
std::string lpad(const std::string& s, size_t w) {
    return s.size() >= w ? " " + s : std::string(w - s.size(), ' ') + s;
}

void print_tables(const BenchResult& r) {
    const Config& c = r.config;
    std::cout << "moescope bench (cpu, " << r.threads << " threads): " << c.dataset << " d_in " << c.d_in
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
    std::cout << "  sgemm peak       " << fmt("%7.1f", r.sgemm_gflops) << " GFLOP/s  same shapes, Eigen, " << r.threads
              << " threads, measured after each step\n";
    std::cout << "  GEMM efficiency  " << fmt("%7.1f", 100 * r.gemm_efficiency) << " %  (target ≥ 85 %)\n";
    std::cout << "  roofline         " << fmt("%7.0f", r.roofline_tokens_per_s)
              << " tokens/s  (sgemm peak ÷ FLOPs per token)\n";
    std::cout << "  step efficiency  " << fmt("%7.1f", 100 * r.step_efficiency) << " %  of roofline (target ≥ 70 %)\n";
    std::cout << "  memory           " << fmt("%7.1f", r.workspace_bytes / 1048576.0) << " MiB activations/scratch, "
              << fmt("%.1f", r.parameter_bytes / 1048576.0) << " MiB parameters+gradients+AdamW moments\n";

    if (r.scaling.empty()) return;
    std::cout << "\n  scaling (one field changed; cost = ms ÷ (tokens·k·d_ff), relative to the bench config)\n";
    std::cout << "  axis        value    ms/step   tokens/s   expert GFLOP/s   rel. cost\n";
    for (const auto& p : r.scaling)
        std::cout << "  " << pad(p.axis, 9) << lpad(std::to_string(p.value), 8) << lpad(fmt("%.1f", p.ms_per_step), 11)
                  << lpad(fmt("%.0f", p.tokens_per_s), 11) << lpad(fmt("%.1f", p.expert_gflops), 17)
                  << lpad(fmt("%.2f", p.relative_cost), 12) << "\n";
}

nlohmann::json result_json(const BenchResult& r) {
    const Config& c = r.config;
    nlohmann::json phases = nlohmann::json::object(), scaling = nlohmann::json::array();
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
            {"expert_gflops", r.expert_gflops},
            {"sgemm_gflops", r.sgemm_gflops},
            {"gemm_efficiency", r.gemm_efficiency},
            {"roofline_tokens_per_s", r.roofline_tokens_per_s},
            {"step_efficiency", r.step_efficiency},
            {"workspace_bytes", r.workspace_bytes},
            {"parameter_bytes", r.parameter_bytes},
            {"scaling", scaling}};
}

// The GPU side of the bench, until training runs there: fp32 cuBLAS speed on
// the expert GEMM shape of the bench config and on a large square, the ceiling
// a CUDA training step will be measured against.
int bench_cuda(const BenchArgs& a) {
    const Config& c = a.options.config;
    const GpuInfo gpu = gpu_info();
    const int tokens = int(std::max(1L, long(c.batch_tokens) * c.top_k / c.experts));  // per expert
    const double expert_gflops = gpu_sgemm_gflops(c.d_ff, tokens, c.d_model);
    const double square_gflops = gpu_sgemm_gflops(4096, 4096, 4096);
    const std::string cc = std::to_string(gpu.cc_major) + "." + std::to_string(gpu.cc_minor);
    if (a.json) {
        std::cout << nlohmann::json{{"backend", "cuda"},
                                    {"device", gpu.name},
                                    {"compute_capability", cc},
                                    {"memory_bytes", gpu.memory},
                                    {"sgemm_shape", {c.d_ff, tokens, c.d_model}},
                                    {"sgemm_gflops", expert_gflops},
                                    {"sgemm_gflops_4096", square_gflops},
                                    {"training_step", "not implemented on the GPU yet"}}
                         .dump()
                  << std::endl;
        return 0;
    }
    std::cout << "moescope bench (cuda): " << gpu.name << ", compute capability " << cc << ", "
              << fmt("%.1f", gpu.memory / 1073741824.0) << " GiB\n\n";
    std::cout << "  sgemm peak       " << fmt("%9.1f", expert_gflops) << " GFLOP/s  cuBLAS fp32, expert shape "
              << c.d_ff << "×" << c.d_model << " · " << c.d_model << "×" << tokens << "\n";
    std::cout << "  sgemm peak       " << fmt("%9.1f", square_gflops) << " GFLOP/s  cuBLAS fp32, 4096³\n";
    std::cout << "  training step    not implemented on the GPU yet (time it with --backend cpu)\n";
    return 0;
}

}  // namespace

int cmd_bench(const std::vector<std::string>& args) {
    const BenchArgs a = parse_bench_args(args);
    // Only an explicit --backend cuda runs the GPU measurements: auto times training, which runs on the CPU.
    if (choose_backend(a.backend, a.backend == "cuda", "training", std::cerr) == Backend::Cuda) return bench_cuda(a);
    const BenchResult r = run_bench(a.options);
    if (a.json)
        std::cout << result_json(r).dump() << std::endl;
    else
        print_tables(r);
    return 0;
}

}  // namespace moescope
