#pragma once
// Routing policies: who processes which token. One class per policy behind one
// interface; the model computes the logits, a policy only chooses. How the
// chosen experts' outputs are weighted (the gates) is the policy's GateMode.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/tensor.hpp"
#include "routing/policy_kind.hpp"

namespace moescope {

enum class GateMode {
    Renormalized,  // softmax over the k chosen logits (Mixtral); gradient flows to the router
    FullSoftmax,   // the chosen expert's full softmax probability (Switch k=1, expert choice)
    Constant,      // 1/k, no gradient (hash, random baselines)
};

// The result of routing T tokens. An assignment is one (token, expert) pair:
// token choice has T·k of them (a = t·k + rank), expert choice E·capacity
// (a = e·capacity + slot). Kept assignments are dispatched grouped by expert.
struct Routing {
    int E = 0, k = 0;
    long T = 0;
    long capacity = 0;  // 0 = dropless
    GateMode gate_mode = GateMode::Renormalized;
    bool expert_choice = false;
    std::vector<int32_t> assign_expert, assign_token;
    std::vector<uint8_t> kept;
    std::vector<int32_t> slot_assign;  // dispatch slot → assignment, grouped by expert
    std::vector<long> expert_offset;   // E+1: expert e owns slots [off[e], off[e+1])
    std::vector<double> counts;        // C_i: assignments per expert before drops
    long dropped = 0;                  // dropped assignments (expert choice: tokens no expert took)
    std::vector<int32_t> top1;         // T: each token's first-choice expert
    // Scratch kept between steps so routing allocates nothing once sized.
    std::vector<long> fill;      // E: slots handed out per expert
    std::vector<int32_t> order;  // E × T: expert choice's per-expert token ranking
    std::vector<uint8_t> taken;  // T: expert choice: some expert took the token

    long assignments() const { return static_cast<long>(assign_expert.size()); }
    size_t bytes() const;
    long slot_count() const { return expert_offset.empty() ? 0 : expert_offset.back(); }
    // Builds kept/slot_assign/expert_offset/counts from assign_* and capacity.
    void dispatch();
};

template <class S>
struct RouteInput {
    const MatMap<S>* logits = nullptr;       // E × T selection logits (noisy, tempered)
    const MatMap<S>* probs = nullptr;        // E × T softmax of logits
    const S* selection_bias = nullptr;       // E, bias_balanced only: added for selection only
    const int32_t* token_ids = nullptr;      // T sample ids (hash routing)
    const int32_t* random_choice = nullptr;  // k × T pre-drawn experts (random routing)
    int k = 1;
    long capacity = 0;
};

template <class S>
class RoutingPolicy {
public:
    virtual ~RoutingPolicy() = default;
    virtual RoutingPolicyKind kind() const = 0;
    std::string name() const { return routing_policy_name(kind()); }
    virtual GateMode gate_mode(int k) const = 0;
    virtual void select(const RouteInput<S>& in, Routing& out) const = 0;
};

template <class S>
std::unique_ptr<RoutingPolicy<S>> make_routing_policy(RoutingPolicyKind kind);

}  // namespace moescope
