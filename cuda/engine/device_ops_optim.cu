// The optimizer kernels of device_ops.hpp: norms, clip, the non-finite guard
// and the fused AdamW/SGD update, one thread per element.
#include "engine/device_ops.hpp"

namespace moescope::MOESCOPE_ENGINE_NS::ops {

void finish_norms(double* norms, int* ok, kernels::Hyper* hyper, const double* tensor_sq, const int* tensor_group,
                  int tensors, const float* loss, const kernels::UpdateKnobs& k) {
    parallel_for(
        1, MS_LAMBDA(long) {
            double group_sq[3] = {0, 0, 0};
            for (int t = 0; t < tensors; ++t) group_sq[tensor_group[t]] += tensor_sq[t];
            const double rest = sqrt(group_sq[0]), router = sqrt(group_sq[1]), experts = sqrt(group_sq[2]);
            const double total = sqrt(group_sq[0] + group_sq[1] + group_sq[2]);
            norms[0] = total;
            norms[1] = router;
            norms[2] = experts;
            norms[3] = rest;
            ok[0] = isfinite(loss[0]) && isfinite(total);
            ok[1] = 0;  // elements whose update is not finite (update_check)
            kernels::hyper_from_norms(hyper, router, experts, rest, k);
        });
}

void update_check(int* bad, const float* p, const float* g, const float* m, const float* v, const TensorRange& r,
                  const kernels::Hyper* hyper, const int* ok, bool adam) {
    const long off = r.offset;
    const int group = r.group;
    const bool decay = r.decay;
    parallel_for(
        r.size, MS_LAMBDA(long j) {
            if (!ok[0]) return;
            const long i = off + j;
            float po, mo, vo;
            kernels::update_element(adam, decay, p[i], g[i], m[i], v[i], hyper[group], po, mo, vo);
            if (!(isfinite(po) && isfinite(mo) && isfinite(vo))) atomic_add(bad, 1);
        });
}

void update_write(float* p, const float* g, float* m, float* v, const TensorRange& r, const kernels::Hyper* hyper,
                  const int* ok, const int* bad, bool adam) {
    const long off = r.offset;
    const int group = r.group;
    const bool decay = r.decay;
    parallel_for(
        r.size, MS_LAMBDA(long j) {
            if (!ok[0] || bad[0] != 0) return;
            const long i = off + j;
            kernels::update_element(adam, decay, p[i], g[i], m[i], v[i], hyper[group], p[i], m[i], v[i]);
        });
}

void selection_bias_update(float* bias, const int* counts, int E, long T, int k, double rate, const int* ok,
                           const int* bad) {
    parallel_for(
        E, MS_LAMBDA(long e) {
            if (!ok[0] || bad[0] != 0) return;
            // underloaded experts (load < 1/E) get a higher bias, overloaded ones a lower one
            const double load = counts[e] / (double(T) * k), fair = 1.0 / E;
            const double sign = load < fair ? 1.0 : (load > fair ? -1.0 : 0.0);
            bias[e] += float(rate * sign);
        });
}

}  // namespace moescope::MOESCOPE_ENGINE_NS::ops
