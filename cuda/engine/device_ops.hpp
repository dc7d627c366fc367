#pragma once
// The engine's kernels as launch functions, llm.c style (op_forward(out, in,
// ...), d-prefixed gradients): device pointers in, launched on the default
// stream, nothing comes back. Plain C++ declarations; the definitions
// (device_ops_*.cu) are compiled by nvcc for the GPU and by the host compiler
// for the emulation. Matrices are column-major, one token or slot per column.
#include <cstdint>

#include "engine/kernels_optim.hpp"
#include "engine/kernels_router.hpp"

namespace moescope::MOESCOPE_ENGINE_NS::ops {

// ---------- dense (device_ops_dense.cu) ----------
// out[:, j] += b for each of `cols` columns of a rows × cols matrix.
void add_bias(float* out, const float* b, int rows, long cols);
// out[:, j] += b_{expert(j)}: b holds one rows-long bias per expert.
void add_expert_bias(float* out, const float* b, const int* slot_expert, int rows, long slots);
// H += b1_{expert}; Act = GELU(H).
void bias_gelu(float* H, float* Act, const float* b1, const int* slot_expert, int rows, long slots);
// dH = dAct ⊙ GELU'(H), in place.
void gelu_backward(float* dact, const float* H, long n);
// out[i] += Σ_j M[i, j] over `cols` columns, in column order.
void row_sum_add(float* out, const float* M, int rows, long cols);
// db_e[i] += Σ_{j of expert e} dM[i, j], slots grouped by expert (offsets: E+1).
void expert_row_sum_add(float* db, const float* dM, const int* offsets, int rows, int E);
void rmsnorm_forward(float* out, float* rstd, const float* x, const float* g, int d, long T);
// dx += RMSNorm'(dout); dg += Σ_t dout ⊙ x·rstd.
void rmsnorm_backward_add(float* dx, float* dg, const float* dout, const float* x, const float* rstd, const float* g,
                          int d, long T);
void softmax_columns(float* p, const float* x, int rows, long T, float inv_tau);
// probs = softmax(logits); token_loss[t] = −ln p_y (double); token_correct[t].
void cross_entropy_forward(float* probs, double* token_loss, int* token_correct, const float* logits, const int* labels,
                           int C, long T);
// dlogits = (probs − onehot(y)) / T
void cross_entropy_backward(float* dlogits, const float* probs, const int* labels, int C, long T);
// out[0] = Σ x_i (x in float or double), or max_i x_i: fixed partial sums, then one
// thread (deterministic); scratch holds kReducePartials doubles.
inline constexpr long kReducePartials = 256;
void reduce_sum(double* out, const double* x, long n, double* scratch);
void reduce_max(double* out, const double* x, long n, double* scratch);
// out[0] = Σ x_i², x float.
void sum_squares(double* out, const float* x, long n, double* scratch);
// dst[i] = value
void fill(float* dst, float value, long n);
void fill_int(int* dst, int value, long n);

struct RouterWeights {
    float aux = 0, z = 0, importance = 0, entropy = 0;
};
// loss[0] = ce + Σ_l (weighted router terms)/L in float, like the CPU; summary[0..2] =
// loss, ce, correct tokens; layer_stats: L blocks of `stride` doubles (LayerStat order).
void total_loss(float* loss, double* summary, const double* token_loss, const int* token_correct,
                const double* layer_stats, long stride, int L, int E, long T, const RouterWeights& w, double* scratch);

// ---------- router (device_ops_router.cu) ----------
// a = z (+ ε ⊙ softplus(s) when s) (+ noise_std·ε_jitter when jitter).
void selection_logits(float* a, const float* z, const float* s, const float* eps_noisy, const float* eps_jitter,
                      float noise_std, long n);
// Standard normals number 0..n−1 of stream `key`.
void normals(float* out, uint64_t key, long n);
void random_choices(int* choice, uint64_t key, int E, int k, long T);
void route_topk(int* assign, int* top1, const float* a, const float* bias, int E, int k, long T);
void route_hash(int* assign, int* top1, const int* ids, int E, int k, long T);
void route_given(int* assign, int* top1, const int* choice, int k, long T);
// Capacity, drops and the counting-sort dispatch; counts, dropped: E ints; offsets: E+1.
void dispatch(int* kept, int* counts, int* dropped, int* offsets, int* slot_assign, int* slot_expert, int* assign_slot,
              const int* assign, int E, int k, long T, long capacity);
void gates_forward(float* gate, int mode, const float* q, const float* a, const int* assign, int E, int k, long T,
                   float inv_tau);
// U[:, j] = u[:, token of slot j]
void gather_tokens(float* U, const float* u, const int* slot_assign, int k, int d, long slots);
// out[:, t] = base[:, t] + Σ_kept gate·M[:, slot] (base, gate null: 0, 1).
void combine(float* out, const float* base, const float* M, const float* gate, const int* assign_slot, int k, int d,
             long T);
// dY[:, j] = gate·dh[:, t];  dgate[a] = dh[:, t]·Y[:, j] (0 when dropped).
void expert_output_backward(float* dY, float* dgate, const float* dh, const float* Y, const float* gate,
                            const int* slot_assign, int k, int d, long slots, long A);
void gates_backward(float* da, float* dq, int mode, const float* gate, const float* dgate, const float* q,
                    const int* assign, int E, int k, long T, float inv_tau);
// ds = da ⊙ ε ⊙ sigmoid(s)
void noise_backward(float* ds, const float* da, const float* eps, const float* s, long n);
void router_backward(float* dz, float* dp, const float* da, const float* p, const float* z, const float* lse,
                     const float* f, const float* dI, int E, long T, const kernels::RouterLossGrad& w);

// The layer's router statistics and loss terms into `out` (doubles, LayerStat order),
// and f, importance's gradient dI (weighted by cv2_weight) for the backward.
enum LayerStat {
    kStatEntropy,  // mean_t H(p_t)/ln E: the router_entropy metric and the entropy loss term
    kStatDropped,  // dropped assignments
    kStatMeanAbs,
    kStatMaxAbs,
    kStatBalance,
    kStatZLoss,
    kStatCv2,
    kStatCount
};
struct LayerStatsArgs {
    const float *p, *z;
    const int* counts;   // E
    const int* dropped;  // E
    int E, k;
    long T;
    float cv2_weight;
};
// out: kStatCount doubles, then E counts, then E mean probabilities.
// Scratch: T floats (lse), 3·T doubles, kReducePartials doubles; f, dI: E floats each.
void layer_stats(double* out, float* lse, float* f, float* dI, double* token_scratch, double* scratch,
                 const LayerStatsArgs& a);
// class_expert[label·E + top1] += 1 per token (integer atomics: order cannot matter).
void tally_class_expert(int* class_expert, const int* labels, const int* top1, int E, long T);
// expert[t] = top1 or argmax_e p; prob[t] = p(expert, t).
void first_choices(int* expert, float* prob, const int* top1, const float* p, int E, long T, bool by_probability);

// ---------- optimizer (device_ops_optim.cu) ----------
struct TensorRange {
    long offset, size;
    int group;
    bool decay;
};
// One thread: per-tensor Σg² (tensor_sq, from sum_squares per tensor), group norms into
// norms[0..3] = total, router, experts, rest; ok[0] = loss and total finite; hyper from the knobs.
void finish_norms(double* norms, int* ok, kernels::Hyper* hyper, const double* tensor_sq, const int* tensor_group,
                  int tensors, const float* loss, const kernels::UpdateKnobs& k);
// Counts into bad[0] the elements whose update would not be finite (only when ok[0]).
void update_check(int* bad, const float* p, const float* g, const float* m, const float* v, const TensorRange& r,
                  const kernels::Hyper* hyper, const int* ok, bool adam);
// Writes the update when ok[0] and bad[0] == 0.
void update_write(float* p, const float* g, float* m, float* v, const TensorRange& r, const kernels::Hyper* hyper,
                  const int* ok, const int* bad, bool adam);
// bias_balanced: b_e += rate·sign(1/E − load_e) when ok[0] and bad[0] == 0.
void selection_bias_update(float* bias, const int* counts, int E, long T, int k, double rate, const int* ok,
                           const int* bad);

}  // namespace moescope::MOESCOPE_ENGINE_NS::ops
