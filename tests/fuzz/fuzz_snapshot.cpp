// libFuzzer target: the snapshot reader. Any input must load or throw a
// moescope::Error; anything else (a crash, a sanitizer report, another
// exception escaping) is a finding. A loaded file must also pass the same
// checks a save makes, so that it could be saved again.
#include "error.hpp"
#include "fuzz_input.hpp"
#include "io/snapshot.hpp"
#include "io/snapshot_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string& path = moescope::fuzz::write_input(data, size, ".moesnap");
    try {
        const moescope::Snapshot snap = moescope::load_snapshot(path, true);
        if (moescope::snapshot_inconsistency(snap.state, &snap.history)) std::abort();  // loaded what a save refuses
    } catch (const moescope::Error&) {}
    return 0;
}
