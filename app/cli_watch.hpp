#pragma once
// moescope-cli watch and export-knobs: a real training job's router log in
// the terminal, and a tuned run's knobs as the job's own flags.
#include <string>
#include <vector>

int cmd_watch(const std::vector<std::string>& args);
int cmd_export_knobs(const std::vector<std::string>& args);

// The commands' option lines, for `moescope-cli help` and `COMMAND --help`.
extern const char* const kWatchOptions;
extern const char* const kExportKnobsOptions;
