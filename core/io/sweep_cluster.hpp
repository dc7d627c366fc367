#pragma once
// A sweep on a cluster: the grid handed to Slurm as a job array, one array
// task per (cell, seed) run, merged back into the same `.moesweep` a local
// sweep writes (docs/sweep.md, "On a cluster").
//
//   DIR/sweep.moesweep   the sweep's definition: the .moesweep header (base
//                        config, axes, steps, seeds; no cells yet) plus a
//                        "cluster" object: its id and one row per task with
//                        the cell, the two knob values and the seed
//   DIR/sweep.sbatch     the job array: --array=0-(N-1)[%P], one task per run
//   DIR/cells/U.json     task U's result, written atomically by
//                        `moescope-cli sweep --cell DIR U` (a rerun replaces it)
//   DIR/logs/            the tasks' stdout/stderr (Slurm writes them)
//
// Task U is run U of the local runner (sweep_task), and both call
// run_sweep_cell: a cell trained on the cluster equals the same cell trained
// locally, bit for bit on the same machine.
#include <string>
#include <utility>
#include <vector>

#include "train/sweep.hpp"

namespace moescope {

inline constexpr const char* kSweepRunFormat = "moescope-sweep-run";

// What the job array asks of Slurm, written as #SBATCH lines.
struct SlurmOptions {
    std::string partition;         // --partition (empty: the cluster's default)
    std::string time = "1:00:00";  // --time per task
    std::string gres;              // --gres, e.g. "gpu:1": the tasks then take --backend auto
    std::string mem;               // --mem per task (empty: the cluster's default)
    std::string account;           // --account (empty: none)
    int cpus_per_task = 1;         // each run trains on one thread, as in a local sweep
    int parallel = 0;              // %P: at most P tasks at once (0: no limit)
    std::string cli;               // the moescope-cli the tasks run (absolute path)
};

// Writes DIR/sweep.moesweep and DIR/sweep.sbatch and makes DIR/cells and DIR/logs.
// DIR may exist only empty or holding this same sweep (then its cells are kept);
// another sweep there, a path Slurm cannot take (whitespace, quotes, '%', '$'),
// or a bad option throws ConfigError naming it. Returns the script's path.
std::string emit_slurm_sweep(const SweepSpec& spec, const SlurmOptions& o, const std::string& dir);

// The sweep written in DIR by emit_slurm_sweep. Throws DataError naming the
// file and the problem.
struct ClusterSweep {
    SweepSpec spec;
    std::string id;  // ties each task's result to this definition
    std::string dir, script;
};
ClusterSweep load_cluster_sweep(const std::string& dir);

// Task U's result file, DIR/cells/U.json.
std::string cluster_cell_path(const ClusterSweep& c, long task);
// Writes a finished run, or the reason it failed (`run` ignored), atomically.
void save_cluster_run(const ClusterSweep& c, long task, const SweepRun& run, double seconds);
void save_cluster_failure(const ClusterSweep& c, long task, const std::string& why);

// Whatever DIR/cells holds, merged: the cells whose every seed is in, the
// tasks that never wrote a result (missing) and those whose result says they
// failed or cannot be read (failed, with why). Never throws for a bad result
// file, only for a bad definition.
struct ClusterMerge {
    SweepResult result;  // complete cells only, as a local sweep keeps them
    long runs_done = 0;
    std::vector<long> missing;
    std::vector<std::pair<long, std::string>> failed;
    std::string rerun;  // "sbatch --array=3,7,12-14 DIR/sweep.sbatch", or "" when nothing is left
};
ClusterMerge merge_cluster_sweep(const ClusterSweep& c);

// Task ids as Slurm's --array takes them: "0-4,7,9-10".
std::string slurm_array_ranges(std::vector<long> tasks);

}  // namespace moescope
