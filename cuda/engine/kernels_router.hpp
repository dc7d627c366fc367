#pragma once
// Per-thread work of the router (core/routing/routing.cpp and the router half
// of core/nn/model.cpp): selection, capacity and drops, counting-sort
// dispatch, gates, combine, and the router's backward. Routing makes the same
// decisions as the CPU in the same token order: drops are decided by one
// thread per expert scanning the assignments in the CPU's rank-major order.
#include <math.h>
#include <stdint.h>

#include "engine/portable.hpp"
#include "routing/route_select.hpp"

namespace moescope::MOESCOPE_ENGINE_NS::kernels {

inline constexpr int kMaxTopK = 16;  // as core/routing/routing.cpp's per-token arrays

enum GateKind { kGateRenormalized = 0, kGateFullSoftmax = 1, kGateConstant = 2 };

// ---------- counter-based random numbers: a pure function of (key, index) ----------
MS_HD inline uint64_t mix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
MS_HD inline double uniform_at(uint64_t key, uint64_t i) { return double(mix64(key ^ mix64(i)) >> 11) * 0x1.0p-53; }
// Standard normal number i of stream `key` (Box–Muller on two counters).
MS_HD inline float normal_at(uint64_t key, uint64_t i) {
    double u1 = uniform_at(key, 2 * i);
    if (u1 <= 0.0) u1 = 0x1.0p-53;
    const double u2 = uniform_at(key, 2 * i + 1);
    return float(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
// Token t's k distinct experts, each uniform over E (redraws a repeat, as the CPU does).
MS_HD inline void random_choice_token(long t, int* choice, uint64_t key, int E, int k) {
    int* out = choice + t * k;
    uint64_t c = uint64_t(t) << 20;
    for (int j = 0; j < k; ++j) {
        bool dup;
        int e;
        do {
            e = int(mix64(key ^ mix64(c++)) % uint64_t(E));
            dup = false;
            for (int i = 0; i < j; ++i) dup = dup || out[i] == e;
        } while (dup);
        out[j] = e;
    }
}

// ---------- selection: assign[t·k + rank] = expert ----------
// The k largest scores a + bias, ties to the lower expert, as select_topk_by_score.
MS_HD inline void topk_token(long t, int* assign, int* top1, const float* a, const float* bias, int E, int k) {
    int best[kMaxTopK];
    float score[kMaxTopK];
    int n = 0;
    const float* ac = a + t * E;
    for (int e = 0; e < E; ++e) topk_offer(e, ac[e] + (bias ? bias[e] : 0.f), k, n, best, score);
    for (int j = 0; j < k; ++j) assign[t * k + j] = best[j];
    top1[t] = best[0];
}
// Hash routing: the sample id mixed splitmix-style, then k neighbouring experts.
MS_HD inline void hash_token(long t, int* assign, int* top1, const int* ids, int E, int k) {
    const int first = hash_first_expert(ids[t], E);
    for (int j = 0; j < k; ++j) assign[t * k + j] = (first + j) % E;
    top1[t] = first;
}

// ---------- capacity and drops, one thread per expert ----------
// Rank-major order (every first choice before any second choice), as Routing::dispatch.
// kept[a] for the assignments of expert e; counts[e] = C_e before drops; dropped[e].
MS_HD inline void capacity_expert(int e, int* kept, int* counts, int* dropped, const int* assign, long T, int k,
                                  long capacity) {
    long fill = 0, count = 0, drop = 0;
    for (int r = 0; r < k; ++r)
        for (long t = 0; t < T; ++t) {
            const long a = t * k + r;
            if (assign[a] != e) continue;
            ++count;
            const bool keep = capacity <= 0 || fill < capacity;
            kept[a] = keep;
            if (keep)
                ++fill;
            else
                ++drop;
        }
    counts[e] = int(count);
    dropped[e] = int(drop);
}
// One thread: offsets[e+1] = offsets[e] + kept assignments of e (an E-long prefix sum).
MS_HD inline void expert_offsets(int* offsets, const int* counts, const int* dropped, int E) {
    offsets[0] = 0;
    for (int e = 0; e < E; ++e) offsets[e + 1] = offsets[e] + counts[e] - dropped[e];
}
// Counting-sort dispatch, one thread per expert: its kept assignments in order of a.
MS_HD inline void dispatch_expert(int e, int* slot_assign, int* slot_expert, int* assign_slot, const int* kept,
                                  const int* assign, const int* offsets, long A) {
    long j = offsets[e];
    for (long a = 0; a < A; ++a) {
        if (assign[a] != e) continue;
        if (kept[a]) {
            slot_assign[j] = int(a);
            slot_expert[j] = e;
            assign_slot[a] = int(j);
            ++j;
        } else {
            assign_slot[a] = -1;
        }
    }
}

// ---------- gates, one thread per token ----------
MS_HD inline void gates_token(long t, float* gate, int mode, const float* q, const float* a, const int* assign, int E,
                              int k, float inv_tau) {
    float* g = gate + t * k;
    const int* ex = assign + t * k;
    if (mode == kGateConstant) {
        for (int j = 0; j < k; ++j) g[j] = 1.f / float(k);
    } else if (mode == kGateFullSoftmax) {
        for (int j = 0; j < k; ++j) g[j] = q[ex[j] + t * E];
    } else {
        // g_j = exp(a_j/τ) / Σ_chosen exp(a_c/τ)
        float m = -INFINITY;
        for (int j = 0; j < k; ++j) m = fmaxf(m, a[ex[j] + t * E]);
        float sum = 0;
        for (int j = 0; j < k; ++j) sum += g[j] = expf((a[ex[j] + t * E] - m) * inv_tau);
        for (int j = 0; j < k; ++j) g[j] /= sum;
    }
}
// Token t's kept slots in increasing order (the CPU's serial scatter order); returns how many.
MS_HD inline int token_slots(long t, int* slots, int* ranks, const int* assign_slot, int k) {
    int n = 0;
    for (int r = 0; r < k; ++r) {
        const int s = assign_slot[t * k + r];
        if (s < 0) continue;
        int pos = n++;
        while (pos > 0 && slots[pos - 1] > s) {
            slots[pos] = slots[pos - 1];
            ranks[pos] = ranks[pos - 1];
            --pos;
        }
        slots[pos] = s;
        ranks[pos] = r;
    }
    return n;
}
// Element (i, t): out = base + Σ_kept gate·M[:, slot] in slot order (base, gate may be null: 0, 1).
MS_HD inline void combine_element(long idx, float* out, const float* base, const float* M, const float* gate,
                                  const int* assign_slot, int k, int d) {
    const long t = idx / d;
    const int i = int(idx % d);
    int slots[kMaxTopK], ranks[kMaxTopK];
    const int n = token_slots(t, slots, ranks, assign_slot, k);
    float acc = base ? base[idx] : 0.f;
    for (int j = 0; j < n; ++j) acc += (gate ? gate[t * k + ranks[j]] : 1.f) * M[i + long(slots[j]) * d];
    out[idx] = acc;
}

// ---------- backward ----------
// Token t: ∂L/∂a from the gates' gradient dgate (overwrites da's column; dq: E scratch per token).
MS_HD inline void gates_backward_token(long t, float* da, float* dq, int mode, const float* gate, const float* dgate,
                                       const float* q, const int* assign, int E, int k, float inv_tau) {
    float* dac = da + t * E;
    for (int e = 0; e < E; ++e) dac[e] = 0.f;
    const int* ex = assign + t * k;
    if (mode == kGateFullSoftmax) {
        // g = q_e,t: scatter dg into dq, then through softmax(a/τ)
        float* dqc = dq + t * E;
        const float* qc = q + t * E;
        for (int e = 0; e < E; ++e) dqc[e] = 0.f;
        for (int j = 0; j < k; ++j) dqc[ex[j]] += dgate[t * k + j];
        float dot = 0;
        for (int e = 0; e < E; ++e) dot += qc[e] * dqc[e];
        for (int e = 0; e < E; ++e) dac[e] += qc[e] * (dqc[e] - dot) * inv_tau;
    } else if (mode == kGateRenormalized) {
        // softmax over the chosen k:  ∂L/∂a_j = g_j·(dg_j − Σ_c g_c·dg_c)/τ
        const float* g = gate + t * k;
        const float* dg = dgate + t * k;
        float dot = 0;
        for (int j = 0; j < k; ++j) dot += g[j] * dg[j];
        for (int j = 0; j < k; ++j) dac[ex[j]] += g[j] * (dg[j] - dot) * inv_tau;
    }
}

// The router loss terms' weights and per-expert constants for the backward.
struct RouterLossGrad {
    float balance_scale = 0;  // aux_weight/L · E / T, times f_e
    float entropy_scale = 0;  // −entropy_weight/L / (T·ln E)
    float z_scale = 0;        // z_weight/L · 2 / T
    float inv_tau = 1;
};
// Token t: dp from the loss terms, dz = da + softmax'(dp) + z-loss term (as layer_backward).
// f: E routed fractions; dI: E importance-CV² gradient (already weighted); lse of z.
MS_HD inline void router_backward_token(long t, float* dz, float* dp, const float* da, const float* p, const float* z,
                                        const float* lse, const float* f, const float* dI, int E,
                                        const RouterLossGrad& w) {
    const float* pc = p + t * E;
    float* dpc = dp + t * E;
    float dot = 0;
    for (int e = 0; e < E; ++e) {
        float v = f[e] * w.balance_scale + dI[e];
        if (w.entropy_scale != 0.f) v += (logf(fmaxf(pc[e], 1e-30f)) + 1.f) * w.entropy_scale;
        dpc[e] = v;
        dot += pc[e] * v;
    }
    for (int e = 0; e < E; ++e) {
        float v = da[e + t * E] + pc[e] * (dpc[e] - dot) * w.inv_tau;
        if (w.z_scale != 0.f) v += expf(z[e + t * E] - lse[t]) * (w.z_scale * lse[t]);
        dz[e + t * E] = v;
    }
}

}  // namespace moescope::MOESCOPE_ENGINE_NS::kernels
