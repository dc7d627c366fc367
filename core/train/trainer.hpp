#pragma once
// The trainer: one step = batch → engine step (forward, backward, clip,
// update, summary) → metrics → monitor. It sees the network only through the
// Engine interface (engine/engine.hpp). Knob changes may be requested from any thread; they are
// validated at once, queued, and applied between two steps, each logged as an
// intervention. Everything random comes from one seeded stream, so a config
// and a seed give the same run.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "engine/engine_factory.hpp"
#include "monitor/metrics.hpp"
#include "monitor/monitor.hpp"
#include "nn/rng.hpp"
#include "train/config.hpp"
#include "train/lm_sample.hpp"

namespace moescope {

struct Intervention {
    long step = 0;  // applied before this step number (steps done so far)
    std::string knob, old_value, new_value;
    std::string source;  // user | script | remedy | cli
};

// Everything that decides a run's future steps and metrics, as plain data: a
// Trainer rebuilt from it continues bit-exactly on the CPU. core/snapshot.*
// stores it in a file; the dataset is not stored but regenerated from config.
struct TrainerState {
    Config config;  // with the live knob values of the moment and the lesson script
    // The dataset the config regenerates, checked again when a Trainer is rebuilt.
    int d_in = 0, classes = 0;
    long train_size = 0, test_size = 0, probe_tokens = 0;
    uint64_t dataset_fingerprint = 0;  // hash of every sample and label: catches an edited CSV of the same size
    std::string dataset_summary;
    long steps = 0;
    double elapsed_s = 0;  // wall-clock training time up to `steps` (the window's clock); not set by the Trainer
    bool halted = false;
    std::vector<float> params, moment1, moment2;  // flat, in ParamLayout::build(config, d_in, classes) order
    long optimizer_steps = 0;
    std::vector<float> selection_bias;  // L × E (moved by bias_balanced only)
    Rng::State rng{};
    Monitor monitor;
    DeadExpertTracker::State dead;
    std::vector<std::vector<int32_t>> probe_top1;  // [layer][probe token]; empty before the first probe
    std::vector<Intervention> interventions;
    // The engine that produced it (Engine::name(): "cpu", "cuda"); informational:
    // a state resumes on either engine.
    std::string engine = "cpu";
    // MOESCOPE_GEMM=auto: the sgemm chosen per shape class on the machine that
    // trained it (gemm::tuning_json); a resume on that machine adopts it.
    std::string gemm;
};

class Trainer {
public:
    // Builds the dataset and the engine for `backend` (make_engine). Throws ConfigError / DataError.
    explicit Trainer(const Config& cfg, Backend backend = Backend::Cpu);

    // One optimizer step (applies pending knob changes and scripted changes first).
    // When the loss or gradients are not finite the update is skipped, the
    // parameters keep their last finite values and halted() becomes true.
    const StepMetrics& step();

    // Validates now (throws ConfigError naming the knob and its range) and
    // applies before the next step. Structural knobs are refused: they need a new run.
    // Safe to call from any thread.
    void request_knob(const std::string& name, const std::string& value, const std::string& source = "user");

    double evaluate();  // held-out accuracy of the current parameters; also sets test_bits()
    // Held-out cross-entropy in bits per token (per character for text and lm) at the last evaluate().
    double test_bits() const { return test_bits_; }
    // The language model's text from the current parameters (lm_sample.hpp); a
    // fixed `seed` writes the same text for the same parameters. Call between steps.
    std::string sample_text(const LmSampleOptions& options, uint64_t seed);

    // The full state for a snapshot (trainer_state.cpp). Knob requests not yet
    // applied are not part of it.
    TrainerState export_state() const;
    // A new trainer that continues exactly where `st` left off. Throws DataError
    // when the state does not fit its config or the regenerated dataset differs
    // (a CSV file changed since); nothing else is touched either way.
    static std::unique_ptr<Trainer> from_state(const TrainerState& st, Backend backend = Backend::Cpu);

    const Config& config() const { return cfg_; }
    long steps_done() const { return steps_; }
    const Dataset& dataset() const { return *data_; }
    const Monitor& monitor() const { return monitor_; }
    const std::vector<MonitorEvent>& last_events() const { return events_; }
    const std::vector<Intervention>& interventions() const { return interventions_; }
    const StepMetrics& last_metrics() const { return metrics_; }
    bool halted() const { return halted_; }
    void clear_halt() { halted_ = false; }
    // The engine that holds the network (weights, moments, activations): for the
    // region grid, the bench, and tests that read or plant weights through its
    // export/import; not for use while another thread calls step().
    Engine& engine() { return *engine_; }
    const Engine& engine() const { return *engine_; }
    // One line: which engine runs and why (make_engine).
    const std::string& engine_reason() const { return engine_reason_; }
    // Charges each phase of the following steps to `timer` (null: timing off).
    void set_step_timer(StepTimer* timer);

private:
    // Samples gathered on the host in the layout HostBatch describes.
    struct Staging {
        std::vector<float> x;
        std::vector<int32_t> labels, ids;
        long T = 0;
        // ids_are_tokens (lm): a token's id for hash routing is its character, x's one row
        void gather(const Eigen::MatrixXf& x, const std::vector<int32_t>& y, const int32_t* indices, long count,
                    long id_offset, bool ids_are_tokens);
        HostBatch view() const { return {x.data(), labels.data(), ids.data(), T}; }
    };

    void apply_pending_knobs();
    void apply_knob(const std::string& name, const std::string& value, const std::string& source);
    void collect_metrics(double step_ms);
    void probe_churn();

    Config cfg_;
    std::unique_ptr<Dataset> data_;
    std::unique_ptr<Engine> engine_;
    std::string engine_reason_;
    Staging batch_data_, eval_data_, probe_data_;
    FirstChoices probe_choices_;
    StepTimer* timer_ = nullptr;
    Rng rng_;
    std::vector<int32_t> batch_;
    long steps_ = 0;
    bool halted_ = false;
    bool ids_are_tokens_ = false;
    double test_bits_ = kNaN;
    Monitor monitor_;
    std::vector<MonitorEvent> events_;
    DeadExpertTracker dead_;
    StepMetrics metrics_;
    std::vector<std::vector<int32_t>> probe_top1_;  // per layer, from the last probe
    std::vector<Intervention> interventions_;
    std::mutex pending_mutex_;
    struct PendingKnob {
        std::string knob, value, source;
    };
    std::vector<PendingKnob> pending_;
};

}  // namespace moescope
