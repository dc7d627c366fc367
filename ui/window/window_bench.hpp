#pragma once
// Measurements of what the window costs, for `moescope --bench-window` and
// `moescope --bench-latency` (the performance issue's window targets).
#include <string>
#include <utility>
#include <vector>

#include "monitor/metrics_history.hpp"
#include "train/config.hpp"

// Fills `h` with `steps` synthetic steps for `layers` × `experts`: loads that
// drift and collapse now and then, entropies, losses, interventions every
// 10,000 steps. Deterministic from `seed`.
void fill_synthetic_history(MetricsHistory& h, int layers, int experts, long steps, unsigned long seed = 1);

struct WindowOverhead {
    double headless_steps_per_s = 0;  // median over rounds
    double window_steps_per_s = 0;    // median over rounds, window open and plots updating
    double ratio() const { return headless_steps_per_s > 0 ? window_steps_per_s / headless_steps_per_s : 0; }
};
// Alternates headless runs (Trainer::step in a loop, as moescope-cli does) and
// window runs (MainWindow playing) of `steps` steps each, `rounds` times.
WindowOverhead measure_window_overhead(const moescope::Config& cfg, long steps, int rounds);

struct ReplotLatency {
    double max_frame_ms = 0;  // longest data rebuild + replot of every plot, one frame
    double median_frame_ms = 0;
    std::vector<std::pair<std::string, double>> max_plot_ms;  // longest refresh + replot of each plot
    size_t history_bytes = 0;
    double fill_seconds = 0;
};
// Builds every plot of the window on a synthetic history and times `frames`
// live frames (one new step each, immediate replot).
ReplotLatency measure_replot_latency(int layers, int experts, long steps, int frames);
