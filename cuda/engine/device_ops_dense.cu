// The dense kernels of device_ops.hpp: thin launches of kernels_dense.hpp's
// per-thread work, one thread per element, row or column.
#include "engine/device_ops.hpp"
#include "engine/kernels_dense.hpp"

namespace moescope::MOESCOPE_ENGINE_NS::ops {

void add_bias(float* out, const float* b, int rows, long cols) {
    parallel_for(
        rows * cols, MS_LAMBDA(long i) { out[i] += b[i % rows]; });
}

void add_expert_bias(float* out, const float* b, const int* slot_expert, int rows, long slots) {
    parallel_for(
        rows * slots, MS_LAMBDA(long i) { out[i] += b[i % rows + long(slot_expert[i / rows]) * rows]; });
}

void bias_gelu(float* H, float* Act, const float* b1, const int* slot_expert, int rows, long slots) {
    parallel_for(
        rows * slots, MS_LAMBDA(long i) {
            const float h = H[i] + b1[i % rows + long(slot_expert[i / rows]) * rows];
            H[i] = h;
            Act[i] = kernels::gelu(h);
        });
}

void gelu_backward(float* dact, const float* H, long n) {
    parallel_for(
        n, MS_LAMBDA(long i) { dact[i] *= kernels::gelu_slope(H[i]); });
}

void row_sum_add(float* out, const float* M, int rows, long cols) {
    parallel_for(
        rows, MS_LAMBDA(long i) {
            float s = 0;
            for (long j = 0; j < cols; ++j) s += M[i + j * rows];
            out[i] += s;
        });
}

void expert_row_sum_add(float* db, const float* dM, const int* offsets, int rows, int E) {
    parallel_for(
        long(rows) * E, MS_LAMBDA(long idx) {
            const long i = idx % rows, e = idx / rows;
            float s = 0;
            for (long j = offsets[e]; j < offsets[e + 1]; ++j) s += dM[i + j * rows];
            db[idx] += s;
        });
}

void rmsnorm_forward(float* out, float* rstd, const float* x, const float* g, int d, long T) {
    parallel_for(
        T, MS_LAMBDA(long t) { kernels::rmsnorm_column(t, out, rstd, x, g, d); });
}

void rmsnorm_backward_add(float* dx, float* dg, const float* dout, const float* x, const float* rstd, const float* g,
                          int d, long T) {
    parallel_for(
        T, MS_LAMBDA(long t) { kernels::rmsnorm_backward_column(t, dx, dout, x, rstd, g, d); });
    parallel_for(
        d, MS_LAMBDA(long i) { kernels::rmsnorm_gain_row(int(i), dg, dout, x, rstd, d, T); });
}

void softmax_columns(float* p, const float* x, int rows, long T, float inv_tau) {
    parallel_for(
        T, MS_LAMBDA(long t) { kernels::softmax_column(t, p, x, rows, inv_tau); });
}

void cross_entropy_forward(float* probs, double* token_loss, int* token_correct, const float* logits, const int* labels,
                           int C, long T) {
    parallel_for(
        T,
        MS_LAMBDA(long t) { kernels::cross_entropy_column(t, probs, token_loss, token_correct, logits, labels, C); });
}

void cross_entropy_backward(float* dlogits, const float* probs, const int* labels, int C, long T) {
    const float inv_T = 1.f / float(T);
    parallel_for(
        C * T, MS_LAMBDA(long i) {
            const long t = i / C;
            dlogits[i] = probs[i] * inv_T - (labels[t] == i % C ? inv_T : 0.f);
        });
}

namespace {

// Partial p of kReducePartials: f(i) for i ≡ p (mod P), in order; then one thread
// combines the partials in order. Adjacent threads read adjacent elements.
template <bool kMax, class F>
void reduce(double* out, long n, double* scratch, F f) {
    const long P = kReducePartials;
    parallel_for(
        P, MS_LAMBDA(long p) {
            double s = kMax ? -INFINITY : 0.0;
            for (long i = p; i < n; i += P) s = kMax ? fmax(s, f(i)) : s + f(i);
            scratch[p] = s;
        });
    parallel_for(
        1, MS_LAMBDA(long) {
            double s = kMax ? -INFINITY : 0.0;
            for (long p = 0; p < P; ++p) s = kMax ? fmax(s, scratch[p]) : s + scratch[p];
            out[0] = s;
        });
}

}  // namespace

void reduce_sum(double* out, const double* x, long n, double* scratch) {
    reduce<false>(
        out, n, scratch, MS_LAMBDA(long i) { return x[i]; });
}
void reduce_max(double* out, const double* x, long n, double* scratch) {
    reduce<true>(
        out, n, scratch, MS_LAMBDA(long i) { return x[i]; });
}
void sum_squares(double* out, const float* x, long n, double* scratch) {
    reduce<false>(
        out, n, scratch, MS_LAMBDA(long i) { return double(x[i]) * x[i]; });
}

void total_loss(float* loss, double* summary, const double* token_loss, const int* token_correct,
                const double* layer_stats, long stride, int L, int E, long T, const RouterWeights& w, double* scratch) {
    reduce<false>(
        summary + 1, T, scratch, MS_LAMBDA(long t) { return token_loss[t]; });
    reduce<false>(
        summary + 2, T, scratch, MS_LAMBDA(long t) { return double(token_correct[t]); });
    parallel_for(
        1, MS_LAMBDA(long) {
            const float ce = float(summary[1] / double(T));
            float terms = 0;
            for (int l = 0; l < L; ++l) {
                const double* s = layer_stats + l * stride;
                // The entropy term is 0 with one expert (nothing to decide), as entropy_reg.
                terms += w.aux * float(s[kStatBalance]) + w.z * float(s[kStatZLoss]) +
                         w.importance * float(s[kStatCv2]) + w.entropy * (E > 1 ? float(s[kStatEntropy]) : 0.f);
            }
            loss[0] = ce + terms / float(L);
            summary[0] = loss[0];
            summary[1] = ce;
        });
}

void fill(float* dst, float value, long n) {
    parallel_for(
        n, MS_LAMBDA(long i) { dst[i] = value; });
}
void fill_int(int* dst, int value, long n) {
    parallel_for(
        n, MS_LAMBDA(long i) { dst[i] = value; });
}

}  // namespace moescope::MOESCOPE_ENGINE_NS::ops
