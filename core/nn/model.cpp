#include "nn/model.hpp"

#include <algorithm>
#include <cmath>

#include "error.hpp"
#include "nn/ops.hpp"

namespace moescope {

namespace {

template <class S>
S softplus(S x) {
    return x > S(20) ? x : std::log1p(std::exp(x));
}
template <class S>
S sigmoid(S x) {
    return S(1) / (S(1) + std::exp(-x));
}

}  // namespace

template <class S>
void Workspace<S>::allocate(const Config& c, int d_in, int classes, long slots) {
    d_in_ = d_in;
    classes_ = classes;
    layout = ActivationLayout::build(c, T, slots, d_in, classes);
    activations.resize(layout.total);  // keeps the contents before a growing tail
    auto bind = [&](MatMap<S>& m, int t) {
        const ActivationInfo& ai = layout.tensors[t];
        new (&m) MatMap<S>(activations.data() + ai.offset, ai.rows, ai.cols);
    };
    bind(x, layout.x);
    // Built afresh: assigning to an existing Map would copy values, not rebind it.
    h.clear();
    for (const int t : layout.h) {
        const ActivationInfo& ai = layout.tensors[t];
        h.emplace_back(activations.data() + ai.offset, ai.rows, ai.cols);
    }
    for (size_t l = 0; l < layers.size(); ++l) {
        const ActivationLayout::Layer& L = layout.layers[l];
        LayerCache<S>& lc = layers[l];
        bind(lc.u, L.u);
        bind(lc.z, L.z);
        bind(lc.s, L.s);
        bind(lc.a, L.a);
        bind(lc.q, L.q);
        bind(lc.p, L.p);
        bind(lc.eps_noisy, L.eps_noisy);
        bind(lc.eps_jitter, L.eps_jitter);
        bind(lc.U, L.U);
        bind(lc.H, L.H);
        bind(lc.Act, L.Act);
        bind(lc.Y, L.Y);
    }
    bind(v, layout.v);
    bind(logits, layout.logits);
    bind(probs, layout.probs);
    bind(dh, layout.dh);
    bind(du, layout.du);
    bind(dv, layout.dv);
    bind(dlogits, layout.dlogits);
    bind(da, layout.da);
    bind(dq, layout.dq);
    bind(dp, layout.dp);
    bind(dz, layout.dz);
    bind(ds, layout.ds);
    bind(dY, layout.dY);
    bind(dAct, layout.dAct);
    bind(dU, layout.dU);
}

template <class S>
void Workspace<S>::resize(long T_, int d_in, const Config& c, int classes) {
    T = T_;
    const long E = c.experts;
    // Expert choice may give a token to every expert; token choice gives each k.
    const long max_slots = std::max<long>(
        T * c.top_k, experts_choose(parse_routing_policy(c.policy)) ? E * std::min(T, c.capacity(T)) : 0);
    labels.resize(T);
    ids.resize(T);
    layers.resize(c.layers);
    for (auto& lc : layers) {
        lc.rstd.resize(T);
        lc.lse.resize(T);
        lc.importance.resize(E);
        lc.f.resize(E);
        lc.gate.resize(max_slots);
        lc.random_choice.resize(T * c.top_k);
    }
    if (c.is_lm()) {
        for (auto& lc : layers) {
            lc.rstd_a.resize(T);
            lc.ua.resize(c.d_model, T);
            lc.ya.resize(c.d_model, T);
            lc.mid.resize(c.d_model, T);
        }
        dya.resize(c.d_model, T);
        dua.resize(c.d_model, T);
    }
    rstd_f.resize(T);
    dgate.resize(max_slots);
    allocate(c, d_in, classes, max_slots);
}

template <class S>
size_t Workspace<S>::bytes() const {
    size_t n = activations.size() + rstd_f.size() + dgate.size();
    size_t other = (labels.size() + ids.size()) * sizeof(int32_t);
    n += dya.size() + dua.size();
    for (const auto& c : layers) {
        n += c.rstd.size() + c.lse.size() + c.importance.size() + c.f.size() + c.gate.size();
        n += c.rstd_a.size() + c.ua.size() + c.ya.size() + c.mid.size();
        n += c.attn.q.size() + c.attn.k.size() + c.attn.v.size() + c.attn.o.size();
        for (const auto& P : c.attn.p) n += P.size();
        other += c.random_choice.size() * sizeof(int32_t) + c.routing.bytes();
    }
    return n * sizeof(S) + other;
}

template <class S>
void Workspace<S>::reserve_slots(long slots, const Config& c) {
    if (static_cast<long>(dgate.size()) >= slots) return;
    for (auto& lc : layers) lc.gate.resize(slots);
    dgate.resize(slots);
    allocate(c, d_in_, classes_, slots);
}

template <class S>
Model<S>::Model(const Config& cfg, int d_in, int classes, Rng& rng)
    : cfg_(cfg),
      d_in_(d_in),
      classes_(classes),
      layout_(ParamLayout::build(cfg, d_in, classes)),
      policy_(make_routing_policy<S>(parse_routing_policy(cfg.policy))) {
    params.assign(layout_.total, S(0));
    grads.assign(layout_.total, S(0));
    selection_bias.assign(static_cast<size_t>(cfg.layers) * cfg.experts, S(0));
    auto init_normal = [&](int t, double std) {
        auto m = param(t);
        for (long j = 0; j < m.cols(); ++j)
            for (long i = 0; i < m.rows(); ++i) m(i, j) = S(rng.normal() * std);
    };
    auto init_const = [&](int t, S v) { param(t).setConstant(v); };
    // Fan-in scaled init keeps activations O(1) through the residual stream.
    init_normal(layout_.W_in, 1.0 / std::sqrt(double(d_in)));
    init_normal(layout_.W_out, 1.0 / std::sqrt(double(cfg.d_model)));
    init_const(layout_.norm_f, S(1));
    for (const auto& L : layout_.layers) {
        init_const(L.norm_g, S(1));
        init_normal(L.router_W, cfg.router_init_std);
        if (L.noise_W >= 0) init_const(L.noise_W, S(0));
        init_normal(L.W1, 1.0 / std::sqrt(double(cfg.d_model)));
        init_normal(L.W2, 1.0 / std::sqrt(double(cfg.d_ff) * 2.0 * cfg.layers));
    }
    // The transformer's own tensors draw after every other, so the mlp's draws are unchanged.
    if (layout_.pos >= 0) init_normal(layout_.pos, 0.1);
    for (const auto& L : layout_.layers) {
        if (L.attn_norm < 0) continue;
        init_const(L.attn_norm, S(1));
        for (int t : {L.Wq, L.Wk, L.Wv}) init_normal(t, 1.0 / std::sqrt(double(cfg.d_model)));
        init_normal(L.Wo, 1.0 / std::sqrt(double(cfg.d_model) * 2.0 * cfg.layers));
    }
}

template <class S>
MatMap<S> Model<S>::view(AlignedVector<S>& buf, int t) {
    const auto& ti = layout_.tensors[t];
    return MatMap<S>(buf.data() + ti.offset, ti.rows, ti.cols);
}
template <class S>
CMatMap<S> Model<S>::cview(const AlignedVector<S>& buf, int t) const {
    const auto& ti = layout_.tensors[t];
    return CMatMap<S>(buf.data() + ti.offset, ti.rows, ti.cols);
}

template <class S>
void Model<S>::sample_noise(Workspace<S>& ws, const Config& knobs, Rng& rng, bool train) const {
    for (auto& lc : ws.layers) {
        auto fill = [&](MatMap<S>& m) {
            S* p = m.data();
            for (long i = 0; i < m.size(); ++i) p[i] = S(rng.normal());
        };
        if (train && has_learned_noise(policy_->kind())) fill(lc.eps_noisy);
        if (train && knobs.noise_std > 0) fill(lc.eps_jitter);
        if (draws_random_choices(policy_->kind()))
            for (long t = 0; t < ws.T; ++t) {
                // k distinct experts per token (partial Fisher–Yates over E)
                int32_t* out = lc.random_choice.data() + t * cfg_.top_k;
                for (int j = 0; j < cfg_.top_k; ++j) {
                    int32_t e;
                    bool dup;
                    do {
                        e = static_cast<int32_t>(rng.below(cfg_.experts));
                        dup = std::find(out, out + j, e) != out + j;
                    } while (dup);
                    out[j] = e;
                }
            }
    }
}

// ---------------------------------------------------------------- forward

template <class S>
void Model<S>::gates_forward(LayerCache<S>& c, S inv_tau) const {
    const Routing& r = c.routing;
    const long A = r.assignments();
    switch (r.gate_mode) {
        case GateMode::Constant:
            std::fill(c.gate.begin(), c.gate.begin() + A, S(1) / S(r.k));
            break;
        case GateMode::FullSoftmax:
            for (long a = 0; a < A; ++a) c.gate[a] = c.q(r.assign_expert[a], r.assign_token[a]);
            break;
        case GateMode::Renormalized:
            // g_j = exp(a_j/τ) / Σ_{chosen} exp(a_c/τ)
            for (long t = 0; t < r.T; ++t) {
                const long a0 = t * r.k;
                S m = -std::numeric_limits<S>::infinity();
                for (int j = 0; j < r.k; ++j) m = std::max(m, c.a(r.assign_expert[a0 + j], t));
                S sum = 0;
                for (int j = 0; j < r.k; ++j)
                    sum += c.gate[a0 + j] = std::exp((c.a(r.assign_expert[a0 + j], t) - m) * inv_tau);
                for (int j = 0; j < r.k; ++j) c.gate[a0 + j] /= sum;
            }
            break;
    }
}

template <class S>
AttentionShape Model<S>::attention_shape(long T) const {
    MS_ASSERT(T % cfg_.context == 0, "transformer: a batch must be whole sequences of context tokens");
    return {cfg_.d_model, cfg_.heads, T / cfg_.context, cfg_.context};
}

template <class S>
CMatMap<S> Model<S>::moe_input(int l, const Workspace<S>& ws) const {
    const S* in = cfg_.is_lm() ? ws.layers[size_t(l)].mid.data() : ws.h[size_t(l)].data();
    return CMatMap<S>(in, cfg_.d_model, ws.T);
}

template <class S>
void Model<S>::embed_forward(Workspace<S>& ws) const {
    // h_0[:, t] = E[:, token t] + b + P[:, t mod context]
    const auto E = param(layout_.W_in), P = param(layout_.pos);
    const auto b = param(layout_.b_in).col(0);
    const long n = cfg_.context;
    for (long t = 0; t < ws.T; ++t) {
        const auto token = static_cast<long>(ws.x(0, t));
        MS_ASSERT(token >= 0 && token < classes_, "transformer: a token id outside the vocabulary");
        ws.h[0].col(t) = E.col(token) + b + P.col(t % n);
    }
}

template <class S>
void Model<S>::embed_backward(Workspace<S>& ws) {
    auto dE = grad(layout_.W_in), dP = grad(layout_.pos);
    const long n = cfg_.context;
    for (long t = 0; t < ws.T; ++t) {
        dE.col(static_cast<long>(ws.x(0, t))) += ws.dh.col(t);
        dP.col(t % n) += ws.dh.col(t);
    }
    grad(layout_.b_in).col(0) += ws.dh.rowwise().sum();
}

template <class S>
void Model<S>::attention_block_forward(int l, Workspace<S>& ws) const {
    const auto& L = layout_.layers[size_t(l)];
    LayerCache<S>& c = ws.layers[size_t(l)];
    ops::rmsnorm_forward<S>(c.ua, c.rstd_a, ws.h[size_t(l)], param(L.attn_norm).col(0));
    const AttentionWeights<S> w{param(L.Wq).data(), param(L.Wk).data(), param(L.Wv).data(), param(L.Wo).data()};
    attention_forward<S>(attention_shape(ws.T), w, c.ua, c.attn, c.ya);
    c.mid = ws.h[size_t(l)] + c.ya;
    lap(ws.timer, Phase::DenseFwd);
}

template <class S>
void Model<S>::attention_block_backward(int l, Workspace<S>& ws) {
    // ws.dh holds ∂L/∂mid; mid = h_l + y, so ∂L/∂h_l = ∂L/∂mid + RMSNorm_a'(attention'(∂L/∂mid))
    const auto& L = layout_.layers[size_t(l)];
    LayerCache<S>& c = ws.layers[size_t(l)];
    const AttentionWeights<S> w{param(L.Wq).data(), param(L.Wk).data(), param(L.Wv).data(), param(L.Wo).data()};
    const AttentionGrads<S> g{grad(L.Wq).data(), grad(L.Wk).data(), grad(L.Wv).data(), grad(L.Wo).data()};
    ws.dya = ws.dh;
    attention_backward<S>(attention_shape(ws.T), w, c.ua, c.attn, ws.dya, g, ws.dua);
    ops::rmsnorm_backward_add<S>(ws.dh, grad(L.attn_norm).col(0), ws.dua, ws.h[size_t(l)], c.rstd_a,
                                 param(L.attn_norm).col(0));
    lap(ws.timer, Phase::OtherBwd);
}

template <class S>
void Model<S>::layer_forward(int l, Workspace<S>& ws, const Config& knobs, bool train) const {
    const auto& L = layout_.layers[l];
    LayerCache<S>& c = ws.layers[l];
    const long T = ws.T;
    const int E = cfg_.experts;
    const S inv_tau = S(1.0 / knobs.temperature);

    if (cfg_.is_lm()) attention_block_forward(l, ws);
    const CMatMap<S> moe_in = moe_input(l, ws);
    ops::rmsnorm_forward<S>(c.u, c.rstd, moe_in, param(L.norm_g).col(0));
    // z = W_r·u   (E × T)
    c.z.noalias() = param(L.router_W) * c.u;
    c.a = c.z;
    if (L.noise_W >= 0 && train) {
        // Shazeer et al.: a = z + ε ⊙ softplus(W_noise·u)
        c.s.noalias() = param(L.noise_W) * c.u;
        c.a.array() += c.eps_noisy.array() * c.s.unaryExpr([](S v) { return softplus(v); }).array();
    }
    if (train && knobs.noise_std > 0) c.a += c.eps_jitter * S(knobs.noise_std);
    ops::softmax_columns<S>(c.q, c.a, inv_tau);
    ops::softmax_columns<S>(c.p, c.z, inv_tau);

    RouteInput<S> in;
    in.logits = &c.a;
    in.probs = &c.q;
    in.selection_bias = selection_bias.data() + static_cast<size_t>(l) * E;
    in.token_ids = ws.ids.data();
    in.random_choice = c.random_choice.data();
    in.k = cfg_.top_k;
    in.capacity = knobs.capacity(T);
    policy_->select(in, c.routing);
    gates_forward(c, inv_tau);
    lap(ws.timer, Phase::Router);

    const Routing& r = c.routing;
    const long slots = r.slot_count(), d = cfg_.d_model, f = cfg_.d_ff;
    // Gather each kept assignment's token into its expert's contiguous block.
#pragma omp parallel for schedule(static) if (slots * d > ops::kParallelMin)
    for (long j = 0; j < slots; ++j) c.U.col(j) = c.u.col(r.assign_token[r.slot_assign[j]]);
    lap(ws.timer, Phase::Dispatch);

    auto W1 = param(L.W1), W2 = param(L.W2), b1 = param(L.b1), b2 = param(L.b2);
    // One expert per thread, each GEMM single-threaded: experts own disjoint columns,
    // and threads never wait on each other inside a GEMM (costly on a busy machine).
#pragma omp parallel for schedule(dynamic) if (slots * f > ops::kParallelMin)
    for (int e = 0; e < E; ++e) {
        const long off = r.expert_offset[e], n = r.expert_offset[e + 1] - off;
        if (n == 0) continue;
        // H = W1_e·U_e + b1_e   (d_ff × n);  Act = GELU(H);  Y = W2_e·Act + b2_e   (d_model × n)
        ops::linear_gelu_forward<S>(c.H.middleCols(off, n), c.Act.middleCols(off, n), W1.middleCols(e * d, d),
                                    b1.col(e), c.U.middleCols(off, n));
        ops::linear_forward<S>(c.Y.middleCols(off, n), W2.middleCols(e * f, f), b2.col(e), c.Act.middleCols(off, n));
    }
    lap(ws.timer, Phase::ExpertsFwd);
    // h_{l+1} = h_l + Σ_kept gate·Y   (serial scatter: tokens repeat across experts)
    ws.h[l + 1] = moe_in;
    for (long j = 0; j < slots; ++j) {
        const long a = r.slot_assign[j];
        ws.h[l + 1].col(r.assign_token[a]) += c.gate[a] * c.Y.col(j);
    }
    lap(ws.timer, Phase::Combine);

    // Router loss terms; f_i = C_i/(T·k) is a constant of the routing.
    for (int e = 0; e < E; ++e) c.f(e) = S(r.counts[e] / (double(T) * cfg_.top_k));
    c.balance = ops::balance_loss<S>(c.p, c.f);
    c.zloss = ops::z_loss<S>(c.z, c.lse);
    c.cv2 = ops::importance_cv2<S>(c.p, c.importance);
    c.entropy = ops::entropy_reg<S>(c.p);
    lap(ws.timer, Phase::Router);
}

template <class S>
S Model<S>::forward(Workspace<S>& ws, const Config& knobs, bool train) const {
    MS_ASSERT(ws.x.rows() == d_in_ && ws.x.cols() == ws.T, "workspace input has the wrong shape");
    if (experts_choose(policy_->kind()))
        ws.reserve_slots(long(cfg_.experts) * std::min(ws.T, knobs.capacity(ws.T)), cfg_);
    if (cfg_.is_lm())
        embed_forward(ws);
    else
        ops::linear_forward<S>(ws.h[0], param(layout_.W_in), param(layout_.b_in).col(0), ws.x);
    lap(ws.timer, Phase::DenseFwd);
    for (int l = 0; l < cfg_.layers; ++l) layer_forward(l, ws, knobs, train);
    ops::rmsnorm_forward<S>(ws.v, ws.rstd_f, ws.h[cfg_.layers], param(layout_.norm_f).col(0));
    ops::linear_forward<S>(ws.logits, param(layout_.W_out), param(layout_.b_out).col(0), ws.v);
    ws.ce = ops::cross_entropy_forward<S>(ws.probs, ws.logits, ws.labels.data(), &ws.correct);
    S router_terms = 0;
    for (const auto& c : ws.layers)
        router_terms += S(knobs.aux_weight) * c.balance + S(knobs.z_weight) * c.zloss +
                        S(knobs.importance_weight) * c.cv2 + S(knobs.entropy_weight) * c.entropy;
    // Router terms are averaged over layers so a weight means the same at any depth.
    ws.loss = ws.ce + router_terms / S(cfg_.layers);
    lap(ws.timer, Phase::DenseFwd);
    return ws.loss;
}

// ---------------------------------------------------------------- backward

template <class S>
void Model<S>::gates_backward(LayerCache<S>& c, Workspace<S>& ws, S inv_tau) const {
    const Routing& r = c.routing;
    const long A = r.assignments();
    ws.da.setZero();
    switch (r.gate_mode) {
        case GateMode::Constant:
            break;
        case GateMode::FullSoftmax:
            // g = q_e,t: scatter dg into dq, then through softmax(a/τ)
            ws.dq.setZero();
            for (long a = 0; a < A; ++a) ws.dq(r.assign_expert[a], r.assign_token[a]) += ws.dgate[a];
            ops::softmax_backward_add<S>(ws.da, c.q, ws.dq, inv_tau);
            break;
        case GateMode::Renormalized:
            // softmax over the chosen k:  ∂L/∂a_j = r_j·(dg_j − Σ_c r_c·dg_c)/τ
            for (long t = 0; t < r.T; ++t) {
                const long a0 = t * r.k;
                S dot = 0;
                for (int j = 0; j < r.k; ++j) dot += c.gate[a0 + j] * ws.dgate[a0 + j];
                for (int j = 0; j < r.k; ++j)
                    ws.da(r.assign_expert[a0 + j], t) += c.gate[a0 + j] * (ws.dgate[a0 + j] - dot) * inv_tau;
            }
            break;
    }
}

template <class S>
void Model<S>::layer_backward(int l, Workspace<S>& ws, const Config& knobs) {
    const auto& L = layout_.layers[l];
    LayerCache<S>& c = ws.layers[l];
    const Routing& r = c.routing;
    const long T = ws.T, slots = r.slot_count(), d = cfg_.d_model, f = cfg_.d_ff;
    const int E = cfg_.experts;
    const S inv_tau = S(1.0 / knobs.temperature);
    // ws.dh holds ∂L/∂h_{l+1}; the residual passes it to h_l unchanged.

    // Expert path: dY_j = g·dh_t;  dg = dh_t·Y_j
    std::fill(ws.dgate.begin(), ws.dgate.begin() + r.assignments(), S(0));
#pragma omp parallel for schedule(static) if (slots > 1024)
    for (long j = 0; j < slots; ++j) {
        const long a = r.slot_assign[j], t = r.assign_token[a];
        ws.dY.col(j) = c.gate[a] * ws.dh.col(t);
        ws.dgate[a] = ws.dh.col(t).dot(c.Y.col(j));
    }
    lap(ws.timer, Phase::Dispatch);
    auto W1 = param(L.W1), W2 = param(L.W2);
    auto dW1 = grad(L.W1), dW2 = grad(L.W2), db1 = grad(L.b1), db2 = grad(L.b2);
    // Experts own disjoint gradient blocks, so the parallel loop needs no reduction.
#pragma omp parallel for schedule(dynamic) if (slots * f > ops::kParallelMin)
    for (int e = 0; e < E; ++e) {
        const long off = r.expert_offset[e], n = r.expert_offset[e + 1] - off;
        if (n == 0) continue;
        // dW2 += dY·Actᵀ; db2 += ΣdY; dAct = W2ᵀ·dY   (d_ff × n)
        ops::linear_backward<S>(ws.dAct.middleCols(off, n), dW2.middleCols(e * f, f), db2.col(e),
                                ws.dY.middleCols(off, n), W2.middleCols(e * f, f), c.Act.middleCols(off, n));
        // dH = dAct ⊙ GELU'(H): the forward left the slope in H
        ws.dAct.middleCols(off, n).array() *= c.H.middleCols(off, n).array();
        // dW1 += dH·Uᵀ; db1 += ΣdH; dU = W1ᵀ·dH   (d_model × n)
        ops::linear_backward<S>(ws.dU.middleCols(off, n), dW1.middleCols(e * d, d), db1.col(e),
                                ws.dAct.middleCols(off, n), W1.middleCols(e * d, d), c.U.middleCols(off, n));
    }
    lap(ws.timer, Phase::ExpertsBwd);
    ws.du.setZero();
    for (long j = 0; j < slots; ++j) ws.du.col(r.assign_token[r.slot_assign[j]]) += ws.dU.col(j);
    lap(ws.timer, Phase::Dispatch);

    // Router: gates → selection logits a; a = z (+ noise terms)
    gates_backward(c, ws, inv_tau);
    ws.dz = ws.da;
    if (L.noise_W >= 0) {
        // a = z + ε ⊙ softplus(s):  ∂a/∂s = ε ⊙ sigmoid(s)
        ws.ds = ws.da.cwiseProduct(c.eps_noisy).cwiseProduct(c.s.unaryExpr([](S v) { return sigmoid(v); }));
        grad(L.noise_W).noalias() += ws.ds * c.u.transpose();
        ws.du.noalias() += param(L.noise_W).transpose() * ws.ds;
    }
    const S per_layer = S(1) / S(cfg_.layers);
    ws.dp.setZero();
    ops::balance_loss_backward_add<S>(ws.dp, c.f, T, S(knobs.aux_weight) * per_layer);
    if (knobs.importance_weight != 0)
        ops::importance_cv2_backward_add<S>(ws.dp, c.importance, S(knobs.importance_weight) * per_layer);
    if (knobs.entropy_weight != 0) ops::entropy_reg_backward_add<S>(ws.dp, c.p, S(knobs.entropy_weight) * per_layer);
    ops::softmax_backward_add<S>(ws.dz, c.p, ws.dp, inv_tau);
    if (knobs.z_weight != 0) ops::z_loss_backward_add<S>(ws.dz, c.z, c.lse, S(knobs.z_weight) * per_layer);
    // dW_r += dz·uᵀ;  du += W_rᵀ·dz
    grad(L.router_W).noalias() += ws.dz * c.u.transpose();
    ws.du.noalias() += param(L.router_W).transpose() * ws.dz;

    // Through the norm into the residual stream: dh_l = dh_{l+1} + RMSNorm'(du)
    ops::rmsnorm_backward_add<S>(ws.dh, grad(L.norm_g).col(0), ws.du, moe_input(l, ws), c.rstd, param(L.norm_g).col(0));
    lap(ws.timer, Phase::OtherBwd);
    if (cfg_.is_lm()) attention_block_backward(l, ws);
}

template <class S>
void Model<S>::backward(Workspace<S>& ws, const Config& knobs) {
    std::fill(grads.begin(), grads.end(), S(0));
    ops::cross_entropy_backward<S>(ws.dlogits, ws.probs, ws.labels.data());
    // dW_out += dlogits·vᵀ; dv = W_outᵀ·dlogits
    ops::linear_backward<S>(ws.dv, grad(layout_.W_out), grad(layout_.b_out).col(0), ws.dlogits, param(layout_.W_out),
                            ws.v);
    ws.dh.setZero();
    ops::rmsnorm_backward_add<S>(ws.dh, grad(layout_.norm_f).col(0), ws.dv, ws.h[cfg_.layers], ws.rstd_f,
                                 param(layout_.norm_f).col(0));
    lap(ws.timer, Phase::OtherBwd);
    for (int l = cfg_.layers - 1; l >= 0; --l) layer_backward(l, ws, knobs);
    if (cfg_.is_lm()) {
        embed_backward(ws);
    } else {
        // dW_in += dh·xᵀ; db_in += Σdh
        grad(layout_.W_in).noalias() += ws.dh * ws.x.transpose();
        grad(layout_.b_in).col(0) += ws.dh.rowwise().sum();
    }
    lap(ws.timer, Phase::OtherBwd);
}

template <class S>
void Model<S>::update_selection_bias(const Workspace<S>& ws, double rate) {
    const int E = cfg_.experts;
    for (int l = 0; l < cfg_.layers; ++l) {
        const auto& r = ws.layers[l].routing;
        const double total = double(ws.T) * cfg_.top_k;
        for (int e = 0; e < E; ++e) {
            // underloaded experts (load < 1/E) get a higher bias, overloaded ones a lower one
            const double load = r.counts[e] / total, fair = 1.0 / E;
            const double sign = load < fair ? 1.0 : (load > fair ? -1.0 : 0.0);
            selection_bias[static_cast<size_t>(l) * E + e] += S(rate * sign);
        }
    }
}

template struct Workspace<float>;
template struct Workspace<double>;
template class Model<float>;
template class Model<double>;

}  // namespace moescope
