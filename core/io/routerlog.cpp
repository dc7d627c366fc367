#include "io/routerlog.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

namespace moescope {

namespace {

using json = nlohmann::json;

// Megatron numbers MTP layers inside each MTP block; they follow the decoder's
// layers here, 1000 apart per block, so they never collide with decoder layers.
constexpr int kMtpLayerBase = 1000;

// An absent key is NaN; a null one is a non-finite value the writer saw.
double optional_real(const json& j, const char* key, std::string& error, bool& non_finite) {
    const auto it = j.find(key);
    if (it == j.end()) return kNaN;
    if (it->is_null()) {
        non_finite = true;
        return kNaN;
    }
    if (!it->is_number()) {
        error = std::string("'") + key + "' must be a number";
        return kNaN;
    }
    return it->get<double>();
}

bool whole_in(const json& j, const char* key, long lo, long hi, long& out, std::string& error) {
    const auto it = j.find(key);
    if (it == j.end()) return error = std::string("'") + key + "' is missing", false;
    if (!it->is_number_integer() && !(it->is_number_float() && std::floor(it->get<double>()) == it->get<double>()))
        return error = std::string("'") + key + "' must be a whole number", false;
    const double v = it->get<double>();
    if (v < double(lo) || v > double(hi))
        return error = std::string("'") + key + "' is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) +
                       "]",
               false;
    out = long(v);
    return true;
}

// A list of E numbers in [0, kRouterLogMaxCount], 1 ≤ E ≤ kRouterLogMaxExperts.
// With `nulls`, a null entry is a non-finite value (NaN) and sets *nulls.
bool counts_from(const json& a, const char* key, std::vector<double>& out, std::string& error, bool* nulls = nullptr) {
    if (!a.is_array() || a.empty() || a.size() > size_t(kRouterLogMaxExperts))
        return error = std::string("'") + key + "' must be a list of 1 to 65536 numbers", false;
    out.clear();
    out.reserve(a.size());
    for (const auto& v : a) {
        if (nulls && v.is_null()) {
            *nulls = true;
            out.push_back(kNaN);
            continue;
        }
        if (!v.is_number() || !(v.get<double>() >= 0) || !(v.get<double>() <= kRouterLogMaxCount))
            return error = std::string("'") + key + "' must hold numbers from 0 to 1e12" +
                           (nulls ? " (or null for a non-finite value)" : ""),
                   false;
        out.push_back(v.get<double>());
    }
    return true;
}

RouterLine megatron_line(const json& j) {
    RouterLine out;
    RouterRecord r;
    r.kind = RouterLogKind::Megatron;
    long v = 0;
    if (!whole_in(j, "iter", 0, 1L << 53, v, out.error)) return out;
    r.step = v;
    if (!whole_in(j, "layer", 0, kMtpLayerBase - 1, v, out.error)) return out;
    r.layer = int(v);
    const auto block = j.find("block");
    if (block != j.end() && !block->is_string()) return out.error = "'block' must be \"decoder\" or \"mtp\"", out;
    if (block != j.end() && *block == "mtp") {
        if (!whole_in(j, "mtp_idx", 0, 99, v, out.error)) return out;
        r.layer += kMtpLayerBase * int(v + 1);
    }
    const json& tpe = j["tpe"];
    if (!tpe.is_array() || tpe.empty()) return out.error = "'tpe' must be a list of micro-batch lists", out;
    std::vector<double> mb;
    for (const auto& micro : tpe) {
        if (!counts_from(micro, "tpe", mb, out.error)) return out;
        if (r.counts.empty()) r.counts.assign(mb.size(), 0.0);
        if (mb.size() != r.counts.size()) return out.error = "'tpe' micro-batches differ in expert count", out;
        for (size_t e = 0; e < mb.size(); ++e) r.counts[e] += mb[e];
    }
    out.record = std::move(r);
    return out;
}

RouterLine moescope_line(const json& j) {
    RouterLine out;
    RouterRecord r;
    long v = 0;
    if (!whole_in(j, "step", 0, 1L << 53, v, out.error)) return out;
    r.step = v;
    if (!whole_in(j, "layer", 0, 1L << 20, v, out.error)) return out;
    r.layer = int(v);
    if (!counts_from(j["counts"], "counts", r.counts, out.error)) return out;
    if (const auto it = j.find("mean_prob"); it != j.end() && !it->is_null()) {
        if (!counts_from(*it, "mean_prob", r.mean_prob, out.error, &r.non_finite)) return out;
        if (r.mean_prob.size() != r.counts.size()) return out.error = "'mean_prob' and 'counts' differ in length", out;
    }
    bool& nf = r.non_finite;
    r.router_entropy = optional_real(j, "router_entropy", out.error, nf);
    r.z_loss = optional_real(j, "z_loss", out.error, nf);
    r.aux_loss = optional_real(j, "aux_loss", out.error, nf);
    r.max_abs_logit = optional_real(j, "max_abs_logit", out.error, nf);
    bool ignored = false;  // a null share dropped or token count is "unknown", not a diverging router
    r.dropped = optional_real(j, "dropped", out.error, ignored);
    r.tokens = optional_real(j, "tokens", out.error, ignored);
    if (!(r.tokens >= 0 && r.tokens <= kRouterLogMaxCount) && !std::isnan(r.tokens))
        out.error = "'tokens' must be a number from 0 to 1e12";
    r.time = optional_real(j, "time", out.error, ignored);
    if (j.contains("rank")) {
        if (!whole_in(j, "rank", 0, 1 << 24, v, out.error)) return out;
        r.rank = int(v);
    }
    if (out.error.empty()) out.record = std::move(r);
    return out;
}

RouterLine header_line(const json& j) {
    RouterLine out;
    if (j["format"] != "moescope-routerlog") return out.error = "'format' must be \"moescope-routerlog\"", out;
    long v = 0;
    if (!whole_in(j, "version", 1, 1000, v, out.error)) return out;
    if (v > kRouterLogVersion)
        return out.newer_version = true,
               out.error = "format version " + std::to_string(v) + " is newer than this moescope reads (" +
                           std::to_string(kRouterLogVersion) + ")",
               out;
    RouterLogHeader h;
    const std::pair<const char*, int*> ints[] = {
        {"experts", &h.experts}, {"layers", &h.layers}, {"top_k", &h.top_k}, {"ep", &h.ep}};
    for (const auto& [key, dst] : ints) {
        if (!j.contains(key)) continue;
        if (!whole_in(j, key, 1, kRouterLogMaxExperts, v, out.error)) return out;
        *dst = int(v);
    }
    if (j.contains("framework") && j["framework"].is_string()) h.framework = j["framework"].get<std::string>();
    if (j.contains("model") && j["model"].is_string()) h.model = j["model"].get<std::string>();
    out.header = std::move(h);
    return out;
}

}  // namespace

RouterLine parse_router_line(std::string_view line) {
    RouterLine out;
    if (detail::parse_router_record_fast(line, out)) return out;
    return detail::parse_router_line_general(line);
}

RouterLine detail::parse_router_line_general(std::string_view line) {
    RouterLine out;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return out;
    try {
        const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded()) return out.error = "not valid JSON (or not UTF-8)", out;
        if (!j.is_object()) return out.error = "not a JSON object", out;
        if (j.contains("format")) return header_line(j);
        if (j.contains("tpe")) return megatron_line(j);
        if (j.contains("counts")) return moescope_line(j);
    } catch (const json::exception&) {
        // A value of an unexpected type deep in a line: say so in our words, never the library's.
        return RouterLine{{}, {}, "a field holds a value of the wrong type"};
    }
    out.error = "neither a moescope record ('step', 'layer', 'counts') nor a Megatron one ('iter', 'layer', 'tpe')";
    return out;
}

}  // namespace moescope
