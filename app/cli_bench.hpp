#pragma once
// `moescope-cli bench`: parses its options, runs the core benchmark, prints
// readable tables or one JSON object. Bad options throw ConfigError.
#include <string>
#include <vector>

namespace moescope {

int cmd_bench(const std::vector<std::string>& args);

}  // namespace moescope
