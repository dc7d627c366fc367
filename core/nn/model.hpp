#pragma once
// The MoE network of docs/architecture.md "The model": h0 = W_in·x + b_in; L residual blocks
// h ← h + MoE(RMSNorm(h)); logits = W_out·RMSNorm(h); cross-entropy, plus the
// router loss terms. Parameters live in one flat buffer (params.hpp); all
// activations of a batch live in a Workspace, sized once and reused, so the
// model itself is read-only during forward and one model can serve a training
// and an evaluation workspace. A Workspace's matrices are Eigen views into one
// buffer laid out by ActivationLayout (activations.hpp).
#include <cstdint>
#include <memory>
#include <vector>

#include "nn/activations.hpp"
#include "nn/attention.hpp"
#include "nn/params.hpp"
#include "nn/rng.hpp"
#include "nn/tensor.hpp"
#include "routing/routing.hpp"
#include "train/config.hpp"
#include "train/step_timer.hpp"

namespace moescope {

template <class S>
struct LayerCache {
    Vec<S> rstd;                 // T: 1/rms of h per token
    MatMap<S> u{nullptr, 0, 0};  // d × T: RMSNorm(h), the MoE block's input
    MatMap<S> z{nullptr, 0, 0};  // E × T: router logits W_r·u
    MatMap<S> s{nullptr, 0, 0};  // E × T: noise pre-activation W_noise·u (noisy_topk)
    MatMap<S> a{nullptr, 0, 0};  // E × T: selection logits z + noise
    MatMap<S> q{nullptr, 0, 0};  // E × T: softmax(a/τ), what gates are made of
    MatMap<S> p{nullptr, 0, 0};  // E × T: softmax(z/τ), clean router probabilities
    Vec<S> lse, importance, f;   // T, E, E
    Routing routing;
    std::vector<S> gate;  // per assignment
    // dispatched tokens: d × slots, d_ff × slots, d_ff × slots, d × slots; after the
    // forward H holds GELU'(W1·U + b1), all the backward needs of it (ops::linear_gelu_forward)
    MatMap<S> U{nullptr, 0, 0}, H{nullptr, 0, 0}, Act{nullptr, 0, 0}, Y{nullptr, 0, 0};
    MatMap<S> eps_noisy{nullptr, 0, 0}, eps_jitter{nullptr, 0, 0};  // E × T standard normals
    std::vector<int32_t> random_choice;                             // k × T
    S balance = 0, zloss = 0, cv2 = 0, entropy = 0;
    // model transformer: the attention sub-block that runs before the MoE one
    Vec<S> rstd_a;       // T: 1/rms of h per token
    Mat<S> ua, ya, mid;  // d × T: RMSNorm_a(h), attention(ua), h + ya (the MoE block's input)
    AttentionCache<S> attn;
};

// The matrices are views into `activations` (one block, ActivationLayout), so a
// Workspace is neither copied nor moved: a copy's views would point into the original.
template <class S>
struct Workspace {
    Workspace() = default;
    Workspace(const Workspace&) = delete;
    Workspace& operator=(const Workspace&) = delete;

    long T = 0;
    MatMap<S> x{nullptr, 0, 0};   // d_in × T inputs
    std::vector<int32_t> labels;  // T
    std::vector<int32_t> ids;     // T sample ids (hash routing)
    std::vector<MatMap<S>> h;     // L+1 residual streams, d × T
    std::vector<LayerCache<S>> layers;
    Vec<S> rstd_f;
    MatMap<S> v{nullptr, 0, 0}, logits{nullptr, 0, 0}, probs{nullptr, 0, 0};  // d × T, C × T, C × T
    S ce = 0, loss = 0;
    long correct = 0;
    // backward scratch: d × T (dh, du, dv), C × T (dlogits), E × T (da … ds), per slot (dY, dAct, dU)
    MatMap<S> dh{nullptr, 0, 0}, du{nullptr, 0, 0}, dv{nullptr, 0, 0}, dlogits{nullptr, 0, 0};
    MatMap<S> da{nullptr, 0, 0}, dq{nullptr, 0, 0}, dp{nullptr, 0, 0}, dz{nullptr, 0, 0}, ds{nullptr, 0, 0};
    MatMap<S> dY{nullptr, 0, 0}, dAct{nullptr, 0, 0}, dU{nullptr, 0, 0};
    std::vector<S> dgate;
    Mat<S> dya, dua;             // transformer: d × T, ∂L/∂(attention output) and ∂L/∂(its input)
    StepTimer* timer = nullptr;  // phase breakdown of forward/backward when set

