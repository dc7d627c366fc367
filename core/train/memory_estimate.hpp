#pragma once
// How much memory a config needs, estimated from the config alone before
// anything is allocated, so that settings beyond the machine end in one clear
// ConfigError instead of std::bad_alloc or the kernel's OOM killer.
#include <string>

#include "train/config.hpp"

namespace moescope {

struct MemoryEstimate {
    long parameters = 0;          // trainable values
    double params_bytes = 0;      // weights and gradients
    double optim_bytes = 0;       // optimizer moments, and the copies a snapshot save holds at once
    double activation_bytes = 0;  // training, evaluation and probe workspaces
    double dataset_bytes = 0;     // samples and labels (CSV and text: an upper bound from the file)
    double total() const { return params_bytes + optim_bytes + activation_bytes + dataset_bytes; }
};

// A run may plan to use at most this share of physical memory: the rest is the
// window, the OS and the user's other programs.
inline constexpr double kMemoryShare = 0.5;

MemoryEstimate estimate_memory(const Config& c);
double physical_memory_bytes();  // sysconf; 0 when unknown

// "1.23 GB" style text of a byte count.
std::string bytes_text(double bytes);
// One line: total and its parts, e.g. "1.2 GB (parameters 3.4 MB, optimizer ...)".
std::string memory_text(const MemoryEstimate& m);

// Throws ConfigError with the estimate and the machine's memory when the config
// needs more than kMemoryShare of it.
void check_memory(const Config& c);

}  // namespace moescope
