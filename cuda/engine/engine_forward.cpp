// CudaEngine's forward pass (core/nn/model.cpp's layer_forward, on the device).
#include "engine/cuda_engine_impl.hpp"

namespace moescope::MOESCOPE_ENGINE_NS {

namespace {

// Column-major product out = op(A)·op(B) (+ beta·out).
void mm(bool ta, bool tb, int m, int n, int k, const float* A, int lda, const float* B, int ldb, float* C, int ldc,
        float beta = 0.f) {
    gemm({ta, tb, m, n, k, A, lda, B, ldb, C, ldc}, 1.f, beta);
}

}  // namespace

void CudaEngine::forward(DeviceWorkspace& ws, const Config& knobs, bool train) {
    const long T = ws.T;
    const int d = cfg_.d_model, C = classes_;
    // h0 = W_in·x + b_in   (d × T)
    mm(false, false, d, int(T), d_in_, param(layout_.W_in), d, ws.x, d_in_, ws.h[0], d);
    ops::add_bias(ws.h[0], param(layout_.b_in), d, T);
    lap(timer_, Phase::DenseFwd);
    ops::fill_int(ws.summary_ints, 0, summary_layout_.ints);
    for (int l = 0; l < cfg_.layers; ++l) layer_forward(l, ws, knobs, train);
    ops::rmsnorm_forward(ws.v, ws.rstd_f, ws.h[cfg_.layers], param(layout_.norm_f), d, T);
    // logits = W_out·v + b_out   (C × T)
    mm(false, false, C, int(T), d, param(layout_.W_out), C, ws.v, d, ws.logits, C);
    ops::add_bias(ws.logits, param(layout_.b_out), C, T);
    ops::cross_entropy_forward(ws.probs, ws.token_loss, ws.token_correct, ws.logits, ws.labels, C, T);
    const ops::RouterWeights w{float(knobs.aux_weight), float(knobs.z_weight), float(knobs.importance_weight),
                               float(knobs.entropy_weight)};
    ops::total_loss(loss_.data(), ws.summary, ws.token_loss, ws.token_correct, ws.summary + summary_layout_.layer(0),
                    summary_layout_.stride, cfg_.layers, cfg_.experts, T, w, ws.scratch);
    lap(timer_, Phase::DenseFwd);
}

void CudaEngine::layer_forward(int l, DeviceWorkspace& ws, const Config& knobs, bool train) {
    const auto& P = layout_.layers[l];
    DeviceLayer& L = ws.layers[l];
    const long T = ws.T;
    const int d = cfg_.d_model, E = cfg_.experts, k = cfg_.top_k;
    const float inv_tau = float(1.0 / knobs.temperature);

    ops::rmsnorm_forward(L.u, L.rstd, ws.h[l], param(P.norm_g), d, T);
    // z = W_r·u   (E × T)
    mm(false, false, E, int(T), d, param(P.router_W), E, L.u, d, L.z, E);
    const bool noisy = P.noise_W >= 0 && train, jitter = train && knobs.noise_std > 0;
    // s = W_noise·u; a = z + ε ⊙ softplus(s) + noise_std·ε_jitter
    if (noisy) mm(false, false, E, int(T), d, param(P.noise_W), E, L.u, d, L.s, E);
    ops::selection_logits(L.a, L.z, noisy ? L.s : nullptr, L.eps_noisy, jitter ? L.eps_jitter : nullptr,
                          float(knobs.noise_std), E * T);
    ops::softmax_columns(L.q, L.a, E, T, inv_tau);
    ops::softmax_columns(L.p, L.z, E, T, inv_tau);

    if (!router_decides(policy_)) {
        if (draws_random_choices(policy_))
            ops::route_given(L.assign, L.top1, L.random_choice, k, T);
        else
            ops::route_hash(L.assign, L.top1, ws.ids, E, k, T);
    } else {
        const float* bias = uses_selection_bias(policy_) ? bias_.data() + size_t(l) * E : nullptr;
        ops::route_topk(L.assign, L.top1, L.a, bias, E, k, T);
    }
    ops::dispatch(L.kept, L.counts, L.dropped, L.offsets, L.slot_assign, L.slot_expert, L.assign_slot, L.assign, E, k,
                  T, knobs.capacity(T));
    // The one host round trip of a layer: E+1 offsets size the expert GEMMs.
    copy_to_host(L.host_offsets.data(), L.offsets, sizeof(int) * (E + 1));
    const int mode = gate_mode(policy_, k);
    ops::gates_forward(L.gate, mode, L.q, L.a, L.assign, E, k, T, inv_tau);
    lap(timer_, Phase::Router);

    const long slots = L.host_offsets[E];
    ops::gather_tokens(L.U, L.u, L.slot_assign, k, d, slots);
    lap(timer_, Phase::Dispatch);
    expert_forward(L, l);
    lap(timer_, Phase::ExpertsFwd);
    // h_{l+1} = h_l + Σ_kept gate·Y   (each token's slots in the CPU's order)
    ops::combine(ws.h[l + 1], ws.h[l], L.Y, L.gate, L.assign_slot, k, d, T);
    lap(timer_, Phase::Combine);

    const ops::LayerStatsArgs args{L.p, L.z, L.counts, L.dropped,
                                   E,   k,   T,        float(knobs.importance_weight / cfg_.layers)};
    ops::layer_stats(ws.summary + summary_layout_.layer(l), L.lse, L.f, L.dI, ws.token_scratch, ws.scratch, args);
    if (train) ops::tally_class_expert(ws.summary_ints + 2 + size_t(l) * classes_ * E, ws.labels, L.top1, E, T);
    lap(timer_, Phase::Router);
}

void CudaEngine::expert_forward(const DeviceLayer& L, int l) {
    const auto& P = layout_.layers[l];
    const int d = cfg_.d_model, f = cfg_.d_ff, E = cfg_.experts;
    const float *W1 = param(P.W1), *W2 = param(P.W2);
    std::vector<Gemm> up(E), down(E);
    for (int e = 0; e < E; ++e) {
        const int off = L.host_offsets[e], n = L.host_offsets[e + 1] - off;
        // H_e = W1_e·U_e   (d_ff × n);  Y_e = W2_e·Act_e   (d × n)
        up[e] = {false, false, f, n, d, W1 + size_t(e) * f * d, f, L.U + size_t(off) * d, d, L.H + size_t(off) * f, f};
        down[e] = {false, false, d, n, f, W2 + size_t(e) * d * f, d, L.Act + size_t(off) * f, f, L.Y + size_t(off) * d,
                   d};
    }
    const long slots = L.host_offsets[E];
    gemm_grouped(up, 1.f, 0.f);
    ops::bias_gelu(L.H, L.Act, param(P.b1), L.slot_expert, f, slots);
    gemm_grouped(down, 1.f, 0.f);
    ops::add_expert_bias(L.Y, param(P.b2), L.slot_expert, d, slots);
}

}  // namespace moescope::MOESCOPE_ENGINE_NS
