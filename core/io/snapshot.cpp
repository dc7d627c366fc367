#include "io/snapshot.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "io/atomic_file.hpp"
#include "io/metrics_log.hpp"
#include "io/snapshot_checks.hpp"
#include "io/snapshot_layout.hpp"
#include "json_read.hpp"
#include "nn/params.hpp"

namespace moescope {

using nlohmann::json;

using namespace snapshot_layout;

namespace {

json metadata(const TrainerState& st, const MetricsHistory* history) {
    json monitor = st.monitor.to_json();
    const json warnings = monitor["warnings"];
    monitor.erase("warnings");
    json interventions = json::array();
    for (const auto& iv : st.interventions)
        interventions.push_back({{"step", iv.step},
                                 {"knob", iv.knob},
                                 {"old", iv.old_value},
                                 {"new", iv.new_value},
                                 {"source", iv.source}});
    const json dataset = {{"kind", st.config.dataset},
                          {"d_in", st.d_in},
                          {"classes", st.classes},
                          {"train", st.train_size},
                          {"test", st.test_size},
                          {"probe", st.probe_tokens},
                          {"fingerprint", fingerprint_text(st.dataset_fingerprint)},
                          {"summary", st.dataset_summary}};
    const json rng = {{"s", st.rng.s}, {"has_spare", st.rng.has_spare}, {"spare", st.rng.spare}};
    const json trainer = {{"halted", st.halted},
                          {"optimizer_steps", st.optimizer_steps},
                          {"dead_seen", st.dead.seen},
                          {"elapsed_s", st.elapsed_s}};
    // safetensors allows only strings here, so structured values are JSON text.
    json meta = {{"format", kSnapshotFormat},
                 {"version", std::to_string(kSnapshotVersion)},
                 {"step", std::to_string(st.steps)},
                 {"engine", st.engine},
                 {"config", config_to_json(st.config).dump()},
                 {"dataset", dataset.dump(-1, ' ', false, json::error_handler_t::replace)},
                 {"rng", rng.dump()},
                 {"trainer", trainer.dump()},
                 {"interventions", interventions.dump()},
                 {"warnings", warnings.dump()},
                 {"monitor", monitor.dump()}};
    // The newest step in full, so a loaded run's histogram and maps show it before any new step.
    if (history && history->latest().layers.size() == size_t(st.config.layers))
        meta["latest"] = step_metrics_json(history->latest(), true).dump();
    if (!st.gemm.empty()) meta["gemm"] = st.gemm;
    return meta;
}

}  // namespace

void save_snapshot(const std::string& path, const TrainerState& st, const MetricsHistory* history,
                   bool allow_non_finite, FileIdentity* expected) {
    const Config& c = st.config;
    const ParamLayout layout = ParamLayout::build(c, st.d_in, st.classes);
    const size_t total = layout.total, L = c.layers, E = c.experts;
    bool fits = st.params.size() == total && st.moment1.size() == total && st.moment2.size() == total &&
                st.selection_bias.size() == L * E && st.dead.ring.size() == L && st.dead.sum.size() == L &&
                st.dead.seen.size() == L && (st.probe_top1.empty() || st.probe_top1.size() == L);
    for (size_t l = 0; fits && l < L; ++l) {
        fits = st.dead.ring[l].size() == size_t(c.dead_window) && st.dead.sum[l].size() == E &&
               (st.probe_top1.empty() || st.probe_top1[l].size() == size_t(st.probe_tokens));
        for (const auto& slot : st.dead.ring[l]) fits = fits && slot.size() == E;
    }
    MS_ASSERT(fits, "save_snapshot: the trainer state does not match its own config");
    if (!allow_non_finite)
        if (const auto bad = non_finite_tensor(st, layout))
            throw DataError(
                "refusing to save snapshot '" + path + "': tensor '" + *bad +
                "' holds NaN or infinite values (the run diverged); allow non-finite values to save it anyway");
    // A file the loader would refuse is no save at all: say so now, while the run still exists.
    if (const auto bad = snapshot_inconsistency(st, history))
        throw DataError("refusing to save snapshot '" + path + "': the state is inconsistent: " + *bad);

    json header = json::object();
    std::string data;
    auto add = [&](const std::string& name, Dtype dtype, const std::vector<size_t>& shape) {
        const size_t begin = data.size();
        data.resize(begin + element_count(shape) * dtype_bytes(dtype));
        header[name] = {{"dtype", dtype_name(dtype)}, {"shape", shape}, {"data_offsets", {begin, data.size()}}};
        return data.data() + begin;
    };
    for (const Entry& e : expected_entries(st, layout, !st.probe_top1.empty()))
        transfer(e, st, add(e.name, e.dtype, e.shape));
    if (history)
        for (const auto& [key, series] : history->all_series()) {
            if (series.size() == 0) continue;
            char* out = add(history_name(key), Dtype::F64, {2, series.size()});
            copy_run(series.x().data(), out, series.size());
            copy_run(series.y().data(), out + series.size() * sizeof(double), series.size());
        }
    header["__metadata__"] = metadata(st, history);
    std::string text = header.dump();
    text.resize((text.size() + 7) / 8 * 8, ' ');  // tensors start 8-byte aligned, as safetensors writes them
    char length[8];
    const uint64_t n = text.size();
    std::memcpy(length, &n, 8);
    const FileIdentity written =
        write_file_atomically(path, {std::string_view(length, 8), text, data}, "snapshot", expected);
    if (expected) *expected = written;
}

}  // namespace moescope
