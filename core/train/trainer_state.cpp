// Export and import of the Trainer's full state (see TrainerState). Bit-exact
// resume needs every value a future step reads: weights and selection bias,
// both Adam moments and their step count, the RNG stream position, the
// dead-expert window, the churn probe's last answer, the monitor's streaks and
// the step counter. Workspaces are scratch, fully rewritten by every step.
#include <string>

#include "error.hpp"
#include "train/trainer.hpp"

#include "hash.hpp"
#include "nn/gemm.hpp"

namespace moescope {

namespace {

// FNV-1a over the raw bytes of the samples and labels (a few MB: about a millisecond).
uint64_t fingerprint(const Dataset& d) {
    uint64_t h = fnv1a(d.x_train.data(), d.x_train.size() * sizeof(float));
    h = fnv1a(d.y_train.data(), d.y_train.size() * sizeof(int32_t), h);
    h = fnv1a(d.x_test.data(), d.x_test.size() * sizeof(float), h);
    return fnv1a(d.y_test.data(), d.y_test.size() * sizeof(int32_t), h);
}

void require(bool ok, const std::string& what) {
    if (!ok) throw DataError("snapshot state does not fit its config: " + what);
}

}  // namespace

TrainerState Trainer::export_state() const {
    TrainerState st;
    st.config = cfg_;
    st.d_in = data_->d_in;
    st.classes = data_->num_classes;
    st.train_size = data_->train_size();
    st.test_size = data_->test_size();
    st.probe_tokens = probe_data_.T;
    st.dataset_fingerprint = fingerprint(*data_);
    st.dataset_summary = data_->summary;
    st.steps = steps_;
    st.halted = halted_;
    st.params = engine_->export_params();
    st.moment1 = engine_->export_moment1();
    st.moment2 = engine_->export_moment2();
    st.optimizer_steps = engine_->optimizer_steps();
    st.selection_bias = engine_->export_selection_bias();
    st.rng = rng_.state();
    st.monitor = monitor_;
    st.dead = dead_.state();
    st.probe_top1 = probe_top1_;
    st.interventions = interventions_;
    st.engine = engine_->name();
    st.gemm = gemm::tuning_json();
    return st;
}

std::unique_ptr<Trainer> Trainer::from_state(const TrainerState& st, Backend backend) {
    gemm::adopt_tuning_json(st.gemm);  // before any product: the kernels of the run it continues
    auto tr = std::make_unique<Trainer>(st.config, backend);
    const Dataset& d = *tr->data_;
    if (d.d_in != st.d_in || d.num_classes != st.classes || d.train_size() != st.train_size ||
        d.test_size() != st.test_size || fingerprint(d) != st.dataset_fingerprint)
        throw DataError("the dataset regenerated from the snapshot's config (" + d.summary +
                        ") differs from the one it was trained on (" + st.dataset_summary + ")");
    const Config& c = st.config;
    const size_t total = static_cast<size_t>(tr->engine_->layout().total);
    require(st.params.size() == total && st.moment1.size() == total && st.moment2.size() == total,
            "parameter or moment count differs from the model's " + std::to_string(total));
    require(st.selection_bias.size() == static_cast<size_t>(c.layers) * c.experts, "selection bias size");
    require(st.probe_tokens == tr->probe_data_.T, "probe batch size");
    require(st.probe_top1.empty() || st.probe_top1.size() == static_cast<size_t>(c.layers), "probe layers");
    for (const auto& layer : st.probe_top1) require(layer.size() == static_cast<size_t>(st.probe_tokens), "probe size");
    require(st.dead.ring.size() == static_cast<size_t>(c.layers) && st.dead.experts == c.experts &&
                st.dead.window == c.dead_window,
            "dead-expert window");
    require(st.steps >= 0 && st.optimizer_steps >= 0, "step counts");

    tr->engine_->import_params(st.params);
    tr->engine_->import_selection_bias(st.selection_bias);
    tr->engine_->import_optimizer(st.moment1, st.moment2, st.optimizer_steps);
    tr->rng_.set_state(st.rng);
    tr->steps_ = st.steps;
    tr->halted_ = st.halted;
    tr->monitor_ = st.monitor;
    tr->dead_.set_state(st.dead);
    tr->probe_top1_ = st.probe_top1;
    tr->interventions_ = st.interventions;
    return tr;
}

}  // namespace moescope
