#pragma once
// A phase diagram: the same short training run over a grid of two knobs (x, y)
// and K seeds, each run headless and deterministic from config + seed, reduced
// to a few health measures per run. This file holds what a sweep is (the spec,
// the measures, the per-cell results); sweep_runner.hpp runs one, and
// io/sweep_file.hpp stores one.
//
// Lesson scripts never fire during a sweep: the base config's script is
// cleared, because a scripted change at step 200 would overwrite the very knob
// the map is about (lesson 2 sets aux_weight at step 200).
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "train/config.hpp"

namespace moescope {

// One axis: `n` values of `knob` from `lo` to `hi`, evenly spaced, or evenly in
// log space when `log`. Whole-number knobs round each value.
struct SweepAxis {
    std::string knob;  // canonical knob-table name
    double lo = 0, hi = 0;
    int n = 1;
    bool log = false;

    double value(int i) const;  // i ∈ [0, n)
};

// "aux_weight=1e-3:1:7" → {aux_weight, 1e-3, 1, 7}; throws ConfigError naming the part that is wrong.
SweepAxis parse_sweep_axis(std::string_view text, bool log);
// "aux_weight=0.001:1:7" (the inverse, shortest round-trip numbers; log is not part of it).
std::string sweep_axis_text(const SweepAxis& a);

// What one sweep may hold: up to 64 seeds per cell (their seeds base.seed,
// base.seed+1, ... must stay within the seed knob's range) and up to a million
// steps per run (each run keeps five numbers per step while it trains).
inline constexpr int kSweepMaxSeeds = 64;
inline constexpr long kSweepMaxSteps = 1'000'000;

struct SweepSpec {
    Config base;  // every run starts from it (script cleared, seed = base.seed + s)
    SweepAxis x, y;
    long steps = 600;
    int seeds = 1;

    // Checks axes (known numeric knobs, two different ones, range inside the
    // knob's, lo > 0 for log, 1 ≤ n ≤ 64), 1 ≤ steps ≤ kSweepMaxSteps,
    // 1 ≤ seeds ≤ kSweepMaxSeeds with base.seed + seeds - 1 a valid seed, and
    // every cell's config (Config::validate). Throws ConfigError naming the problem.
    void validate() const;
    int cells() const { return x.n * y.n; }
    long runs() const { return long(cells()) * seeds; }
};

// The spec for `base` with its script removed: what sweeps use.
SweepSpec make_sweep_spec(Config base, SweepAxis x, SweepAxis y, long steps, int seeds);

// The config of one run: the base with both knobs set and seed base.seed + s.
Config sweep_run_config(const SweepSpec& spec, int ix, int iy, int s);

// Run u of a sweep, 0 ≤ u < runs(): cell u / seeds in row order (ix fastest),
// seed index u % seeds. The local runner's order and a cluster array's task ids.
struct SweepTask {
    int ix = 0, iy = 0, s = 0;
};
SweepTask sweep_task(const SweepSpec& spec, long u);

// What one run is reduced to. "Final" is the mean over the last window of
// steps, "worst" the worst mean over any window of that length (lowest for
// entropies, highest for the rest); a window is min(50, max(1, steps/10))
// steps. Balance measures are taken at each step's worst layer (worst_layers).
enum SweepMeasureId {
    kLoadEntropy,
    kLoadEntropyWorst,
    kMaxUtil,
    kMaxUtilWorst,
    kDeadExperts,
    kDeadExpertsWorst,
    kDropped,
    kDroppedWorst,
    kRouterEntropy,
    kRouterEntropyWorst,
    kTestAcc,  // held-out accuracy at the end (Trainer::evaluate)
    kHalted,   // 1 when the run stopped on non-finite values, else 0
    kSweepMeasures
};

struct SweepMeasure {
    std::string_view name;   // file column, CLI --metric value
    std::string_view label;  // for axes, legends and tooltips
    bool higher_is_healthy;  // colour maps put "healthy" at the same end for every measure
};
const std::array<SweepMeasure, kSweepMeasures>& sweep_measures();
// Index of the measure called `name`; throws ConfigError listing the names.
int sweep_measure_index(std::string_view name);
// The sliding window used for "final" and "worst" over `steps` steps.
long sweep_window(long steps);

struct SweepRun {
    int seed = 0;  // the seed the run used (base.seed + s)
    std::array<double, kSweepMeasures> values{};
};

struct SweepStat {
    double mean = 0, median = 0, min = 0, max = 0;
    int n = 0;  // finite values behind it
};

struct SweepCell {
    int ix = 0, iy = 0;
    double x = 0, y = 0;
    std::vector<SweepRun> runs;  // one per seed, sorted by seed

    SweepStat stat(int measure) const;  // over the runs; NaN mean/median/min/max when no finite value
};

struct SweepResult {
    SweepSpec spec;
    std::vector<SweepCell> cells;  // finished cells only, sorted by (iy, ix)

    const SweepCell* cell(int ix, int iy) const;  // nullptr when not run
    bool complete() const { return long(cells.size()) == spec.cells(); }
};

// Collapse, as the monitor sees it, for one run: final load entropy of the
// worst layer below the config's collapse_entropy, or halted on non-finite values.
bool sweep_run_collapsed(const SweepRun& r, const Config& base);

// A cell whose median seed collapsed: the median final load entropy is below the
// threshold, or more than half of its seeds halted. The map colours cells by the
// median, so a single seed never paints a cell.
bool sweep_cell_collapsed(const SweepCell& c, const Config& base);

// The seeds of a cell disagree about collapse: at least one collapsed and at
// least one did not. The window marks such cells and draws the collapse
// boundary only between cells whose seeds agree; with one seed, never.
bool sweep_cell_disputed(const SweepCell& c, const Config& base);

}  // namespace moescope
