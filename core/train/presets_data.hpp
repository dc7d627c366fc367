#pragma once
#include <string_view>
#include <vector>

namespace moescope {
struct EmbeddedPreset {
    std::string_view name;
    std::string_view json;
};
const std::vector<EmbeddedPreset>& embedded_presets();
}  // namespace moescope
