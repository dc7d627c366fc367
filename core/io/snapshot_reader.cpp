// Reading a .moesnap: every size, offset, dtype and shape is checked against
// the snapshot's config before a value is copied (snapshot.hpp).
#include "io/snapshot.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "file_read.hpp"
#include "io/metrics_log.hpp"
#include "io/snapshot_checks.hpp"
#include "io/snapshot_history.hpp"
#include "io/snapshot_layout.hpp"
#include "json_read.hpp"
#include "monitor/metric_defs.hpp"
#include "nn/params.hpp"
#include "train/memory_estimate.hpp"

namespace moescope {

using nlohmann::json;

using namespace snapshot_layout;

namespace {

// A name or value from the file as a message shows it: quoted, short, escaped.
std::string quoted(const std::string& text) { return "'" + clip_text(text, 60) + "'"; }

// Reads one file; every check comes before the first value is copied.
class Reader {
public:
    Reader(std::string path, bool allow_non_finite) : path_(std::move(path)), allow_non_finite_(allow_non_finite) {}
    Snapshot read();
    SavedHistory read_saved_history();

private:
    void open();  // reads the file and its header
    Snapshot read_run();
    struct Raw {
        Dtype dtype;
        std::vector<size_t> shape;
        size_t begin, end;
    };
    // Every message about the file: escaped and bounded, whatever the file held.
    [[noreturn]] void fail(const std::string& what) const {
        throw DataError(clip_text(path_, 200) + ": " + clip_text(what, 280));
    }
    void read_file();
    void parse_header();
    Raw parse_tensor(const std::string& name, const json& v) const;
    void check_no_overlap() const;
    json meta(const char* key) const;
    // `obj[key]` as a T, or one message naming the field and what it must be.
    template <class T>
    T field(const json& obj, const char* entry, const char* key) const;
    // Checks what every kind shares (string values, format, version, step) and returns the kind.
    std::string read_common_metadata(long& step) const;
    void read_metadata(TrainerState& st) const;
    void read_tensors();
    // `step` ≥ 0: the series' steps must lie in [0, step].
    void read_history(MetricsHistory& history, int layers, int experts, long step, const std::string& name,
                      const Raw& raw) const;
    void read_latest(MetricsHistory& history, int layers, int experts) const;

