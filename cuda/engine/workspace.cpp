#include "engine/workspace.hpp"

#include <functional>

#include "engine/device_ops.hpp"
#include "routing/policy_kind.hpp"

namespace moescope::MOESCOPE_ENGINE_NS {

namespace {

// Hands out aligned ranges of one block: first every request is counted, then
// the block is allocated and each named pointer set.
template <class T>
class Arena {
public:
    void add(T*& target, long n) { requests_.push_back({&target, total_}), total_ += (n + 31) / 32 * 32; }
    void allocate(Buffer<T>& block, const std::string& what) {
        block = Buffer<T>(size_t(total_), what);
        block.zero();
        for (const auto& r : requests_) *r.first = block.data() + r.second;
    }

private:
    std::vector<std::pair<T**, long>> requests_;
    long total_ = 0;
};

}  // namespace

SummaryLayout::SummaryLayout(const Config& c, int classes, int tensors) {
    stride = ops::kStatCount + 2L * c.experts;
    tensor_sq = kHead + c.layers * stride;
    doubles = tensor_sq + tensors;
    ints = 2 + long(c.layers) * classes * c.experts;
}

void DeviceWorkspace::resize(long T_, const Config& c, int d_in, int classes, int tensors, bool train) {
    T = T_;
    const long d = c.d_model, f = c.d_ff, E = c.experts, k = c.top_k, A = T * k, C = classes;
    const long noise_rows = has_learned_noise(parse_routing_policy(c.policy)) ? E : 0;
    Arena<float> fl;
    Arena<int> in;
    Arena<double> db;
    fl.add(x, d_in * T);
    h.assign(c.layers + 1, nullptr);
    for (auto& hl : h) fl.add(hl, d * T);
    layers.assign(c.layers, DeviceLayer{});
    for (auto& L : layers) {
        fl.add(L.u, d * T);
        fl.add(L.rstd, T);
        fl.add(L.z, E * T);
        fl.add(L.s, noise_rows * T);
        for (float** m : {&L.a, &L.q, &L.p, &L.eps_noisy, &L.eps_jitter}) fl.add(*m, E * T);
        fl.add(L.lse, T);
        fl.add(L.gate, A);
        fl.add(L.f, E);
        fl.add(L.dI, E);
        fl.add(L.U, d * A);
        fl.add(L.H, f * A);
        fl.add(L.Act, f * A);
        fl.add(L.Y, d * A);
        for (int** m : {&L.assign, &L.kept, &L.assign_slot, &L.slot_assign, &L.slot_expert, &L.random_choice})
            in.add(*m, A);
        in.add(L.top1, T);
        in.add(L.counts, E);
        in.add(L.dropped, E);
        in.add(L.offsets, E + 1);
        L.host_offsets.assign(E + 1, 0);
    }
    fl.add(v, d * T);
    fl.add(rstd_f, T);
    fl.add(logits, C * T);
    fl.add(probs, C * T);
    in.add(labels, T);
    in.add(ids, T);
    in.add(token_correct, T);
    db.add(token_loss, T);
    db.add(token_scratch, 3 * T);
    db.add(scratch, ops::kReducePartials);
    const SummaryLayout sl(c, classes, tensors);
    db.add(summary, sl.words());
    in.add(fc_expert, c.layers * T);
    fl.add(fc_prob, c.layers * T);
    if (train) {
        for (float** m : {&dh, &du, &dv}) fl.add(*m, d * T);
        fl.add(dlogits, C * T);
        for (float** m : {&da, &dq, &dp, &dz}) fl.add(*m, E * T);
        fl.add(ds, noise_rows * T);
        fl.add(dgate, A);
        fl.add(dY, d * A);
        fl.add(dAct, f * A);
        fl.add(dU, d * A);
    }
    fl.allocate(floats_, "the activations of " + std::to_string(T) + " tokens");
    in.allocate(ints_, "the routing of " + std::to_string(T) + " tokens");
    db.allocate(doubles_, "the per-token sums");
    summary_ints = reinterpret_cast<int*>(summary + sl.doubles);
}

}  // namespace moescope::MOESCOPE_ENGINE_NS
