#pragma once
// Measurements of what the window costs, for `moescope --bench-window`,
// `moescope --bench-latency` (the performance issue's window targets) and
// `moescope --bench-watch` (watching a real job's log, docs/integrations.md).
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

struct WatchThroughput {
    long records = 0;                   // lines written: one layer of one step each
    double write_s = 0;                 // the writer's time to append them all
    double records_per_s = 0;           // records / (first write → last step in the plots)
    double median_lag_ms = 0;           // write of a step → the plot refresh that first shows it, per refresh
    double max_lag_ms = 0;              //   (the oldest step new in each refresh)
    double max_replot_interval_ms = 0;  // the plots' frame period (it adapts to their cost)
    double median_replot_interval_ms = 0;
    bool complete = false;  // every step reached the plots before the time limit
};
// Appends `steps` × `layers` records of `experts` counts to a router log
// (flushing after each step, as a logger does) while the window watches it, and
// times what reaches the plots: as fast as one thread can write (pace 0), or at
// `pace` records per second.
WatchThroughput measure_watch_throughput(long steps, int layers, int experts, double pace = 0);
