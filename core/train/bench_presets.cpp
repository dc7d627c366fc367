#include "train/bench_presets.hpp"

#include <algorithm>
#include <array>
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

// The rule (0), 1 thread and all threads, each the median of three rounds; each
// round measures all three in a rotated order, so a neighbour's load that comes
// and goes touches them alike. (Where the rule picks 1 thread, "rule" and
// "1 thread" are the same setting measured twice: their ratio is this
// machine's noise, which the median keeps small.)
std::array<double, 3> three_speeds(const Config& cfg, int steps) {
    constexpr int kRounds = 3;
    const int settings[3] = {0, 1, threads::available()};
    std::array<std::vector<double>, 3> v;
    for (int r = 0; r < kRounds; ++r)
        for (int i = 0; i < 3; ++i) {
            const int j = (i + r) % 3;
            v[size_t(j)].push_back(tokens_per_s(cfg, steps, settings[j]));
        }
    std::array<double, 3> out{};
    for (size_t j = 0; j < 3; ++j) {
        std::sort(v[j].begin(), v[j].end());
        out[j] = v[j][v[j].size() / 2];
    }
    return out;
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
        const auto idle = three_speeds(cfg, steps);
        p.idle = idle[0], p.idle_one = idle[1], p.idle_all = idle[2];
        out.push_back(p);
    }
    busy(true);
    for (PresetSpeed& p : out) {
        const Config cfg = load_preset(p.name);
        const auto busy_speeds = three_speeds(cfg, steps);
        p.busy = busy_speeds[0], p.busy_one = busy_speeds[1], p.busy_all = busy_speeds[2];
    }
    busy(false);
    return out;
}

}  // namespace moescope
