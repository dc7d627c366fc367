#pragma once
// `moescope-cli knobs [--markdown]`: the knob table (core/train/knobs.cpp) as
// readable text, or as the Markdown table that docs/knobs.md holds verbatim
// (tests/cli/test_cli_docs.cpp fails when the two differ).
#include <string>
#include <vector>

namespace moescope {

int cmd_knobs(const std::vector<std::string>& args);

}  // namespace moescope
