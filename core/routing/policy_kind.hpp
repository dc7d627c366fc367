#pragma once
// The routing policies' names and what each needs from the model, without the
// policies themselves (routing.hpp): enough for sizing code and the engine seam.
#include <string>

namespace moescope {

// The policies of docs/architecture.md, parsed once from the config's text
// form (Config::policy, which snapshots and config files keep as text).
enum class RoutingPolicyKind { TopK, NoisyTopK, ExpertChoice, BiasBalanced, Hash, Random };
// Throws ConfigError naming the unknown policy and the known ones.
RoutingPolicyKind parse_routing_policy(const std::string& name);
const char* routing_policy_name(RoutingPolicyKind kind);

// What the model must provide a policy beyond the logits, by kind.
// Free functions so that sizing code (parameters, workspaces) needs no policy object.
inline bool has_learned_noise(RoutingPolicyKind k) { return k == RoutingPolicyKind::NoisyTopK; }
inline bool uses_selection_bias(RoutingPolicyKind k) { return k == RoutingPolicyKind::BiasBalanced; }
inline bool draws_random_choices(RoutingPolicyKind k) { return k == RoutingPolicyKind::Random; }
inline bool experts_choose(RoutingPolicyKind k) { return k == RoutingPolicyKind::ExpertChoice; }
// Hash and random routing ignore the router's ranking (fixed baselines).
inline bool router_decides(RoutingPolicyKind k) {
    return k != RoutingPolicyKind::Hash && k != RoutingPolicyKind::Random;
}

}  // namespace moescope
