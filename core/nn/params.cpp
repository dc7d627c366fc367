#include "nn/params.hpp"

#include "routing/policy_kind.hpp"

namespace moescope {

ParamLayout ParamLayout::build(const Config& c, int d_in, int classes) {
    ParamLayout L;
    const long d = c.d_model, f = c.d_ff, E = c.experts;
    L.layers.resize(c.layers);
    const bool learned_noise = has_learned_noise(parse_routing_policy(c.policy));
    auto add = [&](std::string name, long rows, long cols, ParamGroup g, bool decay) {
        L.tensors.push_back({std::move(name), L.total, rows, cols, g, decay});
        L.total += rows * cols;
        return static_cast<int>(L.tensors.size() - 1);
    };
    auto begin_group = [&](ParamGroup g) { L.group_begin[static_cast<int>(g)] = L.total; };
    auto end_group = [&](ParamGroup g) { L.group_end[static_cast<int>(g)] = L.total; };

    begin_group(ParamGroup::Rest);
    // d_model × d_in; the transformer's tokens are ids, embedded by a column per vocabulary entry
    L.W_in = add("embed.W", d, c.is_lm() ? classes : d_in, ParamGroup::Rest, true);
    L.b_in = add("embed.b", d, 1, ParamGroup::Rest, false);
    if (c.is_lm()) L.pos = add("embed.pos", d, c.context, ParamGroup::Rest, true);
    for (int l = 0; l < c.layers; ++l)
        L.layers[l].norm_g = add("layer" + std::to_string(l) + ".norm.g", d, 1, ParamGroup::Rest, false);
    for (int l = 0; l < c.layers && c.is_lm(); ++l) {
        const std::string p = "layer" + std::to_string(l) + ".attn.";
        Layer& a = L.layers[l];
        a.attn_norm = add(p + "norm.g", d, 1, ParamGroup::Rest, false);
        a.Wq = add(p + "Wq", d, d, ParamGroup::Rest, true);
        a.Wk = add(p + "Wk", d, d, ParamGroup::Rest, true);
        a.Wv = add(p + "Wv", d, d, ParamGroup::Rest, true);
        a.Wo = add(p + "Wo", d, d, ParamGroup::Rest, true);
    }
    L.norm_f = add("head.norm.g", d, 1, ParamGroup::Rest, false);
    L.W_out = add("head.W", classes, d, ParamGroup::Rest, true);  // classes × d_model
    L.b_out = add("head.b", classes, 1, ParamGroup::Rest, false);
    end_group(ParamGroup::Rest);

    begin_group(ParamGroup::Router);
    for (int l = 0; l < c.layers; ++l) {
        const std::string p = "layer" + std::to_string(l) + ".router.";
        L.layers[l].router_W = add(p + "W", E, d, ParamGroup::Router, true);  // E × d_model
        if (learned_noise) L.layers[l].noise_W = add(p + "W_noise", E, d, ParamGroup::Router, true);
    }
    end_group(ParamGroup::Router);

    begin_group(ParamGroup::Experts);
    for (int l = 0; l < c.layers; ++l) {
        const std::string p = "layer" + std::to_string(l) + ".experts.";
        L.layers[l].W1 = add(p + "W1", f, d * E, ParamGroup::Experts, true);  // E × (d_ff × d_model)
        L.layers[l].b1 = add(p + "b1", f, E, ParamGroup::Experts, false);     // E × d_ff
        L.layers[l].W2 = add(p + "W2", d, f * E, ParamGroup::Experts, true);  // E × (d_model × d_ff)
        L.layers[l].b2 = add(p + "b2", d, E, ParamGroup::Experts, false);     // E × d_model
    }
    end_group(ParamGroup::Experts);
    return L;
}

const TensorInfo* ParamLayout::find(const std::string& name) const {
    for (const auto& t : tensors)
        if (t.name == name) return &t;
    return nullptr;
}

}  // namespace moescope