    ActivationLayout layout;       // where each matrix above lives in `activations`
    AlignedVector<S> activations;  // one block: every MatMap above is a view into it

    void resize(long T, int d_in, const Config& structure, int classes);
    // Grows the per-assignment buffers to hold `slots` (expert choice: a live
    // capacity_factor change can raise E·capacity above what resize() allowed).
    // Slot-sized matrices are last in the layout, so the others keep their contents.
    void reserve_slots(long slots, const Config& structure);
    // Bytes held by the activation and scratch buffers above.
    size_t bytes() const;

private:
    void allocate(const Config& structure, int d_in, int classes, long slots);
    int d_in_ = 0, classes_ = 0;
};

template <class S>
class Model {
public:
    // Initialises parameters from `rng` (structural fields of cfg only).
    Model(const Config& cfg, int d_in, int classes, Rng& rng);

    const Config& structure() const { return cfg_; }
    const ParamLayout& layout() const { return layout_; }
    int d_in() const { return d_in_; }
    int classes() const { return classes_; }
    RoutingPolicyKind policy() const { return policy_->kind(); }

    AlignedVector<S> params, grads;
    std::vector<S> selection_bias;  // L × E, bias_balanced only; not trained by gradients

    MatMap<S> param(int tensor) { return view(params, tensor); }
    CMatMap<S> param(int tensor) const { return cview(params, tensor); }
    MatMap<S> grad(int tensor) { return view(grads, tensor); }

    // Draws this step's noise (logit jitter, noisy_topk noise, random routing) into ws.
    void sample_noise(Workspace<S>& ws, const Config& knobs, Rng& rng, bool train) const;
    // Runs the network on ws.x/labels/ids; returns the total loss (also ws.loss).
    S forward(Workspace<S>& ws, const Config& knobs, bool train) const;
    // Gradients of ws.loss into `grads` (overwritten).
    void backward(Workspace<S>& ws, const Config& knobs);
    // bias_balanced: b_i += γ·sign(mean load − load_i) from the last training forward.
    void update_selection_bias(const Workspace<S>& ws, double rate);

private:
    MatMap<S> view(AlignedVector<S>& buf, int tensor);
    CMatMap<S> cview(const AlignedVector<S>& buf, int tensor) const;
    void layer_forward(int l, Workspace<S>& ws, const Config& knobs, bool train) const;
    void layer_backward(int l, Workspace<S>& ws, const Config& knobs);
    void gates_forward(LayerCache<S>& c, S inv_tau) const;
    // transformer: token + position embedding into h_0, and its gradient
    void embed_forward(Workspace<S>& ws) const;
    void embed_backward(Workspace<S>& ws);
    // transformer: mid = h_l + attention(RMSNorm_a(h_l)), and back from ∂L/∂mid (in ws.dh) to ∂L/∂h_l
    void attention_block_forward(int l, Workspace<S>& ws) const;
    void attention_block_backward(int l, Workspace<S>& ws);
    AttentionShape attention_shape(long T) const;
    // What the MoE block of layer l reads: h_l, or the transformer's mid
    CMatMap<S> moe_input(int l, const Workspace<S>& ws) const;
    void gates_backward(LayerCache<S>& c, Workspace<S>& ws, S inv_tau) const;

    Config cfg_;
    int d_in_, classes_;
    ParamLayout layout_;
    std::unique_ptr<RoutingPolicy<S>> policy_;
};

extern template class Model<float>;
extern template class Model<double>;

}  // namespace moescope
