// CudaEngine's backward pass and update (core/nn/model.cpp's backward and
// core/nn/optimizer.cpp, on the device). The gradients of parameters are
// zeroed once per step and accumulated (beta = 1 products).
#include <cmath>

#include "engine/cuda_engine_impl.hpp"

namespace moescope::MOESCOPE_ENGINE_NS {

namespace {

void mm(bool ta, bool tb, int m, int n, int k, const float* A, int lda, const float* B, int ldb, float* C, int ldc,
        float beta) {
    gemm({ta, tb, m, n, k, A, lda, B, ldb, C, ldc}, 1.f, beta);
}

}  // namespace

void CudaEngine::backward(DeviceWorkspace& ws, const Config& knobs) {
    const long T = ws.T;
    const int d = cfg_.d_model, C = classes_, Ti = int(T);
    grads_.zero();
    ops::cross_entropy_backward(ws.dlogits, ws.probs, ws.labels, C, T);
    // dW_out += dlogits·vᵀ; db_out += Σ dlogits; dv = W_outᵀ·dlogits
    mm(false, true, C, d, Ti, ws.dlogits, C, ws.v, d, grad(layout_.W_out), C, 1.f);
    ops::row_sum_add(grad(layout_.b_out), ws.dlogits, C, T);
    mm(true, false, d, Ti, C, param(layout_.W_out), C, ws.dlogits, C, ws.dv, d, 0.f);
    ops::fill(ws.dh, 0.f, long(d) * T);
    ops::rmsnorm_backward_add(ws.dh, grad(layout_.norm_f), ws.dv, ws.h[cfg_.layers], ws.rstd_f, param(layout_.norm_f),
                              d, T);
    lap(timer_, Phase::OtherBwd);
    for (int l = cfg_.layers - 1; l >= 0; --l) layer_backward(l, ws, knobs);
    // dW_in += dh·xᵀ; db_in += Σ dh
    mm(false, true, d, d_in_, Ti, ws.dh, d, ws.x, d_in_, grad(layout_.W_in), d, 1.f);
    ops::row_sum_add(grad(layout_.b_in), ws.dh, d, T);
    lap(timer_, Phase::OtherBwd);
}

void CudaEngine::layer_backward(int l, DeviceWorkspace& ws, const Config& knobs) {
    const auto& P = layout_.layers[l];
    const DeviceLayer& L = ws.layers[l];
    const long T = ws.T, A = T * cfg_.top_k;
    const int d = cfg_.d_model, f = cfg_.d_ff, E = cfg_.experts, k = cfg_.top_k, Ti = int(T);
    const long slots = L.host_offsets[E];
    const float inv_tau = float(1.0 / knobs.temperature);
    // ws.dh holds ∂L/∂h_{l+1}; the residual passes it to h_l unchanged.

    // Expert path: dY_j = g·dh_t;  dg = dh_t·Y_j
    ops::expert_output_backward(ws.dY, ws.dgate, ws.dh, L.Y, L.gate, L.slot_assign, k, d, slots, A);
    lap(timer_, Phase::Dispatch);
    const float *W1 = param(P.W1), *W2 = param(P.W2);
    float *dW1 = grad(P.W1), *dW2 = grad(P.W2);
    std::vector<Gemm> dw2(E), dact(E), dw1(E), du(E);
    for (int e = 0; e < E; ++e) {
        const int off = L.host_offsets[e], n = L.host_offsets[e + 1] - off;
        const float* dY = ws.dY + size_t(off) * d;
        const float* dH = ws.dAct + size_t(off) * f;
        // dW2_e += dY·Actᵀ (d × d_ff);  dAct = W2_eᵀ·dY (d_ff × n)
        dw2[e] = {false, true, d, f, n, dY, d, L.Act + size_t(off) * f, f, dW2 + size_t(e) * d * f, d};
        dact[e] = {true, false, f, n, d, W2 + size_t(e) * d * f, d, dY, d, ws.dAct + size_t(off) * f, f};
        // dW1_e += dH·Uᵀ (d_ff × d);  dU = W1_eᵀ·dH (d × n)
        dw1[e] = {false, true, f, d, n, dH, f, L.U + size_t(off) * d, d, dW1 + size_t(e) * f * d, f};
        du[e] = {true, false, d, n, f, W1 + size_t(e) * f * d, f, dH, f, ws.dU + size_t(off) * d, d};
    }
    gemm_grouped(dw2, 1.f, 1.f);
    ops::expert_row_sum_add(grad(P.b2), ws.dY, L.offsets, d, E);
    gemm_grouped(dact, 1.f, 0.f);
    ops::gelu_backward(ws.dAct, L.H, long(f) * slots);
    gemm_grouped(dw1, 1.f, 1.f);
    ops::expert_row_sum_add(grad(P.b1), ws.dAct, L.offsets, f, E);
    gemm_grouped(du, 1.f, 0.f);
    lap(timer_, Phase::ExpertsBwd);
    // du_t = Σ of its slots' dU, in slot order
    ops::combine(ws.du, nullptr, ws.dU, nullptr, L.assign_slot, k, d, T);
    lap(timer_, Phase::Dispatch);

    // Router: gates → selection logits a; a = z (+ noise terms)
    ops::gates_backward(ws.da, ws.dq, gate_mode(policy_, k), L.gate, ws.dgate, L.q, L.assign, E, k, T, inv_tau);
    if (P.noise_W >= 0) {
        // a = z + ε ⊙ softplus(s):  ∂a/∂s = ε ⊙ sigmoid(s);  dW_noise += ds·uᵀ;  du += W_noiseᵀ·ds
        ops::noise_backward(ws.ds, ws.da, L.eps_noisy, L.s, long(E) * T);
        mm(false, true, E, d, Ti, ws.ds, E, L.u, d, grad(P.noise_W), E, 1.f);
        mm(true, false, d, Ti, E, param(P.noise_W), E, ws.ds, E, ws.du, d, 1.f);
    }
    const float per_layer = 1.f / float(cfg_.layers);
    kernels::RouterLossGrad w;
    w.balance_scale = float(knobs.aux_weight) * per_layer * float(E) / float(T);
    w.entropy_scale = E > 1 ? -(float(knobs.entropy_weight) * per_layer) / (float(T) * std::log(float(E))) : 0.f;
    w.z_scale = float(knobs.z_weight) * per_layer * 2.f / float(T);
    w.inv_tau = inv_tau;
    ops::router_backward(ws.dz, ws.dp, ws.da, L.p, L.z, L.lse, L.f, L.dI, E, T, w);
    // dW_r += dz·uᵀ;  du += W_rᵀ·dz
    mm(false, true, E, d, Ti, ws.dz, E, L.u, d, grad(P.router_W), E, 1.f);
    mm(true, false, d, Ti, E, param(P.router_W), E, ws.dz, E, ws.du, d, 1.f);
    // Through the norm into the residual stream: dh_l = dh_{l+1} + RMSNorm'(du)
    ops::rmsnorm_backward_add(ws.dh, grad(P.norm_g), ws.du, ws.h[l], L.rstd, param(P.norm_g), d, T);
    lap(timer_, Phase::OtherBwd);
}

void CudaEngine::optimizer_step(const Config& knobs) {
    const int n = int(ranges_.size());
    DeviceWorkspace& ws = ws_;
    // Σg² per tensor, in fixed partial sums (deterministic), before any clipping.
    for (int t = 0; t < n; ++t)
        ops::sum_squares(tensor_sq_.data() + t, grads_.data() + ranges_[t].offset, ranges_[t].size, ws.scratch);
    kernels::UpdateKnobs uk;
    uk.adam = knobs.optimizer == "adamw";
    uk.lr = knobs.lr;
    uk.router_lr = knobs.router_lr;
    uk.weight_decay = knobs.weight_decay;
    uk.grad_clip = knobs.grad_clip;
    uk.router_grad_clip = knobs.router_grad_clip;
    const double t = double(steps_ + 1);
    uk.bc1 = 1.0 - std::pow(0.9, t);
    uk.bc2 = 1.0 - std::pow(0.999, t);
    int* ok = ws.summary_ints;
    ops::finish_norms(ws.summary + 3, ok, hyper_.data(), tensor_sq_.data(), tensor_group_.data(), n, loss_.data(), uk);
    copy_on_device(ws.summary + summary_layout_.tensor_sq, tensor_sq_.data(), tensor_sq_.bytes());
    // A step that would leave a weight or moment non-finite is not taken at all: check, then write.
    for (const auto& r : ranges_)
        ops::update_check(ok + 1, params_.data(), grads_.data(), m1_.data(), m2_.data(), r, hyper_.data(), ok, uk.adam);
    for (const auto& r : ranges_)
        ops::update_write(params_.data(), grads_.data(), m1_.data(), m2_.data(), r, hyper_.data(), ok, ok + 1, uk.adam);
    if (uses_selection_bias(policy_))
        for (int l = 0; l < cfg_.layers; ++l)
            ops::selection_bias_update(bias_.data() + size_t(l) * cfg_.experts, ws.layers[l].counts, cfg_.experts, ws.T,
                                       cfg_.top_k, knobs.bias_update_rate, ok, ok + 1);
}

}  // namespace moescope::MOESCOPE_ENGINE_NS
