#pragma once
// What the training thread sends to the window: every step since the last
// frame plus the monitor's and the knobs' news. A value type, carried by a
// queued signal at most ~30 times a second whatever the step rate.
#include <QMetaType>
#include <QString>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "monitor/metrics.hpp"
#include "monitor/monitor.hpp"
#include "monitor/region_grid.hpp"
#include "monitor/token_experts.hpp"
#include "train/config.hpp"
#include "train/trainer.hpp"

// The training points of a 2-D dataset, sent once per run for the expert-region map.
struct RegionPoints {
    Eigen::MatrixXf x;  // 2 × N
    std::vector<int32_t> y;
    int classes = 0;
};

// When the language model writes (TrainingWorker::setSampling; the Samples panel's boxes).
struct SampleSettings {
    int every = 100;  // steps between samples; 0: none
    double temperature = 0.8;
    std::string prompt = "\n";
    int length = 200;  // characters written
};

// Text the language model wrote at a step (lm runs), continuing `prompt`.
struct LmSample {
    long step = 0;
    double temperature = 0;
    std::string prompt, text;
    std::string error;  // why there is no text (e.g. a prompt outside the vocabulary); empty when written
};

struct MetricsFrame {
    std::vector<moescope::StepMetrics> steps;           // in order; may be empty (state change only)
    std::vector<moescope::MonitorEvent> events;         // raised/cleared since the last frame
    std::vector<moescope::Intervention> interventions;  // applied since the last frame
    std::vector<moescope::Warning> active;              // warnings active now
    long steps_done = 0;
    double tokens_per_s = 0;  // over the frame's steps
    double elapsed_s = 0;     // training time of this run (paused time excluded)
    bool running = false;
    bool halted = false;  // stopped by the non-finite guard

    // Branch and compare: the second run's news (its steps match `steps` one for one).
    bool has_branch = false;
    std::vector<moescope::StepMetrics> branch_steps;
    std::vector<moescope::Intervention> branch_interventions;
    std::vector<moescope::Warning> branch_active;
    bool branch_halted = false;

    // Expert regions (2-D datasets, while the map is shown): a new grid at most ~4 times a second.
    std::shared_ptr<const moescope::RegionGrid> region;
    std::shared_ptr<const RegionPoints> region_points;  // first frame of a run
    bool region_unsupported = false;                    // the run's dataset is not 2-D

    // Tokens by expert (text datasets): the characters shown, once per run; their
    // experts (main run) when the step moved, at most ~4 times a second while playing.
    std::shared_ptr<const std::vector<std::string>> token_chars;
    std::shared_ptr<const moescope::TokenExperts> token_experts;
    bool tokens_unsupported = false;  // the run's dataset is not text or lm

    std::vector<LmSample> samples;  // written since the last frame (main run), oldest first
};
Q_DECLARE_METATYPE(MetricsFrame)
Q_DECLARE_METATYPE(moescope::Config)
