#pragma once
// What the training thread sends to the window: every step since the last
// frame plus the monitor's and the knobs' news. A value type, carried by a
// queued signal at most ~30 times a second whatever the step rate.
#include <QMetaType>
#include <QString>
#include <vector>

#include "config.hpp"
#include "metrics.hpp"
#include "monitor.hpp"
#include "trainer.hpp"

struct MetricsFrame {
    std::vector<moescope::StepMetrics> steps;               // in order; may be empty (state change only)
    std::vector<moescope::MonitorEvent> events;             // raised/cleared since the last frame
    std::vector<moescope::Intervention> interventions;      // applied since the last frame
    std::vector<moescope::Warning> active;                  // warnings active now
    long steps_done = 0;
    double tokens_per_s = 0;  // over the frame's steps
    double elapsed_s = 0;     // training time of this run (paused time excluded)
    bool running = false;
    bool halted = false;      // stopped by the non-finite guard
};
Q_DECLARE_METATYPE(MetricsFrame)
Q_DECLARE_METATYPE(moescope::Config)
