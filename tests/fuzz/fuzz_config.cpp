// libFuzzer target: the config reader (JSON text → Config, every knob, the
// lesson script). Any input must load or throw a moescope::Error; a loaded
// config must survive its own JSON round trip unchanged.
#include <nlohmann/json.hpp>

#include "error.hpp"
#include "fuzz_input.hpp"
#include "train/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string& path = moescope::fuzz::write_input(data, size, ".json");
    try {
        const moescope::Config c = moescope::load_config_file(path);
        const nlohmann::json j = moescope::config_to_json(c);
        if (moescope::config_to_json(moescope::config_from_json(nlohmann::json::parse(j.dump()))) != j) std::abort();
    } catch (const moescope::Error&) {}
    return 0;
}
