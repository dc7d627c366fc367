// The router kernels of device_ops.hpp: thin launches of kernels_router.hpp's
// per-thread work (one thread per element, token or expert).
#include "engine/device_ops.hpp"
#include "engine/kernels_dense.hpp"

namespace moescope::MOESCOPE_ENGINE_NS::ops {

void selection_logits(float* a, const float* z, const float* s, const float* eps_noisy, const float* eps_jitter,
                      float noise_std, long n) {
    parallel_for(
        n, MS_LAMBDA(long i) {
            float v = z[i];
            // Shazeer et al.: a = z + ε ⊙ softplus(W_noise·u)
            if (s) v += eps_noisy[i] * kernels::softplus(s[i]);
            if (eps_jitter) v += eps_jitter[i] * noise_std;
            a[i] = v;
        });
}

void normals(float* out, uint64_t key, long n) {
    parallel_for(
        n, MS_LAMBDA(long i) { out[i] = kernels::normal_at(key, uint64_t(i)); });
}

void random_choices(int* choice, uint64_t key, int E, int k, long T) {
    parallel_for(
        T, MS_LAMBDA(long t) { kernels::random_choice_token(t, choice, key, E, k); });
}

void route_topk(int* assign, int* top1, const float* a, const float* bias, int E, int k, long T) {
    parallel_for(
        T, MS_LAMBDA(long t) { kernels::topk_token(t, assign, top1, a, bias, E, k); });
}

void route_hash(int* assign, int* top1, const int* ids, int E, int k, long T) {
    parallel_for(
        T, MS_LAMBDA(long t) { kernels::hash_token(t, assign, top1, ids, E, k); });
}

void route_given(int* assign, int* top1, const int* choice, int k, long T) {
    parallel_for(
        T * k, MS_LAMBDA(long a) {
            assign[a] = choice[a];
            if (a % k == 0) top1[a / k] = choice[a];
        });
}

void dispatch(int* kept, int* counts, int* dropped, int* offsets, int* slot_assign, int* slot_expert, int* assign_slot,
              const int* assign, int E, int k, long T, long capacity) {
    parallel_for(
        E, MS_LAMBDA(long e) { kernels::capacity_expert(int(e), kept, counts, dropped, assign, T, k, capacity); });
    parallel_for(
        1, MS_LAMBDA(long) { kernels::expert_offsets(offsets, counts, dropped, E); });
    parallel_for(
        E, MS_LAMBDA(long e) {
            kernels::dispatch_expert(int(e), slot_assign, slot_expert, assign_slot, kept, assign, offsets, T * k);
        });
}

void gates_forward(float* gate, int mode, const float* q, const float* a, const int* assign, int E, int k, long T,
                   float inv_tau) {
    parallel_for(
        T, MS_LAMBDA(long t) { kernels::gates_token(t, gate, mode, q, a, assign, E, k, inv_tau); });
}

void gather_tokens(float* U, const float* u, const int* slot_assign, int k, int d, long slots) {
    parallel_for(
        d * slots, MS_LAMBDA(long i) { U[i] = u[i % d + long(slot_assign[i / d] / k) * d]; });
}

void combine(float* out, const float* base, const float* M, const float* gate, const int* assign_slot, int k, int d,
             long T) {
    parallel_for(
        d * T, MS_LAMBDA(long i) { kernels::combine_element(i, out, base, M, gate, assign_slot, k, d); });
}

void expert_output_backward(float* dY, float* dgate, const float* dh, const float* Y, const float* gate,
                            const int* slot_assign, int k, int d, long slots, long A) {
    parallel_for(
        A, MS_LAMBDA(long a) { dgate[a] = 0.f; });
    parallel_for(
        d * slots, MS_LAMBDA(long i) {
            const long a = slot_assign[i / d];
            dY[i] = gate[a] * dh[i % d + (a / k) * d];
        });
    parallel_for(
        slots, MS_LAMBDA(long j) {
            const long a = slot_assign[j];
            const float* h = dh + (a / k) * d;
            const float* y = Y + j * d;
            float s = 0;
            for (int i = 0; i < d; ++i) s += h[i] * y[i];
            dgate[a] = s;
        });
}

void gates_backward(float* da, float* dq, int mode, const float* gate, const float* dgate, const float* q,
                    const int* assign, int E, int k, long T, float inv_tau) {
    parallel_for(
        T,
        MS_LAMBDA(long t) { kernels::gates_backward_token(t, da, dq, mode, gate, dgate, q, assign, E, k, inv_tau); });
}

void noise_backward(float* ds, const float* da, const float* eps, const float* s, long n) {
    parallel_for(
        n, MS_LAMBDA(long i) { ds[i] = da[i] * eps[i] * kernels::sigmoid(s[i]); });
}

void router_backward(float* dz, float* dp, const float* da, const float* p, const float* z, const float* lse,
                     const float* f, const float* dI, int E, long T, const kernels::RouterLossGrad& w) {
    parallel_for(
        T, MS_LAMBDA(long t) { kernels::router_backward_token(t, dz, dp, da, p, z, lse, f, dI, E, w); });
}

void layer_stats(double* out, float* lse, float* f, float* dI, double* tok, double* scratch, const LayerStatsArgs& a) {
    const float *p = a.p, *z = a.z;
    const int *counts = a.counts, *dropped = a.dropped;
    const int E = a.E, k = a.k;
    const long T = a.T;
    const float cv2_weight = a.cv2_weight;
    double* ent = tok;
    double* abs_sum = tok + T;
    double* abs_max = tok + 2 * T;
    // Per token: lse of z (z-loss), H(p_t), Σ|z|, max|z|.
    parallel_for(
        T, MS_LAMBDA(long t) {
            const float* zc = z + t * E;
            const float* pc = p + t * E;
            float m = zc[0];
            for (int e = 1; e < E; ++e) m = fmaxf(m, zc[e]);
            float se = 0;
            double h = 0, s = 0, mx = 0;
            for (int e = 0; e < E; ++e) {
                se += expf(zc[e] - m);
                if (pc[e] > 0) h -= double(pc[e]) * log(double(pc[e]));
                s += fabs(double(zc[e]));
                mx = fmax(mx, fabs(double(zc[e])));
            }
            lse[t] = m + logf(se);
            ent[t] = h;
            abs_sum[t] = s;
            abs_max[t] = mx;
        });
    reduce_sum(out + kStatEntropy, ent, T, scratch);
    reduce_sum(out + kStatMeanAbs, abs_sum, T, scratch);
    reduce_max(out + kStatMaxAbs, abs_max, T, scratch);
    // z-loss: mean_t lse_t²
    parallel_for(
        T, MS_LAMBDA(long t) { ent[t] = double(lse[t]) * lse[t]; });
    reduce_sum(out + kStatZLoss, ent, T, scratch);
    // Per expert: importance I_e = Σ_t p_et and mean probability, tokens in order.
    double* counts_out = out + kStatCount;
    double* mean_prob = counts_out + E;
    parallel_for(
        E, MS_LAMBDA(long e) {
            float imp = 0;
            for (long t = 0; t < T; ++t) imp += p[e + t * E];
            dI[e] = imp;
            mean_prob[e] = double(imp) / double(T);
            counts_out[e] = counts[e];
            f[e] = float(double(counts[e]) / (double(T) * k));
        });
    // One thread: finish the terms; dI becomes the weighted CV² gradient.
    parallel_for(
        1, MS_LAMBDA(long) {
            out[kStatEntropy] = E > 1 ? out[kStatEntropy] / (double(T) * log(double(E))) : 1.0;
            out[kStatMeanAbs] /= double(E) * double(T);
            out[kStatZLoss] /= double(T);
            double drop = 0, bal = 0, m = 0;
            for (int e = 0; e < E; ++e) {
                drop += dropped[e];
                bal += double(f[e]) * mean_prob[e];
                m += dI[e];
            }
            out[kStatDropped] = drop;
            out[kStatBalance] = double(E) * bal;
            m /= E;
            double v = 0;
            for (int e = 0; e < E; ++e) v += (dI[e] - m) * (dI[e] - m);
            v /= E;
            out[kStatCv2] = m > 0 ? v / (m * m) : 0.0;
            // ∂(v/m²)/∂I_e = 2(I_e−m)/(E·m²) − 2v/(E·m³)
            for (int e = 0; e < E; ++e)
                dI[e] = m > 0 && cv2_weight != 0.f
                            ? float(((dI[e] - m) * (2.0 / (E * m * m)) - 2.0 * v / (E * m * m * m)) * cv2_weight)
                            : 0.f;
        });
}

void tally_class_expert(int* class_expert, const int* labels, const int* top1, int E, long T) {
    parallel_for(
        T, MS_LAMBDA(long t) { atomic_add(class_expert + long(labels[t]) * E + top1[t], 1); });
}

void first_choices(int* expert, float* prob, const int* top1, const float* p, int E, long T, bool by_probability) {
    parallel_for(
        T, MS_LAMBDA(long t) {
            const float* pc = p + t * E;
            int e = top1[t];
            if (by_probability) {
                e = 0;
                for (int i = 1; i < E; ++i)
                    if (pc[i] > pc[e]) e = i;
            }
            expert[t] = e;
            prob[t] = pc[e];
        });
}

}  // namespace moescope::MOESCOPE_ENGINE_NS::ops
