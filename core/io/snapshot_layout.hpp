#pragma once
// What the snapshot writer (snapshot.cpp) and reader (snapshot_reader.cpp)
// share: the dtypes, the list of tensors a state must have with their shapes
// (expected_entries), the copy between a state and file bytes, and names.
// Internal to core/io; the format is docs/formats/snapshot.md.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "hash.hpp"
#include "io/snapshot.hpp"
#include "nn/params.hpp"

namespace moescope::snapshot_layout {

static_assert(std::endian::native == std::endian::little, "tensors are stored little-endian, as in memory");

constexpr uint64_t kMaxHeaderBytes = 64ull << 20;

enum class Dtype { F32, F64, I32 };

inline const char* dtype_name(Dtype d) { return d == Dtype::F32 ? "F32" : d == Dtype::F64 ? "F64" : "I32"; }
inline size_t dtype_bytes(Dtype d) { return d == Dtype::F64 ? 8 : 4; }

inline std::string shape_text(const std::vector<size_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

inline size_t element_count(const std::vector<size_t>& shape) {
    size_t n = 1;
    for (size_t d : shape) n *= d;
    return n;
}

// One tensor of the file and where its values live in a TrainerState.
struct Entry {
    std::string name;
    Dtype dtype;
    std::vector<size_t> shape;
    enum Source { Param, Moment1, Moment2, SelectionBias, DeadRing, DeadSum, ProbeTop1 } source;
    const TensorInfo* info = nullptr;  // Param, Moment1, Moment2
    long blocks = 1;                   // expert stacks: E column blocks of one matrix
    int layer = 0;                     // SelectionBias
};

// The tensors a state with this config must have, in file order.
inline std::vector<Entry> expected_entries(const TrainerState& st, const ParamLayout& layout, bool has_probe) {
    const Config& c = st.config;
    const size_t L = c.layers, E = c.experts;
    std::vector<Entry> out;
    for (auto [source, prefix] :
         {std::pair{Entry::Param, ""}, {Entry::Moment1, "optim.m."}, {Entry::Moment2, "optim.v."}}) {
        for (const TensorInfo& t : layout.tensors) {
            const long blocks = t.group == ParamGroup::Experts ? c.experts : 1;
            const size_t per_block = t.cols / blocks;
            // Weight decay marks the weight matrices (params.hpp); the rest are one vector per block.
            std::vector<size_t> shape;
            if (blocks > 1) shape.push_back(blocks);
            shape.push_back(t.rows);
            if (t.decay) shape.push_back(per_block);
            out.push_back({prefix + t.name, Dtype::F32, shape, source, &t, blocks});
        }
    }
    if (c.policy == "bias_balanced")
        for (int l = 0; l < c.layers; ++l)
            out.push_back({"layer" + std::to_string(l) + ".router.selection_bias",
                           Dtype::F32,
                           {E},
                           Entry::SelectionBias,
                           nullptr,
                           1,
                           l});
    out.push_back({"state.dead.ring", Dtype::F64, {L, size_t(c.dead_window), E}, Entry::DeadRing});
    out.push_back({"state.dead.sum", Dtype::F64, {L, E}, Entry::DeadSum});
    if (has_probe) out.push_back({"state.probe_top1", Dtype::I32, {L, size_t(st.probe_tokens)}, Entry::ProbeTop1});
    return out;
}

// The direction of a copy follows constness: a const state is being written to
// file bytes, a mutable one is being filled from them.
template <class T>
void copy_run(const T* state, char* file, size_t n) {
    std::memcpy(file, state, n * sizeof(T));
}
template <class T>
void copy_run(T* state, const char* file, size_t n) {
    std::memcpy(state, file, n * sizeof(T));
}

// Moves one tensor between its bytes in the file and its place in `st`.
template <class State, class Byte>
void transfer(const Entry& e, State& st, Byte* file) {
    auto run = [&](auto* state, size_t n) {
        copy_run(state, file, n);
        file += n * sizeof(*state);
    };
    switch (e.source) {
        case Entry::Param:
        case Entry::Moment1:
        case Entry::Moment2: {
            auto& buf = e.source == Entry::Param ? st.params : e.source == Entry::Moment1 ? st.moment1 : st.moment2;
            const TensorInfo& t = *e.info;
            const long R = t.rows, cb = t.cols / e.blocks;
            // file [block][row][col] ↔ Eigen column-major (row i, column b·cb + j) of a rows × cols matrix
            for (long b = 0; b < e.blocks; ++b)
                for (long i = 0; i < R; ++i)
                    for (long j = 0; j < cb; ++j) run(buf.data() + t.offset + i + (b * cb + j) * R, 1);
            break;
        }
        case Entry::SelectionBias:
            run(st.selection_bias.data() + static_cast<size_t>(e.layer) * st.config.experts, st.config.experts);
            break;
        case Entry::DeadRing:
            for (auto& layer : st.dead.ring)
                for (auto& slot : layer) run(slot.data(), slot.size());
            break;
        case Entry::DeadSum:
            for (auto& sum : st.dead.sum) run(sum.data(), sum.size());
            break;
        case Entry::ProbeTop1:
            for (auto& top1 : st.probe_top1) run(top1.data(), top1.size());
            break;
    }
}

// The first tensor holding NaN or inf, by its file name.
inline std::optional<std::string> non_finite_tensor(const TrainerState& st, const ParamLayout& layout) {
    auto finite = [](const float* p, long n) {
        return std::all_of(p, p + n, [](float v) { return std::isfinite(v); });
    };
    for (auto [buf, prefix] : {std::pair{&st.params, ""}, {&st.moment1, "optim.m."}, {&st.moment2, "optim.v."}})
        for (const TensorInfo& t : layout.tensors)
            if (!finite(buf->data() + t.offset, t.size())) return prefix + t.name;
    if (!finite(st.selection_bias.data(), static_cast<long>(st.selection_bias.size()))) return "selection_bias";
    return std::nullopt;
}

inline std::string history_name(const MetricsHistory::Key& key) {
    const auto& [name, layer, expert] = key;
    std::string s = "history/" + name;
    if (layer >= 0 || expert >= 0) s += "/" + std::to_string(layer);
    if (expert >= 0) s += "/" + std::to_string(expert);
    return s;
}

inline std::string fingerprint_text(uint64_t h) { return hash_text(h); }

}  // namespace moescope::snapshot_layout
