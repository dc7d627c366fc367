#pragma once
// How much memory a config needs, estimated from the config alone before
// anything is allocated, so that settings beyond what this process may use end
// in one clear ConfigError instead of std::bad_alloc or the kernel's OOM killer.
// What it may use is the smallest of: a share of physical memory, MemAvailable,
// the memory limit of its cgroup (v2 memory.max, v1 memory.limit_in_bytes, on
// the path to the root) and what RLIMIT_AS (ulimit -v, prlimit --as) leaves.
#include <string>

#include "train/config.hpp"

namespace moescope {

struct MemoryEstimate {
    long parameters = 0;          // trainable values
    double params_bytes = 0;      // weights and gradients
    double optim_bytes = 0;       // optimizer moments, and the copies a snapshot save holds at once
    double activation_bytes = 0;  // training, evaluation and probe workspaces
    double dataset_bytes = 0;     // samples and labels (CSV and text: an upper bound from the file)
    double monitor_bytes = 0;  // the dead-expert window (layers × dead_window × experts), and its copies while saving
    double total() const { return params_bytes + optim_bytes + activation_bytes + dataset_bytes + monitor_bytes; }
};

// A run may plan to use at most this share of physical memory: the rest is the
// window, the OS and the user's other programs.
inline constexpr double kMemoryShare = 0.5;

MemoryEstimate estimate_memory(const Config& c);
double physical_memory_bytes();  // sysconf; 0 when unknown

// Where the limits are read from: the real /proc and /sys/fs/cgroup, or a
// test's fake tree holding the same files.
struct MemorySources {
    std::string proc = "/proc";
    std::string cgroup = "/sys/fs/cgroup";
    bool address_space = true;  // read RLIMIT_AS (tests of a fake tree leave the real one out)
};

// Every limit this process runs under, in bytes; 0 where there is none or it is unknown.
struct MemoryLimits {
    double physical = 0;       // installed memory
    double available = 0;      // MemAvailable of /proc/meminfo
    double cgroup = 0;         // the smallest cgroup memory limit on this process's cgroup path
    double address_space = 0;  // RLIMIT_AS less the address space already mapped (VmSize)
};
MemoryLimits read_memory_limits(const MemorySources& from = {});

// What a command may plan to use, and why that much ("50 % of this machine's
// 25.3 GB", "the cgroup memory limit of 4.00 GB"); 0 bytes when nothing is known.
struct MemoryBudget {
    double bytes = 0;
    std::string why;
};
MemoryBudget memory_budget(const MemoryLimits& limits);

// "1.23 GB" style text of a byte count.
std::string bytes_text(double bytes);
// One line: total and its parts, e.g. "1.2 GB (parameters 3.4 MB, optimizer ...)".
std::string memory_text(const MemoryEstimate& m);

// Throws ConfigError "<need>, more than the <budget> it may use (<why>); <hint>"
// when `need` bytes are beyond the budget. `need_text` says what needs it
// ("config needs about 6.05 GB (...)"); each command passes its own hint.
void check_memory_need(double need, const std::string& need_text, const std::string& hint, const MemoryLimits& limits);

// Throws ConfigError with the estimate and the budget when the config needs more
// than this process may use (train's hint: the knobs that scale).
void check_memory(const Config& c, const MemoryLimits& limits = read_memory_limits());

// A sweep holds `threads` runs at once, each the largest run of its grid plus its per-step series.
struct SweepSpec;
double estimate_sweep_memory(const SweepSpec& spec, int threads);
void check_sweep_memory(const SweepSpec& spec, int threads, const MemoryLimits& limits = read_memory_limits());

}  // namespace moescope
