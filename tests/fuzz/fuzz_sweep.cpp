// libFuzzer target: the sweep-file reader (.moesweep → SweepResult). Any input
// must load or throw a moescope::Error; a loaded sweep must have every cell
// inside its grid, one run per seed at most, and survive its own JSON round
// trip unchanged (what the window's "Save sweep" writes must load again).
#include <nlohmann/json.hpp>

#include "error.hpp"
#include "fuzz_input.hpp"
#include "io/sweep_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string& path = moescope::fuzz::write_input(data, size, ".moesweep");
    try {
        const moescope::SweepResult r = moescope::load_sweep(path);
        for (const moescope::SweepCell& c : r.cells)
            if (c.ix < 0 || c.ix >= r.spec.x.n || c.iy < 0 || c.iy >= r.spec.y.n ||
                c.runs.size() > size_t(r.spec.seeds))
                std::abort();  // loaded a cell the map cannot hold
        const nlohmann::json j = moescope::sweep_to_json(r);
        if (moescope::sweep_to_json(moescope::sweep_from_json(nlohmann::json::parse(j.dump()))) != j) std::abort();
    } catch (const moescope::Error&) {}
    return 0;
}