    std::string path_;
    bool allow_non_finite_;
    std::string bytes_;
    json header_;
    const char* data_ = nullptr;
    size_t data_size_ = 0;
    std::map<std::string, Raw> tensors_;
};

void Reader::read_file() { bytes_ = read_regular_file(path_, kMaxSnapshotBytes, "snapshot"); }

void Reader::parse_header() {
    if (bytes_.empty()) fail("file is empty, not a snapshot");
    if (bytes_.size() < 8) fail("file is " + std::to_string(bytes_.size()) + " bytes, too short to be a snapshot");
    uint64_t n = 0;
    std::memcpy(&n, bytes_.data(), 8);
    if (n > bytes_.size() - 8)
        fail("header length " + std::to_string(n) + " is larger than the file (" + std::to_string(bytes_.size()) +
             " bytes): truncated or not a snapshot");
    if (n > kMaxHeaderBytes) fail("header length " + std::to_string(n) + " is over the 64 MiB limit");
    try {
        header_ = json::parse(bytes_.data() + 8, bytes_.data() + 8 + n);
    } catch (const json::exception& e) {
        fail(std::string("header is not valid JSON (") + json_error_text(e) + ")");
    }
    if (!header_.is_object()) fail("header is a JSON " + std::string(header_.type_name()) + ", not an object");
    data_ = bytes_.data() + 8 + n;
    data_size_ = bytes_.size() - 8 - n;
}

Reader::Raw Reader::parse_tensor(const std::string& name, const json& v) const {
    const std::string where = "tensor " + quoted(name);
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
        fail(where + " needs dtype, shape and data_offsets");
    const json& dt = v["dtype"];
    Raw r{};
    if (dt == "F32")
        r.dtype = Dtype::F32;
    else if (dt == "F64")
        r.dtype = Dtype::F64;
    else if (dt == "I32")
        r.dtype = Dtype::I32;
    else
        fail(where + " has dtype " + json_excerpt(dt) + "; snapshots hold F32, F64 and I32 only");
    if (!v["shape"].is_array()) fail(where + " has a shape that is not an array");
    size_t count = 1;
    for (const json& d : v["shape"]) {
        if (!d.is_number_unsigned()) fail(where + " has shape entry " + json_excerpt(d) + ", not a whole number ≥ 0");
        const uint64_t dim = d.get<uint64_t>();
        r.shape.push_back(dim);
        // Elements never outnumber data bytes; checking before multiplying keeps count from overflowing.
        if (dim != 0 && count > data_size_ / dim)
            count = data_size_ + 1;
        else
            count *= dim;
    }
    const json& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
        fail(where + " needs data_offsets [begin, end] of whole numbers");
    const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end || end > data_size_)
        fail(where + " has data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] outside the " +
             std::to_string(data_size_) + " data bytes");
    if (count > data_size_ || end - begin != count * dtype_bytes(r.dtype))
        fail(where + " has shape " + shape_text(r.shape) + " of " + dtype_name(r.dtype) + " but " +
             std::to_string(end - begin) + " data bytes");
    r.begin = begin;
    r.end = end;
    return r;
}

void Reader::check_no_overlap() const {
    std::vector<std::pair<const std::string*, const Raw*>> order;
    for (const auto& [name, raw] : tensors_) order.push_back({&name, &raw});
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
        return std::pair(a.second->begin, a.second->end) < std::pair(b.second->begin, b.second->end);
    });
    for (size_t i = 1; i < order.size(); ++i)
        if (order[i].second->begin < order[i - 1].second->end)
            fail("tensors " + quoted(*order[i - 1].first) + " and " + quoted(*order[i].first) + " overlap in the data");
}

template <class T>
T Reader::field(const json& obj, const char* entry, const char* key) const {
    const std::string where = std::string("metadata '") + entry + "': ";
    const char* kind = std::is_same_v<T, bool> ? "true or false" : std::is_same_v<T, double> ? "a number" : "a string";
    if (!obj.is_object()) fail(where + "expected an object, found a " + obj.type_name());
    const auto it = obj.find(key);
    if (it == obj.end()) fail(where + "missing key '" + key + "'");
    const bool ok = std::is_same_v<T, bool>     ? it->is_boolean()
                    : std::is_same_v<T, double> ? it->is_number()
                                                : it->is_string();
    if (!ok) fail(where + "'" + key + "' must be " + kind + ", not " + json_excerpt(*it));
    return it->get<T>();
}

json Reader::meta(const char* key) const {
    const json& m = header_["__metadata__"];
    if (!m.contains(key)) fail(std::string("metadata has no '") + key + "' entry");
    try {
        return json::parse(m[key].get<std::string>());
    } catch (const json::exception& e) {
        fail(std::string("metadata '") + key + "' is not valid JSON text (" + json_error_text(e) + ")");
    }
}

