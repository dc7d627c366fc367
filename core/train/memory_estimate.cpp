#include "train/memory_estimate.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/csv_reader.hpp"
#include "data/dataset.hpp"
#include "error.hpp"
#include "file_read.hpp"
#include "nn/params.hpp"
#include "routing/policy_kind.hpp"
#include "train/sweep.hpp"

namespace moescope {

namespace {

constexpr double kFloat = 4, kInt = 4;
constexpr int kTextVocabBound = 96;  // the text dataset keeps 95 characters plus one "other" bucket
constexpr long kEvalChunk = 1024, kProbeTokens = 256;
constexpr double kVectorOverhead = 40;  // a std::vector's three pointers and its heap block's header, in bytes
constexpr double kLimitShare = 0.9;     // of a cgroup or address-space limit, the share a run may plan to use

double file_bytes(const std::string& path) {
    std::error_code ec;
    const auto n = std::filesystem::file_size(path, ec);
    return ec ? 0.0 : static_cast<double>(n);
}

// Feature columns of a CSV from its header line (0 when unreadable: the dataset reports why).
int csv_features(const std::string& path) {
    std::istringstream in(read_file_start(path, 1 * kMiB));  // a FIFO or device is no CSV: 0
    std::string header;
    while (header.find_first_not_of(" \t\r") == std::string::npos && std::getline(in, header)) {}
    const char delim = header.find(',') != std::string::npos ? ',' : header.find(';') != std::string::npos ? ';' : '\t';
    return static_cast<int>(std::count(header.begin(), header.end(), delim));
}

// Floats of one workspace of T tokens (Workspace::resize in nn/model.cpp).
double workspace_floats(const Config& c, double T, int d_in, int classes) {
    const double d = c.d_model, f = c.d_ff, E = c.experts, L = c.layers, k = c.top_k;
    const double cap = c.capacity(static_cast<long>(std::min(T, 1e15)));
    const double slots = std::max(T * k, experts_choose(parse_routing_policy(c.policy)) ? E * std::min(T, cap) : 0.0);
    const double per_layer = T * (d + 7 * E + 2 + k) + slots * (2 * d + 2 * f + 1) + T * E /* routing order */ +
                             slots * 4 /* routing indices */;
    const double backward = T * (3 * d + 5 * E + classes) + slots * (2 * d + f + 1);
    // transformer: per layer ua, ya, mid, q, k, v, o and rstd_a, the attention weights (T·heads·context);
    // backward dya, dua
    const double attention = c.is_lm() ? L * (T * (7 * d + 1) + T * c.heads * c.context) + 2 * T * d : 0.0;
    return T * (d_in + (L + 1) * d + d + 2 * classes + 3) + L * per_layer + backward + attention;
}

}  // namespace

MemoryEstimate estimate_memory(const Config& c) {
    // The dataset's shape: exact for synthetic data, an upper bound for files.
    int d_in = c.d_in, classes = c.classes;
    double samples = double(c.train_samples) + c.test_samples;
    double dataset = 0;
    if (c.dataset == "moons" || c.dataset == "spirals" || c.dataset == "blobs") d_in = 2;
    if (c.dataset == "csv") {
        d_in = std::max(1, csv_features(c.csv_path));
        classes = kCsvMaxClasses;
        // Every value takes ≥ 2 bytes of the file ("0,"); it is held as a double while parsing and as a float after.
        dataset = file_bytes(c.csv_path) / 2 * (8 + kFloat) + file_bytes(c.csv_path) * 2;
        samples = 0;
    } else if (c.dataset == "text") {
        classes = kTextVocabBound;
        d_in = c.context * kTextVocabBound;
        samples = std::min(samples, file_bytes(c.text_path));
        dataset = file_bytes(c.text_path) * (kInt + 8);  // the text and its character ids
    } else if (c.dataset == "lm") {
        // every character once: the text, its id, its float in x and its next id in y
        const std::string path = lm_text_path(c);
        classes = kTextVocabBound;
        d_in = 1;
        samples = 0;
        dataset = file_bytes(path) * (8 + kInt + kFloat + kInt);
    }
    dataset += samples * (d_in * kFloat + kInt);

    MemoryEstimate m;
    const ParamLayout layout = ParamLayout::build(c, d_in, classes);
    m.parameters = layout.total;
    const double P = static_cast<double>(layout.total);
    m.params_bytes = P * 2 * kFloat;  // weights, gradients
    // m and v, a decay mask byte, and while saving: the exported state (3 copies) and the file's bytes (3 more).
    m.optim_bytes = P * (2 * kFloat + 1) + P * 6 * kFloat;
    const double eval = std::min<double>(kEvalChunk, c.test_samples), probe = std::min<double>(kProbeTokens, eval);
    m.activation_bytes =
        kFloat * (workspace_floats(c, c.batch_tokens, d_in, classes) + workspace_floats(c, eval, d_in, classes) +
                  workspace_floats(c, probe, d_in, classes));
    m.dataset_bytes = dataset;
    // DeadExpertTracker: a [layer][slot][expert] ring of doubles (a vector per slot), held again by the
    // exported state and the file's bytes while a snapshot is saved.
    const double ring = double(c.layers) * c.dead_window * (c.experts * 8.0 + kVectorOverhead);
    m.monitor_bytes = 3 * ring;
    return m;
}

double physical_memory_bytes() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? double(pages) * double(page) : 0.0;
}

