// libFuzzer target: the CSV reader, with the label column given as the last
// column and, for the first input byte's parity, by name. Any input must parse
// or throw a moescope::Error; a parsed table must be consistent.
#include "data/csv_reader.hpp"
#include "error.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string& path = moescope::fuzz::write_input(data, size, ".csv");
    try {
        const moescope::CsvTable t = moescope::read_csv_table(path, size > 0 && data[0] % 2 ? "label" : "last");
        const bool ok = t.features.size() == size_t(t.rows() * t.cols()) && t.class_names.size() >= 2 &&
                        long(t.class_names.size()) <= moescope::kCsvMaxClasses;
        if (!ok) std::abort();
        for (int32_t id : t.labels)
            if (id < 0 || size_t(id) >= t.class_names.size()) std::abort();
    } catch (const moescope::Error&) {}
    return 0;
}