std::string Reader::read_common_metadata(long& step_out) const {
    const json& m = header_["__metadata__"];
    for (const auto& [key, value] : m.items())
        if (!value.is_string())
            fail("metadata " + quoted(key) + " is not a string (safetensors metadata maps strings to strings)");
    if (m.value("format", "") != kSnapshotFormat)
        fail("not a moescope snapshot (metadata format " +
             (m.contains("format") ? json_excerpt(m["format"]) : "missing") + ")");
    if (m.value("version", "") != std::to_string(kSnapshotVersion))
        fail("snapshot format version " + clip_text(m.value("version", "?"), 20) +
             " is not supported (this build reads version " + std::to_string(kSnapshotVersion) + ")");
    const std::string step = m.value("step", "");
    const auto [end, ec] = std::from_chars(step.data(), step.data() + step.size(), step_out);
    if (ec != std::errc() || end != step.data() + step.size() || step_out < 0 || step_out > kMaxSnapshotStep)
        fail("metadata step " + quoted(step) + " is not a step number in [0, " + std::to_string(kMaxSnapshotStep) +
             "]");
    // Files from before history-only snapshots existed have no kind: they are runs.
    const std::string kind = m.value("kind", std::string(kSnapshotKindRun));
    if (kind != kSnapshotKindRun && kind != kSnapshotKindHistory)
        fail("snapshot kind " + quoted(kind) + " is unknown (this build reads '" + kSnapshotKindRun + "' and '" +
             kSnapshotKindHistory + "')");
    return kind;
}

void Reader::read_metadata(TrainerState& st) const {
    constexpr long kMaxCount = 1L << 40;
    if (read_common_metadata(st.steps) == kSnapshotKindHistory) fail(kHistoryOnlyRefusal);
    // Informational; files from before the field were all written by the CPU engine.
    st.engine = clip_text(header_["__metadata__"].value("engine", std::string("cpu")));
    // Informational too: the GEMM choices of the machine that trained it (a resume there adopts them).
    if (const auto& md = header_["__metadata__"]; md.contains("gemm") && md["gemm"].is_string())
        st.gemm = md["gemm"].get<std::string>().substr(0, size_t(1) << 20);
    const char* section = "config";  // the entry being read, for messages
    try {
        try {
            st.config = config_from_json(meta("config"));
        } catch (const ConfigError& e) {
            fail(std::string("metadata 'config': ") + e.what());
        }
        section = "dataset";
        const json d = meta("dataset");
        st.d_in = json_whole(d.at("d_in"), "dataset d_in", 1, 1 << 20);
        st.classes = json_whole(d.at("classes"), "dataset classes", 1, 1 << 20);
        st.train_size = json_whole(d.at("train"), "dataset train", 1, kMaxCount);
        st.test_size = json_whole(d.at("test"), "dataset test", 1, kMaxCount);
        st.probe_tokens = json_whole(d.at("probe"), "dataset probe", 1, st.test_size);
        st.dataset_summary = field<std::string>(d, "dataset", "summary");
        const std::string fp = field<std::string>(d, "dataset", "fingerprint");
        const auto [fp_end, fp_ec] = std::from_chars(fp.data(), fp.data() + fp.size(), st.dataset_fingerprint, 16);
        if (fp.size() != 16 || fp_ec != std::errc() || fp_end != fp.data() + fp.size())
            fail("dataset fingerprint " + quoted(fp) + " is not 16 hex digits");
        section = "rng";
        const json r = meta("rng");
        if (!r.at("s").is_array() || r["s"].size() != 4) fail("rng state must hold 4 words");
        for (size_t i = 0; i < 4; ++i) {
            if (!r["s"][i].is_number_unsigned()) fail("rng state words must be whole numbers ≥ 0");
            st.rng.s[i] = r["s"][i].get<uint64_t>();
        }
        st.rng.has_spare = field<bool>(r, "rng", "has_spare");
        st.rng.spare = field<double>(r, "rng", "spare");
        section = "trainer";
        const json t = meta("trainer");
        st.halted = field<bool>(t, "trainer", "halted");
        st.optimizer_steps = json_whole(t.at("optimizer_steps"), "trainer optimizer_steps", 0, kMaxSnapshotStep);
        // Absent in files written before the window kept its clock across a save.
        const double elapsed = t.value("elapsed_s", 0.0);
        if (!std::isfinite(elapsed) || elapsed < 0) fail("trainer elapsed_s must be a finite number ≥ 0");
        st.elapsed_s = elapsed;
        for (const json& seen : t.at("dead_seen"))
            st.dead.seen.push_back(json_whole(seen, "trainer dead_seen", 0, kMaxSnapshotStep));
        if (st.dead.seen.size() != size_t(st.config.layers)) fail("trainer dead_seen must have one count per layer");
        section = "interventions";
        for (const json& iv : meta("interventions"))
            st.interventions.push_back(
                {json_whole(iv.at("step"), "intervention step", 0, kMaxSnapshotStep),
                 field<std::string>(iv, "interventions", "knob"), field<std::string>(iv, "interventions", "old"),
                 field<std::string>(iv, "interventions", "new"), field<std::string>(iv, "interventions", "source")});
        section = "monitor";
        json monitor = meta("monitor");
        monitor["warnings"] = meta("warnings");
        st.monitor = Monitor::from_json(monitor);
    } catch (const json::exception& e) {
        fail("metadata '" + std::string(section) + "': " + json_error_text(e));
    } catch (const DataError& e) {
        const std::string what = e.what();
        if (what.rfind(clip_text(path_, 200) + ": ", 0) == 0) throw;
        fail(what);
    }
}