namespace {

// A byte count from a cgroup file: "max" and v1's "no limit" (about 2^63) are none (0).
double limit_file(const std::string& path) {
    std::ifstream in(path);
    std::string text;
    if (!(in >> text) || text == "max") return 0;
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    return end && *end == '\0' && v > 0 && v < 1e18 ? v : 0;
}

std::string without_leading_slashes(const std::string& p) {
    const auto i = p.find_first_not_of('/');
    return i == std::string::npos ? std::string() : p.substr(i);
}

// The smallest positive limit in `file` of the cgroup `rel` (below `root`) and of each parent up to `root`.
double smallest_limit_up(const std::filesystem::path& root, const std::string& cgroup, const char* file) {
    double best = 0;
    for (std::filesystem::path rel = without_leading_slashes(cgroup);; rel = rel.parent_path()) {
        const double v = limit_file((root / rel / file).string());
        if (v > 0 && (best == 0 || v < best)) best = v;
        if (rel.empty()) break;
    }
    return best;
}

double cgroup_limit(const MemorySources& from) {
    std::ifstream in(from.proc + "/self/cgroup");
    double best = 0;
    for (std::string line; std::getline(in, line);) {
        // "0::/path" (v2) or "4:memory:/path" (v1, the memory controller, possibly with others).
        const auto c1 = line.find(':'), c2 = c1 == std::string::npos ? c1 : line.find(':', c1 + 1);
        if (c2 == std::string::npos) continue;
        const std::string controllers = line.substr(c1 + 1, c2 - c1 - 1), rel = line.substr(c2 + 1);
        double v = 0;
        if (controllers.empty())
            v = smallest_limit_up(from.cgroup, rel, "memory.max");
        else if (("," + controllers + ",").find(",memory,") != std::string::npos)
            v = smallest_limit_up(std::filesystem::path(from.cgroup) / "memory", rel, "memory.limit_in_bytes");
        if (v > 0 && (best == 0 || v < best)) best = v;
    }
    return best;
}

// A "Key:   N kB" line of /proc/meminfo or /proc/self/status, in bytes; 0 when absent.
double kb_field(const std::string& path, const std::string& key) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(key + ":", 0) == 0) return std::strtod(line.c_str() + key.size() + 1, nullptr) * 1024;
    return 0;
}

}  // namespace

