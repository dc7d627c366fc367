// The model's sgemm chosen per shape on the machine at hand (MOESCOPE_GEMM=auto,
// the default; gemm.hpp). The first time a process meets a shape class it
// times every linked library on that very product (best of a few calls into
// a scratch output), keeps the fastest for the class, and writes the table to
// a per-machine cache; a later run on the same machine (CPU model, library
// versions, build) loads it and times nothing. A snapshot carries the table,
// and a resume on the same machine adopts it, so a resumed run makes the same
// choices, bit for bit, as the run it continues.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "file_read.hpp"
#include "hash.hpp"
#include "io/atomic_file.hpp"
#include "nn/gemm_internal.hpp"

namespace moescope::gemm {

namespace {

using json = nlohmann::json;

// A shape class: both transposes and each of m, n, k by its power of two. A
// token count (an expert's load: n of its forward products, k of its weight
// gradients) changes every step, and the kernel choice need not; the model's
// own sizes (d_model, d_ff) each fall in one class.
struct ShapeClass {
    bool ta, tb;
    long m_max, n_max, k_max;
    static int log2_up(long v) {
        int l = 0;
        while ((1L << l) < v && l < 62) ++l;
        return l;
    }
    uint64_t key() const {
        return uint64_t(ta) | uint64_t(tb) << 1 | uint64_t(log2_up(m_max)) << 2 | uint64_t(log2_up(n_max)) << 8 |
               uint64_t(log2_up(k_max)) << 14;
    }
    std::string text() const {
        return std::string(ta ? "T" : "N") + (tb ? "T" : "N") + " m<=" + std::to_string(m_max) +
               " n<=" + std::to_string(n_max) + " k<=" + std::to_string(k_max);
    }
};

ShapeClass classify(bool ta, bool tb, long m, long n, long k) {
    auto up = [](long v) {
        long p = 1;
        while (p < v && p < (1L << 62)) p *= 2;
        return p;
    };
    return {ta, tb, up(m), up(n), up(k)};
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(colon + 2);
        }
    return "unknown CPU";
}

// What a choice depends on: the CPU, the build's -march, and each library with
// the kernel it runs here (oneDNN's ISA, capped or not; OpenBLAS's core).
std::string machine_text() {
    std::string m = cpu_model() + " | " + MOESCOPE_BUILD_MARCH;
    for (const Named& n : linked()) m += " | " + n.candidate.name + " " + n.candidate.kernel;
    return m;
}

// The cache for `machine` (machine_text()): one file per machine, so a home shared by a
// cluster's nodes keeps each kind's own table.
std::string cache_path_for(const std::string& machine) {
    if (const char* p = std::getenv("MOESCOPE_GEMM_CACHE")) return p;  // "" turns the cache off
    std::string base;
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x == '/')
        base = x;
    else if (const char* h = std::getenv("HOME"); h && *h == '/')
        base = std::string(h) + "/.cache";
    else
        return {};
    return base + "/moescope/gemm-" + hash_text(fnv1a(machine)) + ".json";
}

struct Entry {
    std::string text, library;  // "NN m<=64 n<=256 k<=128", "openblas"
    SgemmFn fn = nullptr;
};

struct Registry {
    std::mutex lock;
    std::vector<Named> libs;
    std::unordered_map<uint64_t, Entry> table;
    std::string machine, cache_path;
    bool loaded = false;
    std::atomic<uint64_t> generation{1};  // bumped when choices are replaced (a snapshot's adopted)

    const Named* lib(const std::string& key) const {
        for (const Named& n : libs)
            if (key == n.key) return &n;
        return nullptr;
    }

    // Reads the cache of this machine (once); a file from another machine or a damaged one is ignored.
    void load() {
        if (loaded) return;
        loaded = true;
        libs = linked();
        machine = machine_text();
        cache_path = cache_path_for(machine);
        if (cache_path.empty()) return;
        try {
            const json j = json::parse(read_regular_file(cache_path, kMiB, "GEMM tuning cache"));
            if (!j.is_object() || j.value("machine", json()) != machine || !j.contains("choices")) return;
            merge(j["choices"], false);
        } catch (const std::exception&) {
            // No cache yet, or a damaged one: tune again and write a new one.
        }
    }