void Reader::read_history(MetricsHistory& history, int layers, int experts, long step, const std::string& name,
                          const Raw& raw) const {
    // history/<name>[/<layer>[/<expert>]]
    std::vector<std::string> parts;
    for (size_t pos = 8, next; pos <= name.size(); pos = next + 1) {
        next = std::min(name.find('/', pos), name.size());
        parts.push_back(name.substr(pos, next - pos));
    }
    auto index = [&](const std::string& text, int lo, int hi) {
        int v = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || end != text.data() + text.size() || v < lo || v >= hi)
            fail("history tensor " + quoted(name) + " has index " + quoted(text) + " outside [" + std::to_string(lo) +
                 ", " + std::to_string(hi) + ")");
        return v;
    };
    if (parts.empty() || parts.size() > 3 || parts[0].empty())
        fail("history tensor " + quoted(name) + " is not history/<name>[/<layer>[/<expert>]]");
    const int layer = parts.size() > 1 ? index(parts[1], -1, layers) : -1;
    const int expert = parts.size() > 2 ? index(parts[2], 0, experts) : -1;
    if (raw.dtype != Dtype::F64 || raw.shape.size() != 2 || raw.shape[0] != 2)
        fail("history tensor " + quoted(name) + " must be F64 [2, n], not " + dtype_name(raw.dtype) + " " +
             shape_text(raw.shape));
    const size_t n = raw.shape[1];
    if (n == 0) return;  // an empty series is no series (and its data pointer may be null)
    std::vector<double> x(n), y(n);
    copy_run(x.data(), data_ + raw.begin, n);
    copy_run(y.data(), data_ + raw.begin + n * sizeof(double), n);
    for (size_t i = 0; i < n; ++i)
        if (!std::isfinite(x[i]) || !std::isfinite(y[i]) || (i > 0 && x[i] < x[i - 1]))
            fail("history tensor " + quoted(name) + " has a non-finite value or steps out of order at point " +
                 std::to_string(i));
    if (step >= 0 && (x.front() < 0 || x.back() > double(step)))
        fail("history tensor " + quoted(name) + " has steps outside [0, step " + std::to_string(step) + "]");
    history.restore_series({parts[0], layer, expert}, std::move(x), std::move(y));
}

