#include "routing/routing.hpp"

#include <algorithm>
#include <numeric>

#include "error.hpp"
#include "routing/route_select.hpp"

namespace moescope {

void Routing::dispatch() {
    const long A = assignments();
    kept.assign(A, 1);
    counts.assign(E, 0.0);
    fill.assign(E, 0);
    dropped = 0;
    if (expert_choice) {
        for (long a = 0; a < A; ++a) counts[assign_expert[a]] += 1;
    } else {
        // Rank-major order: every token's first choice is served before any second choice,
        // so under a tight capacity the drops hit lower-ranked choices first.
        for (int r = 0; r < k; ++r)
            for (long t = 0; t < T; ++t) {
                const long a = t * k + r;
                const int e = assign_expert[a];
                counts[e] += 1;
                if (capacity > 0 && fill[e] >= capacity) {
                    kept[a] = 0;
                    ++dropped;
                } else {
                    ++fill[e];
                }
            }
    }
    // Counting sort of kept assignments by expert (stable: deterministic order).
    expert_offset.assign(E + 1, 0);
    for (long a = 0; a < A; ++a)
        if (kept[a]) ++expert_offset[assign_expert[a] + 1];
    std::partial_sum(expert_offset.begin(), expert_offset.end(), expert_offset.begin());
    slot_assign.resize(expert_offset[E]);
    std::fill(fill.begin(), fill.end(), 0);
    for (long a = 0; a < A; ++a)
        if (kept[a]) {
            const int e = assign_expert[a];
            slot_assign[expert_offset[e] + fill[e]++] = static_cast<int32_t>(a);
        }
}

size_t Routing::bytes() const {
    return (assign_expert.size() + assign_token.size() + slot_assign.size() + top1.size() + order.size()) *
               sizeof(int32_t) +
           (expert_offset.size() + fill.size()) * sizeof(long) + counts.size() * sizeof(double) + kept.size() +
           taken.size();
}

namespace {

template <class S>
void prepare(Routing& r, const RouteInput<S>& in, GateMode mode, bool expert_choice) {
    r.E = static_cast<int>(in.logits->rows());
    r.T = in.logits->cols();
    r.k = in.k;
    r.capacity = in.capacity;
    r.gate_mode = mode;
    r.expert_choice = expert_choice;
    r.top1.resize(r.T);
}

// Token choice: each token takes the k experts with the largest scores.
template <class S>
void select_topk_by_score(const RouteInput<S>& in, Routing& r, const S* bias) {
    const MatMap<S>& z = *in.logits;
    const int E = r.E, k = r.k;
    r.assign_expert.resize(r.T * k);
    r.assign_token.resize(r.T * k);
#pragma omp parallel for schedule(static) if (r.T * E > (1L << 18))
    for (long t = 0; t < r.T; ++t) {
        int best[16];
        S score[16];
        int n = 0;
        for (int e = 0; e < E; ++e) topk_offer(e, S(z(e, t) + (bias ? bias[e] : S(0))), k, n, best, score);
        for (int j = 0; j < k; ++j) {
            r.assign_expert[t * k + j] = best[j];
            r.assign_token[t * k + j] = static_cast<int32_t>(t);
        }
        r.top1[t] = best[0];
    }
}

template <class S>
class TopK : public RoutingPolicy<S> {
public:
    RoutingPolicyKind kind() const override { return RoutingPolicyKind::TopK; }
    // k=1 uses the full softmax probability as gate (Switch): renormalising over one
    // expert would give gate 1 and cut the router off from the task gradient.
    GateMode gate_mode(int k) const override { return k == 1 ? GateMode::FullSoftmax : GateMode::Renormalized; }
    void select(const RouteInput<S>& in, Routing& r) const override {
        prepare(r, in, gate_mode(in.k), false);
        select_topk_by_score(in, r, static_cast<const S*>(nullptr));
        r.dispatch();
    }
};

// Noisy top-k differs from top-k only in how the model builds the logits
// (learned noise scale), so selection is the same.
template <class S>
class NoisyTopK : public TopK<S> {
public:
    RoutingPolicyKind kind() const override { return RoutingPolicyKind::NoisyTopK; }
};

// DeepSeek-V3 aux-loss-free balancing: a per-expert bias shifts selection only;
// the gates still come from the unbiased logits.
template <class S>
class BiasBalanced : public TopK<S> {
public:
    RoutingPolicyKind kind() const override { return RoutingPolicyKind::BiasBalanced; }
    void select(const RouteInput<S>& in, Routing& r) const override {
        MS_ASSERT(in.selection_bias, "bias_balanced routing needs a selection bias");
        prepare(r, in, this->gate_mode(in.k), false);
        select_topk_by_score(in, r, in.selection_bias);
        r.dispatch();
    }
};

// Expert choice (Zhou et al. 2022): each expert takes its top-capacity tokens
// by router probability, so load is balanced by construction.
template <class S>
class ExpertChoice : public RoutingPolicy<S> {
public:
    RoutingPolicyKind kind() const override { return RoutingPolicyKind::ExpertChoice; }
    GateMode gate_mode(int) const override { return GateMode::FullSoftmax; }
    void select(const RouteInput<S>& in, Routing& r) const override {
        prepare(r, in, gate_mode(in.k), true);
        const MatMap<S>& p = *in.probs;
        const long c = std::min(in.capacity, r.T);
        r.assign_expert.resize(r.E * c);
        r.assign_token.resize(r.E * c);
        r.order.resize(r.E * r.T);
#pragma omp parallel for schedule(dynamic) if (r.T * r.E > (1L << 18))
        for (int e = 0; e < r.E; ++e) {
            const auto idx = r.order.begin() + e * r.T;
            std::iota(idx, idx + r.T, 0);
            auto better = [&](int32_t a, int32_t b) { return p(e, a) > p(e, b) || (p(e, a) == p(e, b) && a < b); };
            std::nth_element(idx, idx + (c - 1), idx + r.T, better);
            std::sort(idx, idx + c);
            for (long j = 0; j < c; ++j) {
                r.assign_expert[e * c + j] = e;
                r.assign_token[e * c + j] = idx[j];
            }
        }
        r.taken.assign(r.T, 0);
        for (long a = 0; a < r.E * c; ++a) r.taken[r.assign_token[a]] = 1;
        r.capacity = 0;  // the capacity is in the selection itself; nothing more to drop
        r.dispatch();
        r.dropped = std::count(r.taken.begin(), r.taken.end(), 0);
        for (long t = 0; t < r.T; ++t) {
            Eigen::Index arg;
            p.col(t).maxCoeff(&arg);
            r.top1[t] = static_cast<int32_t>(arg);
        }
    }
};

// Fixed baselines: the router still learns (for its metrics) but decides nothing.
template <class S>
class HashRouting : public RoutingPolicy<S> {
public:
    RoutingPolicyKind kind() const override { return RoutingPolicyKind::Hash; }
    GateMode gate_mode(int) const override { return GateMode::Constant; }
    void select(const RouteInput<S>& in, Routing& r) const override {
        prepare(r, in, gate_mode(in.k), false);
        r.assign_expert.resize(r.T * r.k);
        r.assign_token.resize(r.T * r.k);
        for (long t = 0; t < r.T; ++t) {
            const int first = hash_first_expert(in.token_ids[t], r.E);
            for (int j = 0; j < r.k; ++j) {
                r.assign_expert[t * r.k + j] = (first + j) % r.E;
                r.assign_token[t * r.k + j] = static_cast<int32_t>(t);
            }
            r.top1[t] = first;
        }
        r.dispatch();
    }
};

template <class S>
class RandomRouting : public RoutingPolicy<S> {
public:
    RoutingPolicyKind kind() const override { return RoutingPolicyKind::Random; }
    GateMode gate_mode(int) const override { return GateMode::Constant; }
    void select(const RouteInput<S>& in, Routing& r) const override {
        MS_ASSERT(in.random_choice, "random routing needs pre-drawn choices");
        prepare(r, in, gate_mode(in.k), false);
        r.assign_expert.assign(in.random_choice, in.random_choice + r.T * r.k);
        r.assign_token.resize(r.T * r.k);
        for (long t = 0; t < r.T; ++t) {
            for (int j = 0; j < r.k; ++j) r.assign_token[t * r.k + j] = static_cast<int32_t>(t);
            r.top1[t] = r.assign_expert[t * r.k];
        }
        r.dispatch();
    }
};

}  // namespace

namespace {
struct PolicyName {
    RoutingPolicyKind kind;
    const char* name;
};
constexpr PolicyName kPolicyNames[] = {
    {RoutingPolicyKind::TopK, "topk"},
    {RoutingPolicyKind::NoisyTopK, "noisy_topk"},
    {RoutingPolicyKind::ExpertChoice, "expert_choice"},
    {RoutingPolicyKind::BiasBalanced, "bias_balanced"},
    {RoutingPolicyKind::Hash, "hash"},
    {RoutingPolicyKind::Random, "random"},
};
}  // namespace

RoutingPolicyKind parse_routing_policy(const std::string& name) {
    std::string known;
    for (const auto& p : kPolicyNames) {
        if (name == p.name) return p.kind;
        known += (known.empty() ? "" : ", ") + std::string(p.name);
    }
    throw ConfigError("unknown routing policy '" + name + "' (known: " + known + ")");
}

const char* routing_policy_name(RoutingPolicyKind kind) {
    for (const auto& p : kPolicyNames)
        if (p.kind == kind) return p.name;
    return "unknown";
}

template <class S>
std::unique_ptr<RoutingPolicy<S>> make_routing_policy(RoutingPolicyKind kind) {
    switch (kind) {
        case RoutingPolicyKind::TopK:
            return std::make_unique<TopK<S>>();
        case RoutingPolicyKind::NoisyTopK:
            return std::make_unique<NoisyTopK<S>>();
        case RoutingPolicyKind::BiasBalanced:
            return std::make_unique<BiasBalanced<S>>();
        case RoutingPolicyKind::ExpertChoice:
            return std::make_unique<ExpertChoice<S>>();
        case RoutingPolicyKind::Hash:
            return std::make_unique<HashRouting<S>>();
        case RoutingPolicyKind::Random:
            return std::make_unique<RandomRouting<S>>();
    }
    MS_ASSERT(false, "routing policy kind out of range");
    return nullptr;
}

template std::unique_ptr<RoutingPolicy<float>> make_routing_policy<float>(RoutingPolicyKind);
template std::unique_ptr<RoutingPolicy<double>> make_routing_policy<double>(RoutingPolicyKind);

}  // namespace moescope
