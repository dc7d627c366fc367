#pragma once
// The reference engine: Model<float>, the fused AdamW/SGD Optimizer and one
// Workspace per pass (training step, evaluation, probe, region grid), all in
// host memory. Within a step one expert runs per OpenMP thread; small steps
// run on one thread (nn/threads.hpp).
#include <memory>

#include "engine/engine.hpp"
#include "nn/model.hpp"

namespace moescope {

class CpuEngine final : public Engine {
public:
    // Initialises the parameters from `rng` (structural fields of cfg only).
    CpuEngine(const Config& cfg, int d_in, int classes, Rng& rng);

    std::string name() const override { return "cpu"; }
    const Config& structure() const override { return model_.structure(); }
    const ParamLayout& layout() const override { return model_.layout(); }
    int d_in() const override { return model_.d_in(); }
    int classes() const override { return model_.classes(); }
    RoutingPolicyKind policy() const override { return model_.policy(); }

    void load_batch(const HostBatch& batch) override;
    void sample_noise(const Config& knobs, Rng& rng) override;
    bool train_step(const Config& knobs) override;
    const StepSummary& summary() const override { return summary_; }

    EvalCounts evaluate(const HostBatch& batch, const Config& knobs, Rng& rng) override;
    void predictions(const HostBatch& batch, const Config& knobs, Rng& rng, std::vector<float>& probs) override;
    void first_choices(Pass pass, const HostBatch& batch, const Config& knobs, Rng& rng, bool by_probability,
                       FirstChoices& out) override;

    std::vector<float> export_params() const override;
    void import_params(const std::vector<float>& params) override;
    std::vector<float> export_moment1() const override { return optimizer_.first_moment(); }
    std::vector<float> export_moment2() const override { return optimizer_.second_moment(); }
    long optimizer_steps() const override { return optimizer_.steps(); }
    void import_optimizer(const std::vector<float>& m1, const std::vector<float>& m2, long steps) override;
    std::vector<float> export_selection_bias() const override { return model_.selection_bias; }
    void import_selection_bias(const std::vector<float>& bias) override;

    size_t workspace_bytes() const override { return ws_.bytes(); }
    void set_step_timer(StepTimer* timer) override;

    // CPU only, for tests: the model (read-only) and a forward-only pass's buffers.
    const Model<float>& model() const { return model_; }
    const Workspace<float>& pass_workspace(Pass pass) const;

private:
    // Copies `batch` into `ws`, resizing it first when T differs.
    void load(Workspace<float>& ws, const HostBatch& batch, const Config& knobs);
    // The held-out forward of evaluate and predictions, into eval_ws_ (no training noise).
    void eval_forward(const HostBatch& batch, const Config& knobs, Rng& rng);
    void summarize(const GradNorms& norms, bool finite);
    // One thread for a small step, every core for a large one (nn/threads.hpp).
    void threads_for_step() const;
    Workspace<float>& workspace(Pass pass);

    Model<float> model_;
    Optimizer optimizer_;
    Workspace<float> ws_, eval_ws_, probe_ws_, region_ws_;
    StepTimer* timer_ = nullptr;
    StepSummary summary_;
};

}  // namespace moescope