    // {"<class key>": ["<text>", "<library>"], ...}: unknown libraries and bad rows are skipped.
    void merge(const json& choices, bool replace) {
        if (!choices.is_object()) return;
        for (const auto& [k, v] : choices.items()) {
            if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_string()) continue;
            uint64_t key = 0;
            try {
                key = std::stoull(k);
            } catch (const std::exception&) {
                continue;
            }
            const Named* n = lib(v[1].get<std::string>());
            if (!n) continue;
            if (replace || !table.count(key)) table[key] = {v[0].get<std::string>(), n->key, n->candidate.fn};
        }
    }

    json choices_json() const {
        json out = json::object();
        for (const auto& [key, e] : table) out[std::to_string(key)] = {e.text, e.library};
        return out;
    }

    // Writes the table, merged with what another process may have added meanwhile.
    void save() {
        if (cache_path.empty()) return;
        try {
            json on_disk;
            try {
                on_disk = json::parse(read_regular_file(cache_path, kMiB, "GEMM tuning cache"));
            } catch (const std::exception&) {}
            json choices = choices_json();
            if (on_disk.is_object() && on_disk.value("machine", json()) == machine && on_disk.contains("choices") &&
                on_disk["choices"].is_object())
                for (const auto& [k, v] : on_disk["choices"].items())
                    if (!choices.contains(k)) choices[k] = v;
            std::error_code ec;  // a folder that cannot be made fails the write below, which is caught
            std::filesystem::create_directories(std::filesystem::path(cache_path).parent_path(), ec);
            const json out = {{"format", "moescope-gemm-tuning"}, {"machine", machine}, {"choices", choices}};
            write_file_atomically(cache_path, {out.dump(1), "\n"}, "GEMM tuning cache");
        } catch (const std::exception&) {
            // A read-only home: the choices still hold for this process.
        }
    }

    // Times every library on this product into a scratch output; the fastest wins.
    Entry tune(const ShapeClass& c, bool ta, bool tb, long m, long n, long k, const float* A, long lda, const float* B,
               long ldb, bool accumulate) {
        std::vector<float> scratch(size_t(m) * size_t(n), 0.0f);
        const double flops = 2.0 * double(m) * double(n) * double(k);
        const int reps = flops > 2e9 ? 1 : flops > 2e7 ? 3 : 7;
        const Named* best = &libs.front();
        double best_s = 1e300;
        for (const Named& lib : libs) {
            lib.candidate.fn(ta, tb, m, n, k, A, lda, B, ldb, scratch.data(), m, accumulate);  // warm-up, JIT
            double fastest = 1e300;
            for (int r = 0; r < reps; ++r) {
                const auto t0 = std::chrono::steady_clock::now();
                lib.candidate.fn(ta, tb, m, n, k, A, lda, B, ldb, scratch.data(), m, accumulate);
                fastest =
                    std::min(fastest, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            }
            if (fastest < best_s) best_s = fastest, best = &lib;
        }
        return {c.text(), best->key, best->candidate.fn};
    }
};

Registry& registry() {
    static Registry r;
    return r;
}

}  // namespace

std::string tuning_cache_path() { return cache_path_for(machine_text()); }

SgemmFn tuned_sgemm(bool ta, bool tb, long m, long n, long k, const float* A, long lda, const float* B, long ldb,
                    bool accumulate) {
    const ShapeClass c = classify(ta, tb, m, n, k);
    const uint64_t key = c.key();
    Registry& reg = registry();
    thread_local std::unordered_map<uint64_t, SgemmFn> mine;
    thread_local uint64_t seen_generation = 0;
    if (seen_generation != reg.generation.load(std::memory_order_acquire)) {
        mine.clear();
        seen_generation = reg.generation.load(std::memory_order_acquire);
    }
    if (const auto it = mine.find(key); it != mine.end()) return it->second;
    std::lock_guard g(reg.lock);
    reg.load();
    auto it = reg.table.find(key);
    if (it == reg.table.end()) {
        it = reg.table.emplace(key, reg.tune(c, ta, tb, m, n, k, A, lda, B, ldb, accumulate)).first;
        reg.save();
    }
    mine[key] = it->second.fn;
    return it->second.fn;
}

std::vector<TunedChoice> tuned_choices() {
    Registry& reg = registry();
    std::lock_guard g(reg.lock);
    std::vector<TunedChoice> out;
    for (const auto& [key, e] : reg.table) out.push_back({e.text, e.library});
    std::sort(out.begin(), out.end(), [](const TunedChoice& a, const TunedChoice& b) { return a.shape < b.shape; });
    return out;
}

std::string tuning_json() {
    if (model_key() != "auto") return {};
    Registry& reg = registry();
    std::lock_guard g(reg.lock);
    reg.load();
    return json{{"machine", reg.machine}, {"choices", reg.choices_json()}}.dump();
}

bool adopt_tuning_json(const std::string& text) {
    if (text.empty() || model_key() != "auto") return false;
    Registry& reg = registry();
    std::lock_guard g(reg.lock);
    reg.load();
    try {
        const json j = json::parse(text);
        if (!j.is_object() || j.value("machine", json()) != reg.machine || !j.contains("choices")) return false;
        reg.merge(j["choices"], true);
    } catch (const std::exception&) {
        return false;
    }
    reg.generation.fetch_add(1, std::memory_order_release);
    return true;
}

}  // namespace moescope::gemm
