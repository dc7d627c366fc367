#pragma once
// `moescope-cli bench --presets`: every shipped preset's training speed as
// people run it, on an idle machine and with one core kept busy by another
// process (a desktop is never idle), against the same preset on 1 thread and
// on all threads, all in one run (docs/performance.md, "Threads").
#include <functional>
#include <string>
#include <vector>

namespace moescope {

struct PresetSpeed {
    std::string name;
    double flops_per_step = 0;                    // expert GEMM FLOPs, forward and backward
    int threads = 1;                              // what the engine's rule picks (nn/threads.hpp)
    double idle = 0, idle_one = 0, idle_all = 0;  // tokens/s: the rule, 1 thread, all threads
    double busy = 0, busy_one = 0, busy_all = 0;  // the same with one core busy
};

// Times `steps` training steps (after 3 untimed ones) of every preset under
// each setting; `busy(true)` must start the other process, `busy(false)` stop it.
std::vector<PresetSpeed> bench_presets(int steps, const std::function<void(bool)>& busy);

}  // namespace moescope