void Reader::read_latest(MetricsHistory& history, int layers, int experts) const {
    if (!header_["__metadata__"].contains("latest")) return;
    const json latest = meta("latest");  // names the entry itself when it is no JSON
    // A metric missing from `latest` reads as NaN per expert: a few bytes naming many layers × experts
    // would expand to gigabytes. Each layer of a written step holds at least one value per expert
    // ("1," is two bytes), so the text bounds what it may declare; the memory check bounds the rest.
    const json& text = header_["__metadata__"]["latest"];
    const double cells = double(layers) * double(experts);
    if (text.is_string() && 2 * cells > double(text.get_ref<const std::string&>().size()))
        fail("metadata 'latest' is " + std::to_string(text.get_ref<const std::string&>().size()) +
             " bytes, too few for one value per expert of " + std::to_string(layers) + " layers × " +
             std::to_string(experts) + " experts");
    size_t expert_metrics = 1;  // utilisation, derived from load
    for (const MetricDef& d : metric_table()) expert_metrics += d.scope == MetricScope::Expert;
    const double need = cells * double(expert_metrics) * sizeof(double);
    if (const MemoryBudget b = memory_budget(read_memory_limits()); b.bytes > 0 && need > b.bytes)
        fail("its latest step of " + std::to_string(layers) + " layers × " + std::to_string(experts) +
             " experts needs about " + bytes_text(need) + ", more than the " + bytes_text(b.bytes) + " it may use (" +
             b.why + ")");
    try {
        history.restore_latest(step_metrics_from_json(latest, layers, experts));
    } catch (const DataError& e) {
        fail(std::string("metadata 'latest': ") + e.what());
    } catch (const json::exception& e) {
        fail(std::string("metadata 'latest': ") + json_error_text(e));
    }
}

void Reader::read_tensors() {
    for (const auto& [name, v] : header_.items())
        if (name != "__metadata__") tensors_.emplace(name, parse_tensor(name, v));
    check_no_overlap();
}

void Reader::open() {
    read_file();
    parse_header();
    if (!header_.contains("__metadata__") || !header_["__metadata__"].is_object())
        fail("header has no __metadata__ object: not a moescope snapshot");
}

Snapshot Reader::read() {
    open();
    return read_run();
}

Snapshot Reader::read_run() {
    Snapshot snap;
    TrainerState& st = snap.state;
    read_metadata(st);
    read_tensors();

    const ParamLayout layout = ParamLayout::build(st.config, st.d_in, st.classes);
    const std::vector<Entry> entries = expected_entries(st, layout, tensors_.count("state.probe_top1") > 0);
    for (const Entry& e : entries) {
        const auto it = tensors_.find(e.name);
        if (it == tensors_.end()) fail("tensor " + quoted(e.name) + " is missing");
        if (it->second.dtype != e.dtype)
            fail("tensor '" + e.name + "' has dtype " + dtype_name(it->second.dtype) + ", expected " +
                 dtype_name(e.dtype));
        if (it->second.shape != e.shape)
            fail("tensor '" + e.name + "' has shape " + shape_text(it->second.shape) + ", expected " +
                 shape_text(e.shape));
    }
    for (const auto& [name, raw] : tensors_)
        if (name.rfind("history/", 0) != 0 &&
            std::none_of(entries.begin(), entries.end(), [&key = name](const Entry& e) { return e.name == key; }))
            fail("unexpected tensor " + quoted(name) + " (not part of a snapshot of this model)");

    // Every size is now known to match the config: shape the state, then copy.
    const Config& c = st.config;
    const size_t L = c.layers, E = c.experts;
    st.params.resize(layout.total);
    st.moment1.resize(layout.total);
    st.moment2.resize(layout.total);
    st.selection_bias.assign(L * E, 0.f);
    st.dead.window = c.dead_window;
    st.dead.experts = c.experts;
    st.dead.ring.assign(L, std::vector<std::vector<double>>(c.dead_window, std::vector<double>(E)));
    st.dead.sum.assign(L, std::vector<double>(E));
    if (tensors_.count("state.probe_top1")) st.probe_top1.assign(L, std::vector<int32_t>(st.probe_tokens));
    for (const Entry& e : entries) transfer(e, st, data_ + tensors_.at(e.name).begin);
    if (!allow_non_finite_)
        if (const auto bad = non_finite_tensor(st, layout)) fail("tensor '" + *bad + "' holds NaN or infinite values");

    snap.history.reset(c.layers, c.experts);
    snap.history.add_interventions(st.interventions);
    for (const auto& [name, raw] : tensors_)
        if (name.rfind("history/", 0) == 0)
            read_history(snap.history, c.layers, c.experts, -1, name, raw);  // checked below
    read_latest(snap.history, c.layers, c.experts);
    if (const auto bad = snapshot_inconsistency(st, &snap.history)) fail("inconsistent state: " + *bad);
    snap.file_bytes = bytes_.size();
    snap.tensor_count = tensors_.size();
    return snap;
}

