#include "train/memory_estimate.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "data/csv_reader.hpp"
#include "error.hpp"
#include "file_read.hpp"
#include "nn/params.hpp"
#include "routing/policy_kind.hpp"

namespace moescope {

namespace {

constexpr double kFloat = 4, kInt = 4;
constexpr int kTextVocabBound = 96;  // the text dataset keeps 95 characters plus one "other" bucket
constexpr long kEvalChunk = 1024, kProbeTokens = 256;

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
    return T * (d_in + (L + 1) * d + d + 2 * classes + 3) + L * per_layer + backward;
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
    return m;
}

double physical_memory_bytes() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? double(pages) * double(page) : 0.0;
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
           bytes_text(m.dataset_bytes) + ")";
}

void check_memory(const Config& c) {
    const double physical = physical_memory_bytes();
    if (physical <= 0) return;  // unknown: nothing to compare with
    const MemoryEstimate m = estimate_memory(c);
    if (m.total() <= kMemoryShare * physical) return;
    throw ConfigError("config needs about " + memory_text(m) + ", more than " +
                      std::to_string(int(kMemoryShare * 100)) + " % of this machine's " + bytes_text(physical) +
                      " of memory; lower batch_tokens, d_model, d_ff, experts, layers or the dataset size "
                      "(moescope-cli train --dry-run shows the estimate)");
}

}  // namespace moescope
