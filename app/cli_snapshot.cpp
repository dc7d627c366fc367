#include "cli_snapshot.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "io/snapshot.hpp"
#include "io/snapshot_history.hpp"
#include "json_read.hpp"
#include "nn/params.hpp"
#include "train/knobs.hpp"

namespace moescope {

namespace {

using nlohmann::json;

std::string megabytes(size_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f MB", double(bytes) / 1e6);
    return buf;
}

// Knobs whose value differs from the preset the run started from: what the
// user (or a lesson script) turned. Empty for configs that are no preset.
std::vector<std::pair<std::string, std::string>> changed_knobs(const Config& c) {
    std::vector<std::pair<std::string, std::string>> out;
    const auto names = preset_names();
    if (std::find(names.begin(), names.end(), c.name) == names.end()) return out;
    const Config preset = load_preset(c.name);
    for (const KnobDef& k : knob_table())
        if (k.get_text(c) != k.get_text(preset)) out.emplace_back(std::string(k.name), k.get_text(c));
    return out;
}

json inspect_json(const std::string& path, const Snapshot& snap) {
    const TrainerState& st = snap.state;
    const Config& c = st.config;
    json interventions = json::array(), changed = json::object();
    for (const auto& iv : st.interventions)
        interventions.push_back({{"step", iv.step},
                                 {"knob", iv.knob},
                                 {"old", iv.old_value},
                                 {"new", iv.new_value},
                                 {"source", iv.source}});
    for (const auto& [k, v] : changed_knobs(c)) changed[k] = knob(k).is_path() ? path_to_json(v) : json(v);
    json active = json::array();
    for (const Warning& w : st.monitor.active()) active.push_back(w.id);
    const json monitor = st.monitor.to_json();
    return {{"file", path_to_json(path)},
            {"bytes", snap.file_bytes},
            {"format", kSnapshotFormat},
            {"version", kSnapshotVersion},
            {"step", st.steps},
            {"engine", st.engine},
            {"halted", st.halted},
            {"preset", c.name},
            {"parameters", st.params.size()},
            {"tensors", snap.tensor_count},
            {"history_series", snap.history.all_series().size()},
            {"dataset", st.dataset_summary},
            {"changed_knobs", changed},
            {"interventions", interventions},
            {"warnings", monitor["warnings"]},
            {"warnings_active", active},
            {"config", config_to_json(c)}};
}

void print_inspect(const std::string& path, const Snapshot& snap) {
    const TrainerState& st = snap.state;
    const Config& c = st.config;
    std::cout << "snapshot   " << path << "  (" << megabytes(snap.file_bytes) << ", " << kSnapshotFormat << " v"
              << kSnapshotVersion << ", " << snap.tensor_count << " tensors)\n"
              << "step       " << st.steps << (st.halted ? "  (halted: the last step was not finite)" : "") << "\n"
              << "engine     " << st.engine
              << (c.is_lm() ? " (the language model resumes on the CPU engine)\n" : " (it resumes on either engine)\n")
              << "preset     " << c.name << (c.description.empty() ? "" : " - " + c.description) << "\n"
              << "model      "
              << (c.is_lm() ? "transformer, " + std::to_string(c.heads) + " heads, context " +
                                  std::to_string(c.context) + ", "
                            : std::string())
              << "E=" << c.experts << " k=" << c.top_k << " L=" << c.layers << " d_model " << c.d_model << " d_ff "
              << c.d_ff << " " << c.policy << ", " << st.params.size() << " parameters, " << c.optimizer << "\n"
              << "dataset    " << st.dataset_summary << "\n";
    if (const auto* loss = snap.history.series("loss"); loss && loss->size() > 0)
        std::cout << "history    " << snap.history.all_series().size() << " series, last loss " << loss->y().back()
                  << " at step " << loss->x().back() << "\n";
    const auto changed = changed_knobs(c);
    if (!changed.empty()) {
        std::cout << "knobs      changed from preset '" << c.name << "':";
        for (const auto& [k, v] : changed) std::cout << " " << k << "=" << v;
        std::cout << "\n";
    }
    std::cout << "interventions " << st.interventions.size() << "\n";
    for (const auto& iv : st.interventions)
        std::cout << "  [step " << iv.step << "] " << iv.knob << " " << iv.old_value << " -> " << iv.new_value << " ("
                  << iv.source << ")\n";
    const auto& warnings = st.monitor.history();
    std::cout << "warnings   " << warnings.size() << " raised, " << st.monitor.active().size() << " active\n";
    for (const Warning& w : warnings)
        std::cout << "  [step " << w.first_step << "] " << severity_name(w.severity) << " " << w.id << ": " << w.message
                  << (w.active ? "  (active)" : "  (cleared at step " + std::to_string(w.cleared_step) + ")") << "\n";
}

// A watched job's history-only snapshot: what the log said about the job and its warnings.
void inspect_history(const std::string& path, bool as_json) {
    const SavedHistory h = load_history_snapshot(path);
    const JobInfo& j = h.job;
    size_t active = 0;
    for (const Warning& w : h.warnings) active += w.active ? 1 : 0;
    if (as_json) {
        json warnings = json::array();
        for (const Warning& w : h.warnings)
            warnings.push_back({{"id", w.id},
                                {"severity", severity_name(w.severity)},
                                {"layer", w.layer},
                                {"first_step", w.first_step},
                                {"message", w.message},
                                {"remedy", w.remedy.text},
                                {"active", w.active}});
        std::cout << json{{"file", path_to_json(path)},
                          {"format", kSnapshotFormat},
                          {"version", kSnapshotVersion},
                          {"kind", kSnapshotKindHistory},
                          {"step", h.step},
                          {"job",
                           {{"source", path_to_json(j.source)},
                            {"format", j.format},
                            {"framework", j.framework},
                            {"model", j.model},
                            {"layers", j.layers},
                            {"experts", j.experts},
                            {"top_k", j.top_k},
                            {"ep", j.ep},
                            {"ranks", j.ranks},
                            {"records", j.records},
                            {"bad_lines", j.bad_lines}}},
                          {"history_series", h.history.all_series().size()},
                          {"warnings", warnings}}
                         .dump(-1, ' ', false, json::error_handler_t::replace)
                  << std::endl;
        return;
    }
    std::cout << "snapshot   " << path << "  (" << kSnapshotFormat << " v" << kSnapshotVersion
              << ", history only: a watched job, no weights)\n"
              << "step       " << h.step << "\n"
              << "job        " << j.source << " (" << (j.format.empty() ? "format not stated" : j.format)
              << (j.framework.empty() ? "" : ", " + j.framework) << (j.model.empty() ? "" : ", " + j.model) << ")\n"
              << "model      E=" << j.experts << " L=" << j.layers
              << (j.top_k > 0 ? " k=" + std::to_string(j.top_k) : "") << ", " << j.ranks << " rank file(s), "
              << j.records << " records, " << j.bad_lines << " bad lines\n"
              << "history    " << h.history.all_series().size() << " series\n"
              << "warnings   " << h.warnings.size() << " raised, " << active << " active\n";
    for (const Warning& w : h.warnings)
        std::cout << "  [step " << w.first_step << "] " << severity_name(w.severity) << " " << w.id << ": " << w.message
                  << (w.active ? "  (active)" : "  (cleared at step " + std::to_string(w.cleared_step) + ")") << "\n";
}

}  // namespace

int cmd_inspect(const std::vector<std::string>& args) {
    std::string path;
    bool as_json = false;
    for (const auto& a : args) {
        if (a == "--json")
            as_json = true;
        else if (a.rfind("--", 0) == 0)
            throw ConfigError("unknown option '" + a + "' for inspect (see 'moescope-cli inspect --help')");
        else if (path.empty())
            path = a;
        else
            throw ConfigError("inspect takes one snapshot file, got '" + path + "' and '" + a + "'");
    }
    if (path.empty()) throw ConfigError("inspect needs a snapshot file: moescope-cli inspect FILE [--json]");
    if (snapshot_kind(path) == kSnapshotKindHistory) {
        inspect_history(path, as_json);
        return 0;
    }
    // Weights that went non-finite are worth seeing, not refusing.
    const Snapshot snap = load_snapshot(path, true);
    if (as_json)
        // Free text (the dataset summary names its file) may hold a path's raw bytes: those are replaced.
        std::cout << inspect_json(path, snap).dump(-1, ' ', false, json::error_handler_t::replace) << std::endl;
    else
        print_inspect(path, snap);
    return 0;
}

std::unique_ptr<Trainer> resume_from_snapshot(const std::string& path, const std::vector<std::string>& sets,
                                              MetricsHistory& history, bool quiet, Backend backend) {
    Snapshot snap = load_snapshot(path);
    auto tr = Trainer::from_state(snap.state, backend);
    for (const auto& s : sets) {
        const auto eq = s.find('=');
        if (eq == std::string::npos || eq == 0) throw ConfigError("--set expects KEY=VALUE, got '" + s + "'");
        tr->request_knob(s.substr(0, eq), s.substr(eq + 1), "cli");  // refuses structural knobs
    }
    if (tr->halted()) {
        // Resuming is the user's decision to try again, typically with a smaller lr.
        if (!quiet) std::cout << "note: the snapshot's run had halted on non-finite values; resuming anyway\n";
        tr->clear_halt();
    }
    history = std::move(snap.history);
    return tr;
}

namespace {
std::optional<FileIdentity> g_snapshot_target;  // the file at --snapshot as this run last saw it

// Where a run goes when its own file cannot be written: beside it, then here, then the temp directory.
std::string save_elsewhere(const std::string& path, const TrainerState& st, const MetricsHistory& history,
                           bool allow_non_finite) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    const std::string name = target.stem().string() + ".pid" + std::to_string(::getpid()) + ".moesnap";
    const char* tmp = std::getenv("TMPDIR");
    for (const fs::path& dir : {target.parent_path(), fs::path("."), fs::path(tmp && *tmp ? tmp : "/tmp")}) {
        const std::string fallback = (dir.empty() ? fs::path(name) : dir / name).string();
        try {
            FileIdentity none;  // never replaces a file: the name is this process's own
            save_snapshot(fallback, st, &history, allow_non_finite, &none);
            return fallback;
        } catch (const Error&) {}
    }
    return "";
}
}  // namespace

void remember_snapshot_target(const std::string& path) { g_snapshot_target = file_identity(path); }

void save_run(const std::string& path, const Trainer& tr, const MetricsHistory& history, bool allow_non_finite,
              bool quiet) {
    const auto t0 = std::chrono::steady_clock::now();
    const TrainerState st = tr.export_state();
    try {
        save_snapshot(path, st, &history, allow_non_finite, g_snapshot_target ? &*g_snapshot_target : nullptr);
    } catch (const DataError& e) {
        const std::string where = save_elsewhere(path, st, history, allow_non_finite);
        throw DataError(std::string(e.what()) + "; " +
                        (where.empty() ? "the run could not be saved anywhere else either"
                                       : "the run at step " + std::to_string(tr.steps_done()) + " was saved to '" +
                                             where + "' instead"));
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!quiet) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.0f ms", ms);
        std::cout << "saved snapshot " << path << " at step " << tr.steps_done() << " (" << buf << ")\n";
    }
}

}  // namespace moescope
