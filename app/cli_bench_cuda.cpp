#include "cli_bench_cuda.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <iostream>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend_choice.hpp"
#include "cli_common.hpp"
#include "error.hpp"
#include "train/bench.hpp"
#include "train/trainer.hpp"

namespace moescope {

namespace {

struct GpuStepTiming {
    std::string skipped;  // non-empty: no step was timed, and why
    std::string engine, engine_reason;
    double ms_per_step = 0;  // median
};

// The six expert GEMMs of one layer as (m, n, k), t = tokens per expert:
// forward h = W1·U and y = W2·act; backward dact = W2ᵀ·dy, du = W1ᵀ·dh,
// dW2 = dy·actᵀ, dW1 = dh·Uᵀ. All six cost 2·t·d_model·d_ff FLOPs.
std::array<std::array<int, 3>, 6> expert_shapes(const Config& c) {
    const int t = int(std::max(1L, long(c.batch_tokens) * c.top_k / c.experts));
    return {{{c.d_ff, t, c.d_model},
             {c.d_model, t, c.d_ff},
             {c.d_ff, t, c.d_model},
             {c.d_model, t, c.d_ff},
             {c.d_model, c.d_ff, t},
             {c.d_ff, c.d_model, t}}};
}

// cuBLAS fp32 rate of the six shapes together: equal FLOPs each, so 6 ÷ Σ 1/GFLOP/s.
double sgemm_peak(const Config& c) {
    double inverse = 0;
    for (const auto& s : expert_shapes(c)) inverse += 1.0 / gpu_sgemm_gflops(s[0], s[1], s[2]);
    return 6.0 / inverse;
}

GpuStepTiming time_training(const Config& c, int warmup_steps, int steps) {
    GpuStepTiming t;
    std::unique_ptr<Trainer> tr;
    try {
        tr = std::make_unique<Trainer>(c, Backend::Cuda);
    } catch (const Error& e) {
        t.skipped = e.what();
        return t;
    }
    t.engine = tr->engine().name();
    t.engine_reason = tr->engine_reason();
    for (int i = 0; i < warmup_steps; ++i) tr->step();
    std::vector<double> ms;
    for (int i = 0; i < steps; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        tr->step();  // its metrics are read back to the host: the step has finished on the GPU
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::nth_element(ms.begin(), ms.begin() + long(ms.size() / 2), ms.end());
    t.ms_per_step = ms[ms.size() / 2];
    return t;
}

}  // namespace

void scale_for_gpu(Config& c) {
    c.experts = 64;
    c.d_model = 1024;
    c.d_ff = 4096;
    c.batch_tokens = 32768;
}

int bench_cuda(const Config& c, int warmup_steps, int steps, bool json) {
    const GpuInfo gpu = gpu_info();
    const GpuStepTiming step = time_training(c, warmup_steps, steps);
    // Measured after the steps, in the same process: the ceiling those steps are held against.
    const double peak = sgemm_peak(c);
    const double flops = expert_gemm_flops(c);
    const bool timed = step.skipped.empty();
    const double tokens_per_s = timed ? c.batch_tokens * 1000.0 / step.ms_per_step : 0;
    const double step_gflops = timed ? flops / step.ms_per_step * 1e-6 : 0;
    const double share = timed ? step_gflops / peak : 0;
    const std::string cc = std::to_string(gpu.cc_major) + "." + std::to_string(gpu.cc_minor);
    if (json) {
        nlohmann::json j = {{"backend", "cuda"},
                            {"device", gpu.name},
                            {"compute_capability", cc},
                            {"memory_bytes", gpu.memory},
                            {"config",
                             {{"d_model", c.d_model},
                              {"d_ff", c.d_ff},
                              {"experts", c.experts},
                              {"top_k", c.top_k},
                              {"layers", c.layers},
                              {"batch_tokens", c.batch_tokens}}},
                            {"sgemm_gflops", peak},
                            {"expert_flops_per_step", flops}};
        if (timed)
            j.update({{"engine", step.engine},
                      {"engine_reason", step.engine_reason},
                      {"steps", steps},
                      {"ms_per_step", step.ms_per_step},
                      {"tokens_per_s", tokens_per_s},
                      {"step_gflops", step_gflops},
                      {"sgemm_share", share}});
        else
            j["training_step"] = "not timed: " + step.skipped;
        std::cout << j.dump() << std::endl;
        return 0;
    }
    std::cout << "moescope bench (cuda): " << gpu.name << ", compute capability " << cc << ", "
              << fmt("%.1f", gpu.memory / 1073741824.0) << " GiB\n"
              << "  config: d_model " << c.d_model << ", d_ff " << c.d_ff << ", E=" << c.experts << " k=" << c.top_k
              << " L=" << c.layers << ", " << c.batch_tokens << " tokens/step\n\n";
    if (timed) {
        std::cout << "  engine           " << step.engine << ": " << step.engine_reason << "\n"
                  << "  step        " << fmt("%9.2f", step.ms_per_step) << " ms      " << fmt("%9.0f", tokens_per_s)
                  << " tokens/s  (median of " << steps << " steps)\n"
                  << "  expert GEMMs   " << fmt("%9.1f", step_gflops) << " GFLOP/s in the training step ("
                  << fmt("%.1f", flops * 1e-9) << " GFLOP/step)\n";
    } else {
        std::cout << "  training step    not timed: " << step.skipped << "\n";
    }
    std::cout << "  sgemm peak     " << fmt("%9.1f", peak)
              << " GFLOP/s  cuBLAS fp32 on the six expert GEMM shapes, this run\n";
    if (timed)
        std::cout << "  step share     " << fmt("%9.1f", 100 * share)
                  << " %  expert GEMM GFLOP/s in the step ÷ sgemm peak (target ≥ 60 % with --gpu-scale)\n";
    return 0;
}

}  // namespace moescope
