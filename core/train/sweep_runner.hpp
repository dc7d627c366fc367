#pragma once
// Runs a sweep: every (cell, seed) is one headless training run, run on a pool
// of worker threads, one single-threaded trainer each (no nested OpenMP, so
// T workers use T cores). Each run depends only on its config and seed, so
// the results are the same for any number of threads.
#include <atomic>
#include <functional>

#include "engine/engine_factory.hpp"
#include "train/sweep.hpp"

namespace moescope {

struct SweepProgress {
    int cells_done = 0, cells = 0;
    long runs_done = 0, runs = 0;
    double elapsed_s = 0;
    double eta_s = -1;  // seconds left at the pace so far; −1 before the first run ends
};

struct SweepOptions {
    int threads = 0;                            // 0: every core (std::thread::hardware_concurrency)
    const std::atomic<bool>* cancel = nullptr;  // set it to stop: finished cells are kept
    // Both are called from worker threads, one call at a time (under the runner's lock).
    std::function<void(const SweepCell&, const SweepProgress&)> on_cell;  // a cell's last seed finished
    std::function<void(const SweepProgress&)> on_run;                     // any run finished
};

// Runs `spec` (validated first: throws ConfigError). A run that throws (a
// dataset file gone missing) stops the sweep and the error is rethrown once
// the workers have stopped.
SweepResult run_sweep(const SweepSpec& spec, const SweepOptions& opt = {});

// One run of cell (ix, iy) with seed index s, reduced to the sweep measures:
// what the local runner's workers and a cluster's array tasks (sweep --cell)
// both call, so a cell trained on either is the same, bit for bit, on one machine.
// Returns false, leaving `out` untouched, when `cancel` was set during it.
bool run_sweep_cell(const SweepSpec& spec, int ix, int iy, int s, SweepRun& out,
                    const std::atomic<bool>* cancel = nullptr, Backend backend = Backend::Cpu);

}  // namespace moescope
