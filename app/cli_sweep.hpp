#pragma once
// `moescope-cli sweep`: trains every cell of a two-knob grid headless on all
// cores, shows progress with an ETA on stderr, prints a text heat map of one
// measure, and writes the cells (.moesweep, .csv or .jsonl) and optionally a
// PNG (drawn by the window binary, `moescope --sweep-png`). Ctrl-C keeps the
// finished cells, writes them and exits 130. Bad options throw ConfigError.
#include <string>
#include <vector>

#include "train/sweep.hpp"

namespace moescope {

int cmd_sweep(const std::vector<std::string>& args);

// A whole number in [min, max] for `flag`, or ConfigError naming the flag and the
// range: "--seeds 4294967297" is refused, never wrapped into 1.
long parse_whole(const std::string& flag, const std::string& v, long min, long max);

// This moescope-cli's own path (from /proc/self/exe), "" when it cannot be read.
std::string this_executable();

// The heat map as text: rows from the highest y down, one column per x value,
// the cell mean of `measure`, '*' after collapsed cells, '.' for cells not run.
std::string sweep_text_map(const SweepResult& r, int measure);

// What a local sweep and a cluster merge end with: the text map and collapse
// counts on stdout, then `out` (.moesweep, .csv or .jsonl) and `png` when given.
void print_and_write_sweep(const SweepResult& result, const std::string& out, const std::string& png, int measure);

}  // namespace moescope
