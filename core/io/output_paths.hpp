#pragma once
// Refusing an output that names an input or another output, before any work:
// `train --metrics data.csv` with csv_path=data.csv, or `--config c.json
// --snapshot c.json`, would destroy what the run reads, and two outputs on one
// file leave only one of them.
#include <string>
#include <vector>

namespace moescope {

// A path a command reads or writes, with the flag or field that named it
// ("--metrics", "the config's csv_path", "--report's report.md").
struct NamedPath {
    std::string what;
    std::string path;
};

// Whether `a` and `b` are the same file: the same (st_dev, st_ino) when both
// exist (hard links, symlinks, "./x" and "x"), else the same path once made
// absolute with the symlinks of its existing part resolved.
bool same_file(const std::string& a, const std::string& b);

// Throws ConfigError naming both when an output is the same file as an input or
// as another output: "--metrics 'x.csv' is the same file as the config's
// csv_path 'x.csv'...". Empty paths are skipped. `allowed` pairs (input what,
// output what) may share a file: `--resume r.moesnap --snapshot r.moesnap`
// reads the whole snapshot before it writes a new one in its place.
void check_outputs_distinct(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs,
                            const std::vector<std::pair<std::string, std::string>>& allowed = {});

}  // namespace moescope
