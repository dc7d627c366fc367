// libFuzzer target: a router log read the way `watch --once` reads it (the
// whole RunWatcher: lines, Megatron and moescope records, headers, the merge
// into steps and the monitor). Any input must end in steps or reported bad
// lines; nothing may throw, and every step's loads must be finite shares
// (a layer without data at a step has every metric NaN).
#include <cmath>

#include "error.hpp"
#include "fuzz_input.hpp"
#include "monitor/run_watcher.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string& path = moescope::fuzz::write_input(data, size, ".jsonl");
    moescope::RunWatcher w(path, {});
    for (const auto& s : w.finish())
        for (const auto& l : s.metrics.layers)
            for (double v : l.load)
                if (std::isnan(l.load_entropy) ? !std::isnan(v) : !std::isfinite(v) || v < 0) std::abort();
    w.take_problems();
    return 0;
}