MemoryLimits read_memory_limits(const MemorySources& from) {
    MemoryLimits l;
    l.physical = from.proc == "/proc" ? physical_memory_bytes() : kb_field(from.proc + "/meminfo", "MemTotal");
    l.available = kb_field(from.proc + "/meminfo", "MemAvailable");
    l.cgroup = cgroup_limit(from);
    struct rlimit as {};
    if (from.address_space && ::getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY)
        l.address_space = std::max(1.0, double(as.rlim_cur) - kb_field(from.proc + "/self/status", "VmSize"));
    return l;
}

MemoryBudget memory_budget(const MemoryLimits& l) {
    MemoryBudget b;
    auto take = [&](double bytes, const std::string& why) {
        if (bytes > 0 && (b.bytes == 0 || bytes < b.bytes)) b = {bytes, why};
    };
    const std::string limit_share = std::to_string(int(kLimitShare * 100)) + " % of ";
    take(kMemoryShare * l.physical,
         std::to_string(int(kMemoryShare * 100)) + " % of this machine's " + bytes_text(l.physical) + " of memory");
    take(l.available, "the memory available now, MemAvailable in /proc/meminfo");
    // Some room is left for what no estimate counts (the program, its libraries, the allocator's slack).
    take(kLimitShare * l.cgroup, limit_share + "this process's cgroup memory limit of " + bytes_text(l.cgroup));
    take(kLimitShare * l.address_space,
         limit_share + "the " + bytes_text(l.address_space) + " of address space that RLIMIT_AS (ulimit -v) leaves");
    return b;
}

std::string bytes_text(double bytes) {
    char buf[32];
    if (bytes >= 1e9)
        std::snprintf(buf, sizeof buf, "%.2f GB", bytes / 1e9);
    else
        std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
    return buf;
}

std::string memory_text(const MemoryEstimate& m) {
    return bytes_text(m.total()) + " (parameters " + bytes_text(m.params_bytes) + ", optimizer and saving " +
           bytes_text(m.optim_bytes) + ", activations " + bytes_text(m.activation_bytes) + ", dataset " +
           bytes_text(m.dataset_bytes) + ", monitor windows " + bytes_text(m.monitor_bytes) + ")";
}

void check_memory_need(double need, const std::string& what, const std::string& hint, const MemoryLimits& limits) {
    const MemoryBudget b = memory_budget(limits);
    if (b.bytes <= 0 || need <= b.bytes) return;  // unknown: nothing to compare with
    throw ConfigError(what + ", more than the " + bytes_text(b.bytes) + " it may use (" + b.why + "); " + hint);
}

void check_memory(const Config& c, const MemoryLimits& limits) {
    const MemoryEstimate m = estimate_memory(c);
    check_memory_need(m.total(), "config needs about " + memory_text(m),
                      "lower batch_tokens, d_model, d_ff, experts, layers, dead_window or the dataset size "
                      "(moescope-cli train --dry-run shows the estimate)",
                      limits);
}

double estimate_sweep_memory(const SweepSpec& spec, int threads) {
    double run = 0;  // the largest run of the grid: an axis may be batch_tokens or experts
    for (int iy = 0; iy < spec.y.n; ++iy)
        for (int ix = 0; ix < spec.x.n; ++ix)
            run = std::max(run, estimate_memory(sweep_run_config(spec, ix, iy, 0)).total());
    // Each run keeps five numbers per step (sweep_runner.cpp) until it is reduced.
    return threads * (run + 5 * 8.0 * double(spec.steps));
}

void check_sweep_memory(const SweepSpec& spec, int threads, const MemoryLimits& limits) {
    check_memory_need(estimate_sweep_memory(spec, threads),
                      "sweep needs about " + bytes_text(estimate_sweep_memory(spec, threads)) + " (" +
                          std::to_string(threads) + " runs at once, one per thread)",
                      "lower the threads (--threads), the steps, or the knobs that scale in the base config or on "
                      "the axes (batch_tokens, d_model, d_ff, experts, layers, dead_window)",
                      limits);
}

}  // namespace moescope
