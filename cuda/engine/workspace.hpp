#pragma once
// A batch's activations and scratch in device memory: one float, one int and
// one double block, each a Buffer, with named pointers into them (the device
// counterpart of core/nn/model.hpp's Workspace). Sized once per token count.
#include <cstdint>
#include <vector>

#include "engine/backend.hpp"
#include "train/config.hpp"

namespace moescope::MOESCOPE_ENGINE_NS {

struct DeviceLayer {
    // E × T unless noted; one token per column.
    float *u, *rstd;                          // d × T, T
    float *z, *s, *a, *q, *p, *lse;           // s: noisy_topk only; lse: T
    float *eps_noisy, *eps_jitter;            // standard normals of this step
    float *gate, *f, *dI;                     // T·k; E; E
    float *U, *H, *Act, *Y;                   // dispatched: d, d_ff, d_ff, d × T·k
    int *assign, *top1, *kept, *assign_slot;  // T·k, T, T·k, T·k
    int *slot_assign, *slot_expert;           // T·k
    int *counts, *dropped, *offsets;          // E, E, E+1
    int* random_choice;                       // T·k
    std::vector<int> host_offsets;            // E+1: the per-expert slot ranges, back on the host once per layer
};

// Where each number of a step's summary lives in the block that comes back to
// the host in one copy: doubles, then ints.
struct SummaryLayout {
    static constexpr long kHead = 8;  // loss, ce, correct, norms total, router, experts, rest, (spare)
    long stride = 0, tensor_sq = 0, doubles = 0;
    long ints = 0;  // ok, bad (elements whose update is not finite), then L × classes × E class_expert
    SummaryLayout(const Config& c, int classes, int tensors);
    long layer(int l) const { return kHead + l * stride; }
    long words() const { return doubles + (ints + 1) / 2; }  // doubles to allocate
};

struct DeviceWorkspace {
    long T = 0;
    float *x = nullptr, *v = nullptr, *rstd_f = nullptr, *logits = nullptr, *probs = nullptr;
    std::vector<float*> h;  // L+1 residual streams, d × T
    int *labels = nullptr, *ids = nullptr, *token_correct = nullptr;
    double *token_loss = nullptr, *token_scratch = nullptr, *scratch = nullptr;
    std::vector<DeviceLayer> layers;
    double* summary = nullptr;  // SummaryLayout
    int* summary_ints = nullptr;
    int* fc_expert = nullptr;  // L × T first choices
    float* fc_prob = nullptr;
    // backward scratch
    float *dh = nullptr, *du = nullptr, *dv = nullptr, *dlogits = nullptr;
    float *da = nullptr, *dq = nullptr, *dp = nullptr, *dz = nullptr, *ds = nullptr, *dgate = nullptr;
    float *dY = nullptr, *dAct = nullptr, *dU = nullptr;

    // Sizes every buffer for T tokens (backward scratch only when `train`).
    void resize(long T, const Config& structure, int d_in, int classes, int tensors, bool train);
    size_t bytes() const { return floats_.bytes() + ints_.bytes() + doubles_.bytes(); }

private:
    Buffer<float> floats_;
    Buffer<int> ints_;
    Buffer<double> doubles_;
};

}  // namespace moescope::MOESCOPE_ENGINE_NS
