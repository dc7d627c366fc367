#pragma once
// Router logs of real training jobs (docs/formats/routerlog.md): one JSON
// object per line, recognised by content, so one reader takes both
//   moescope's own format  {"step":100,"layer":3,"counts":[...], ...}
//   Megatron-LM's tokens-per-expert log
//                          {"iter":100,"block":"decoder","layer":3,"tpe":[[...],[...]]}
// A header line {"format":"moescope-routerlog","version":1,...} may open a
// moescope file and states what the job knows about itself.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "monitor/metrics.hpp"

namespace moescope {

inline constexpr int kRouterLogVersion = 1;
inline constexpr int kRouterLogMaxExperts = 1 << 16;
inline constexpr double kRouterLogMaxCount = 1e12;  // tokens per expert (or per layer) at one step, per record

enum class RouterLogKind { Moescope, Megatron };

// One line's content: the counts of one layer at one step as one writer saw them.
struct RouterRecord {
    RouterLogKind kind = RouterLogKind::Moescope;
    long step = 0;
    int layer = 0;                  // Megatron MTP layers are numbered after the decoder's (see the doc)
    std::vector<double> counts;     // tokens per expert before drops (Megatron: summed over micro-batches)
    std::vector<double> mean_prob;  // empty when absent
    double router_entropy = kNaN, z_loss = kNaN, aux_loss = kNaN, dropped = kNaN, tokens = kNaN, time = kNaN;
    double max_abs_logit = kNaN;  // largest |router logit| of the step, when the writer logs it
    int rank = -1;
    // The writer logged a non-finite value (written as null: JSON has no NaN):
    // a mean_prob entry or a router statistic. The counts stay usable.
    bool non_finite = false;
};

// What a header line says about the job; every field is optional.
struct RouterLogHeader {
    int experts = 0, layers = 0, top_k = 0, ep = 0;
    std::string framework;  // "megatron" | "hf" | "deepspeed" | "pytorch" | ""
    std::string model;
};

// The outcome of one line: a record, a header, or an error in the project's words.
struct RouterLine {
    std::optional<RouterRecord> record;
    std::optional<RouterLogHeader> header;
    std::string error;           // empty when the line was understood (blank lines give neither)
    bool newer_version = false;  // a header of a format version this reader does not know: refuse the file
};

// Parses one line (without its newline). Unknown keys are ignored. Never throws.
RouterLine parse_router_line(std::string_view line);

namespace detail {
// The record fast path (routerlog_fast.cpp): true and `out` set when it is sure
// of the same record the general reader would give; false: ask the general reader.
bool parse_router_record_fast(std::string_view line, RouterLine& out);
// The general reader alone (nlohmann): every line kind, and the error messages.
RouterLine parse_router_line_general(std::string_view line);
}  // namespace detail

}  // namespace moescope
