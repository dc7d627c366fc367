// Writing a history-only snapshot (snapshot_history.hpp); the reader is in
// snapshot_reader.cpp beside the run reader it shares its checks with.
#include "io/snapshot_history.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "file_read.hpp"
#include "io/atomic_file.hpp"
#include "io/metrics_log.hpp"
#include "io/snapshot.hpp"
#include "io/snapshot_checks.hpp"
#include "io/snapshot_layout.hpp"

namespace moescope {

using nlohmann::json;
using namespace snapshot_layout;

namespace {

json job_json(const JobInfo& j) {
    return {{"source", j.source}, {"format", j.format},       {"framework", j.framework}, {"model", j.model},
            {"layers", j.layers}, {"experts", j.experts},     {"top_k", j.top_k},         {"ep", j.ep},
            {"ranks", j.ranks},   {"last_step", j.last_step}, {"records", j.records},     {"bad_lines", j.bad_lines}};
}

// The warnings as a run snapshot's `warnings` metadata holds them (Monitor::to_json).
json warnings_json(const std::vector<Warning>& warnings) {
    json out = json::array();
    for (const Warning& w : warnings) out.push_back(Monitor::warning_to_json(w));
    return out;
}

}  // namespace

void save_history_snapshot(const std::string& path, const JobInfo& job, const MetricsHistory& history,
                           const std::vector<Warning>& warnings) {
    auto refuse = [&](const std::string& why) {
        throw DataError("refusing to save history snapshot '" + path + "': " + why);
    };
    if (job.layers < 1 || job.experts < 1) refuse("no step of the job has been read yet");
    if (history.layers() != job.layers || history.experts() != job.experts)
        refuse("the history holds " + std::to_string(history.layers()) + " layers × " +
               std::to_string(history.experts()) + " experts, the job " + std::to_string(job.layers) + " × " +
               std::to_string(job.experts));
    const long step = std::max(0L, history.last_step());
    for (const auto& [key, series] : history.all_series())
        for (double x : series.x())
            if (!(x >= 0 && x <= double(step))) refuse("history series '" + std::get<0>(key) + "' is out of order");

    json header = json::object();
    std::string data;
    for (const auto& [key, series] : history.all_series()) {
        if (series.size() == 0) continue;
        const size_t begin = data.size(), n = series.size();
        data.resize(begin + 2 * n * sizeof(double));
        copy_run(series.x().data(), data.data() + begin, n);
        copy_run(series.y().data(), data.data() + begin + n * sizeof(double), n);
        header[history_name(key)] = {
            {"dtype", dtype_name(Dtype::F64)}, {"shape", {2, n}}, {"data_offsets", {begin, data.size()}}};
    }
    json meta = {{"format", kSnapshotFormat},
                 {"version", std::to_string(kSnapshotVersion)},
                 {"kind", kSnapshotKindHistory},
                 {"step", std::to_string(step)},
                 {"job", job_json(job).dump(-1, ' ', false, json::error_handler_t::replace)},
                 {"warnings", warnings_json(warnings).dump(-1, ' ', false, json::error_handler_t::replace)}};
    if (history.latest().layers.size() == size_t(job.layers))
        meta["latest"] = step_metrics_json(history.latest()).dump();
    header["__metadata__"] = meta;
    std::string text = header.dump();
    text.resize((text.size() + 7) / 8 * 8, ' ');
    char length[8];
    const uint64_t n = text.size();
    std::memcpy(length, &n, 8);
    write_file_atomically(path, {std::string_view(length, 8), text, data}, "snapshot");
}

std::string snapshot_kind(const std::string& path) {
    // A peek: the loader that follows says why a file cannot be read (a FIFO never blocks here).
    const std::string start = read_file_start(path, 8 + kMaxHeaderBytes);
    uint64_t n = 0;
    if (start.size() < 8) return kSnapshotKindRun;
    std::memcpy(&n, start.data(), 8);
    if (n > start.size() - 8) return kSnapshotKindRun;
    const json header = json::parse(start.begin() + 8, start.begin() + 8 + long(n), nullptr, false);
    if (!header.is_object() || !header.contains("__metadata__") || !header["__metadata__"].is_object())
        return kSnapshotKindRun;
    const json& kind = header["__metadata__"].value("kind", json(kSnapshotKindRun));
    return kind.is_string() && kind.get<std::string>() == kSnapshotKindHistory ? kSnapshotKindHistory
                                                                               : kSnapshotKindRun;
}

}  // namespace moescope
