#include "nn/activations.hpp"

#include "routing/policy_kind.hpp"

namespace moescope {

ActivationLayout ActivationLayout::build(const Config& c, long T, long slots, int d_in, int classes) {
    ActivationLayout A;
    A.T = T;
    A.slot_capacity = slots;
    const long d = c.d_model, f = c.d_ff, E = c.experts, C = classes;
    const long noise_rows = has_learned_noise(parse_routing_policy(c.policy)) ? E : 0;
    auto add = [&](std::string name, long rows, long cols) {
        A.tensors.push_back({std::move(name), A.total, rows, cols});
        A.total += (rows * cols + kAlign - 1) / kAlign * kAlign;
        return static_cast<int>(A.tensors.size() - 1);
    };
    A.x = add("x", d_in, T);
    for (int l = 0; l <= c.layers; ++l) A.h.push_back(add("h" + std::to_string(l), d, T));
    A.layers.resize(c.layers);
    for (int l = 0; l < c.layers; ++l) {
        const std::string p = "layer" + std::to_string(l) + ".";
        Layer& L = A.layers[l];
        L.u = add(p + "u", d, T);
        L.z = add(p + "z", E, T);
        L.s = add(p + "s", noise_rows, T);
        L.a = add(p + "a", E, T);
        L.q = add(p + "q", E, T);
        L.p = add(p + "p", E, T);
        L.eps_noisy = add(p + "eps_noisy", E, T);
        L.eps_jitter = add(p + "eps_jitter", E, T);
    }
    A.v = add("v", d, T);
    A.logits = add("logits", C, T);
    A.probs = add("probs", C, T);
    A.dh = add("dh", d, T);
    A.du = add("du", d, T);
    A.dv = add("dv", d, T);
    A.dlogits = add("dlogits", C, T);
    A.da = add("da", E, T);
    A.dq = add("dq", E, T);
    A.dp = add("dp", E, T);
    A.dz = add("dz", E, T);
    A.ds = add("ds", noise_rows, T);

    A.slot_begin = A.total;
    for (int l = 0; l < c.layers; ++l) {
        const std::string p = "layer" + std::to_string(l) + ".";
        Layer& L = A.layers[l];
        L.U = add(p + "U", d, slots);
        L.H = add(p + "H", f, slots);
        L.Act = add(p + "Act", f, slots);
        L.Y = add(p + "Y", d, slots);
    }
    A.dY = add("dY", d, slots);
    A.dAct = add("dAct", f, slots);
    A.dU = add("dU", d, slots);
    return A;
}

}  // namespace moescope