SavedHistory Reader::read_saved_history() {
    open();
    SavedHistory out;
    if (read_common_metadata(out.step) == kSnapshotKindRun) {
        Snapshot snap = read_run();  // every check of a run snapshot, weights included
        out.history_only = false;
        out.name = snap.state.config.name;
        out.step = snap.state.steps;
        out.warnings = snap.state.monitor.history();
        out.history = std::move(snap.history);
        return out;
    }
    constexpr long kMaxCount = 1L << 40;
    const char* section = "job";
    try {
        const json j = meta("job");
        JobInfo& job = out.job;
        job.source = field<std::string>(j, "job", "source");
        job.format = field<std::string>(j, "job", "format");
        job.framework = field<std::string>(j, "job", "framework");
        job.model = field<std::string>(j, "job", "model");
        job.layers = int(json_whole(j.at("layers"), "job layers", 1, 1 << 16));
        job.experts = int(json_whole(j.at("experts"), "job experts", 1, 1 << 16));
        job.top_k = int(json_whole(j.at("top_k"), "job top_k", 0, 1 << 16));
        job.ep = int(json_whole(j.at("ep"), "job ep", 0, 1 << 20));
        job.ranks = int(json_whole(j.at("ranks"), "job ranks", 0, 1 << 20));
        job.last_step = json_whole(j.at("last_step"), "job last_step", -1, kMaxSnapshotStep);
        job.records = json_whole(j.at("records"), "job records", 0, kMaxCount);
        job.bad_lines = json_whole(j.at("bad_lines"), "job bad_lines", 0, kMaxCount);
        section = "warnings";
        out.warnings =
            Monitor::from_json(
                {{"warnings", meta("warnings")}, {"rules", json::array()}, {"loss_ema", 0}, {"loss_seen", 0}})
                .history();
    } catch (const json::exception& e) {
        fail("metadata '" + std::string(section) + "': " + json_error_text(e));
    } catch (const DataError& e) {
        const std::string what = e.what();
        if (what.rfind(clip_text(path_, 200) + ": ", 0) == 0) throw;
        fail("metadata '" + std::string(section) + "': " + what);
    }
    std::string source = out.job.source;
    while (source.size() > 1 && source.back() == '/') source.pop_back();
    out.name =
        "watched: " + source.substr(source.find_last_of('/') == std::string::npos ? 0 : source.find_last_of('/') + 1);
    read_tensors();
    for (const auto& [name, raw] : tensors_)
        if (name.rfind("history/", 0) != 0)
            fail("unexpected tensor " + quoted(name) +
                 " in a history-only snapshot (it holds history/... tensors only)");
    out.history.reset(out.job.layers, out.job.experts);
    for (const auto& [name, raw] : tensors_)
        read_history(out.history, out.job.layers, out.job.experts, out.step, name, raw);
    read_latest(out.history, out.job.layers, out.job.experts);
    if (out.history.last_step() > out.step)
        fail("the latest metrics are of step " + std::to_string(out.history.last_step()) + ", after step " +
             std::to_string(out.step));
    return out;
}

}  // namespace

SavedHistory load_history_snapshot(const std::string& path) { return Reader(path, false).read_saved_history(); }

Snapshot load_snapshot(const std::string& path, bool allow_non_finite) { return Reader(path, allow_non_finite).read(); }

}  // namespace moescope
