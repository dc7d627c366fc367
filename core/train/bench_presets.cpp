#include "train/bench_presets.hpp"

#include <chrono>

#include "nn/threads.hpp"
#include "train/bench.hpp"
#include "train/config.hpp"
#include "train/trainer.hpp"

namespace moescope {

namespace {

// Tokens per second over `steps` steps of `cfg` with the team size forced to
// `threads` (0: the engine's rule), after 3 untimed steps.
double tokens_per_s(const Config& cfg, int steps, int threads) {
    threads::force(threads);
    Trainer tr(cfg);
    for (int i = 0; i < 3; ++i) tr.step();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) tr.step();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    threads::force(0);
    return double(cfg.batch_tokens) * steps / s;
}

}  // namespace

std::vector<PresetSpeed> bench_presets(int steps, const std::function<void(bool)>& busy) {
    std::vector<PresetSpeed> out;
    for (const std::string& name : preset_names()) {
        PresetSpeed p;
        p.name = name;
        const Config cfg = load_preset(name);
        p.flops_per_step = expert_gemm_flops(cfg);
        p.threads = threads::for_step(p.flops_per_step);
        p.idle = tokens_per_s(cfg, steps, 0);
        p.idle_one = tokens_per_s(cfg, steps, 1);
        p.idle_all = tokens_per_s(cfg, steps, threads::available());
        out.push_back(p);
    }
    busy(true);
    for (PresetSpeed& p : out) {
        const Config cfg = load_preset(p.name);
        p.busy = tokens_per_s(cfg, steps, 0);
        p.busy_one = tokens_per_s(cfg, steps, 1);
        p.busy_all = tokens_per_s(cfg, steps, threads::available());
    }
    busy(false);
    return out;
}

}  // namespace moescope
