#pragma once
// CudaEngine: parameters, gradients, AdamW/SGD moments, the selection bias and
// every activation in device memory. A training step is launches only; what
// comes back is one copy of the step's summary (SummaryLayout, O(L·E + L·C·E)
// numbers) and, once per MoE layer, the E+1 expert offsets that size the
// expert GEMMs on the host.
#include <array>
#include <memory>

#include "engine/backend.hpp"
#include "engine/cuda_engine.hpp"
#include "engine/device_ops.hpp"
#include "engine/workspace.hpp"
#include "nn/model.hpp"

namespace moescope::MOESCOPE_ENGINE_NS {

// How the chosen experts' outputs are weighted (routing.hpp's GateMode).
inline int gate_mode(RoutingPolicyKind kind, int k) {
    if (!router_decides(kind)) return kernels::kGateConstant;
    // Switch (k = 1): the full softmax probability, so the router still gets the task gradient.
    return k == 1 ? kernels::kGateFullSoftmax : kernels::kGateRenormalized;
}

class CudaEngine final : public Engine {
public:
    CudaEngine(const Config& cfg, int d_in, int classes, Rng& rng, const CudaEngineOptions& options);
    ~CudaEngine() override;

    std::string name() const override { return "cuda"; }
    const Config& structure() const override { return cfg_; }
    const ParamLayout& layout() const override { return layout_; }
    int d_in() const override { return d_in_; }
    int classes() const override { return classes_; }
    RoutingPolicyKind policy() const override { return policy_; }

    void load_batch(const HostBatch& batch) override;
    void sample_noise(const Config& knobs, Rng& rng) override;
    bool train_step(const Config& knobs) override;
    const StepSummary& summary() const override { return summary_; }

    EvalCounts evaluate(const HostBatch& batch, const Config& knobs, Rng& rng) override;
    void predictions(const HostBatch& batch, const Config& knobs, Rng& rng, std::vector<float>& probs) override;
    void first_choices(Pass pass, const HostBatch& batch, const Config& knobs, Rng& rng, bool by_probability,
                       FirstChoices& out) override;

    std::vector<float> export_params() const override { return params_.to_host(); }
    void import_params(const std::vector<float>& params) override;
    std::vector<float> export_moment1() const override { return m1_.to_host(); }
    std::vector<float> export_moment2() const override { return m2_.to_host(); }
    long optimizer_steps() const override { return steps_; }
    void import_optimizer(const std::vector<float>& m1, const std::vector<float>& m2, long steps) override;
    std::vector<float> export_selection_bias() const override { return bias_.to_host(); }
    void import_selection_bias(const std::vector<float>& bias) override;

    size_t workspace_bytes() const override { return ws_.bytes(); }
    void set_step_timer(StepTimer* timer) override { timer_ = timer; }

    std::vector<float> gradients() const { return grads_.to_host(); }

private:
    // engine_forward.cpp / engine_backward.cpp
    void forward(DeviceWorkspace& ws, const Config& knobs, bool train);
    void layer_forward(int l, DeviceWorkspace& ws, const Config& knobs, bool train);
    void expert_forward(const DeviceLayer& L, int l);
    void backward(DeviceWorkspace& ws, const Config& knobs);
    void layer_backward(int l, DeviceWorkspace& ws, const Config& knobs);
    void optimizer_step(const Config& knobs);
    // cuda_engine.cpp
    void load(DeviceWorkspace& ws, const HostBatch& batch, const Config& knobs, bool train);
    void draw_noise(DeviceWorkspace& ws, const Config& knobs, Rng& rng, bool train);
    void summarize();
    DeviceWorkspace& pass_workspace(Pass pass);
    const float* param(int tensor) const { return params_.data() + layout_.tensors[tensor].offset; }
    float* grad(int tensor) { return grads_.data() + layout_.tensors[tensor].offset; }

    Config cfg_;
    int d_in_, classes_;
    ParamLayout layout_;
    RoutingPolicyKind policy_;
    CudaEngineOptions options_;
    SummaryLayout summary_layout_;
    Buffer<float> params_, grads_, m1_, m2_, bias_;
    Buffer<double> tensor_sq_;
    Buffer<int> tensor_group_;
    Buffer<kernels::Hyper> hyper_;
    Buffer<float> loss_;
    std::vector<ops::TensorRange> ranges_;
    long steps_ = 0;
    DeviceWorkspace ws_;
    std::array<std::unique_ptr<DeviceWorkspace>, 3> pass_ws_;
    uint64_t noise_key_ = 0;
    // host_noise: the CPU model's own sample_noise fills this workspace, then it is uploaded.
    std::unique_ptr<Model<float>> host_model_;
    std::unique_ptr<Workspace<float>> host_ws_;
    double* summary_host_ = nullptr;  // pinned, SummaryLayout
    StepSummary summary_;
    StepTimer* timer_ = nullptr;
};

}  // namespace moescope::MOESCOPE_ENGINE_NS
