#pragma once
// `moescope-cli sweep` on a Slurm cluster (core/io/sweep_cluster.hpp):
//   sweep ... --emit slurm DIR [--partition P --time T ...]   write the job array
//   sweep --cell DIR TASK [--backend B]                         what each array task runs
//   sweep --merge DIR [--out FILE] [--png FILE] [--metric M]    merge what finished
#include <functional>
#include <string>
#include <vector>

#include "io/sweep_cluster.hpp"

namespace moescope {

// Takes the #SBATCH options (--partition, --time, --cpus-per-task, --mem, --gres,
// --account, --parallel, --cli); false when `flag` is none of them.
bool parse_slurm_option(const std::string& flag, const std::function<std::string()>& value, SlurmOptions& o);

// Writes the job array and says how to submit and merge it. Exit status 0.
int emit_slurm(const SweepSpec& spec, SlurmOptions o, const std::string& dir);

int cmd_sweep_cell(const std::vector<std::string>& args);
int cmd_sweep_merge(const std::vector<std::string>& args);

}  // namespace moescope
