#pragma once
// The window's plots, built, named and laid out once for the main window and
// the window benchmark: load per expert and load over time, entropy and loss,
// balance and specialisation in a 2 × 3 grid (a watched job's router losses take
// the loss plot's place when the window says so). The expert-region map is built
// here too but laid out by the owner (a dock in the window: it only applies to
// 2-D datasets). Live refreshes run on a timer that backs off when plots are
// heavy, so drawing never takes more than about a tenth of a core.
#include <QString>
#include <QTimer>
#include <QWidget>
#include <utility>
#include <vector>

#include "plots/time_plot.hpp"

class QCustomPlot;
class QGridLayout;
class LoadHistogram;
class LoadHeatmap;
class SpecialisationMap;
class RegionMap;
class MetricsHistory;

struct Plots {
    LoadHistogram* load = nullptr;
    LoadHeatmap* heatmap = nullptr;
    TimePlot* entropy = nullptr;
    TimePlot* loss = nullptr;
    TimePlot* router_loss = nullptr;  // a watched job's own aux and z-loss, in the loss plot's place
    TimePlot* balance = nullptr;
    SpecialisationMap* specialisation = nullptr;
    RegionMap* regions = nullptr;  // not in the grid
};

class PlotGrid : public QWidget {
    Q_OBJECT
public:
    static constexpr int kReplotIntervalMs = 33;      // ≤ 30 Hz
    static constexpr int kMaxReplotIntervalMs = 250;  // ≥ 4 Hz however heavy the plots
    static constexpr double kFramesPerCostUnit = 10;  // interval = 10 × frame cost: plots use ≤ 10 % of a core

    explicit PlotGrid(QWidget* parent = nullptr);

    const Plots& plots() const { return plots_; }
    std::vector<TimePlot*> timePlots() const { return {plots_.entropy, plots_.loss, plots_.balance}; }
    // The grid's plots with the file stem each is exported as, in grid order; the router
    // losses (after the loss plot) only while they are shown.
    std::vector<std::pair<QString, QCustomPlot*>> namedPlots() const;

    // Per-expert plots (load, heat map, specialisation) show `single`; the time
    // plots show `timeline`, other runs being overlays on them.
    void setHistories(const MetricsHistory* single, const MetricsHistory* timeline);
    void setOverlays(const std::vector<PlotOverlay>& overlays);
    void setLayer(int layer);
    void setSmoothing(double alpha);
    void resetViews();  // every time plot back to following the data (a new run)
    void setLoadWindow(int steps);
    // Plots left out of the grid (classroom mode's focus, what a watched job does not log);
    // the others close up in two columns. A hidden time plot is not refreshed until shown.
    // Built hidden: the router losses (a watched job's).
    void setHidden(std::vector<QWidget*> hidden);
    const std::vector<QWidget*>& hiddenPlots() const { return hidden_; }

    // Refreshes every plot on the timer whenever `watched` changed (nullptr: stop).
    void follow(const MetricsHistory* watched);
    void invalidate() { plotted_version_ = 0; }  // the next tick refreshes even without new data
    // Rebuilds the plots' data where it changed and queues their replots.
    void refresh();
    double maxFrameMs() const { return max_frame_ms_; }  // longest data rebuild + paint seen
    int replotIntervalMs() const { return timer_.interval(); }

signals:
    void refreshed();  // the plots' data was rebuilt and their replots queued

private:
    void tick();
    std::vector<QWidget*> gridWidgets() const;
    std::vector<TimePlot*> allTimePlots() const;  // timePlots() and the router losses
    void layOut();

    Plots plots_;
    QGridLayout* grid_ = nullptr;
    std::vector<QWidget*> hidden_;  // set in the constructor
    QTimer timer_;
    const MetricsHistory* watched_ = nullptr;
    unsigned long plotted_version_ = 0;
    double max_frame_ms_ = 0;
    double last_refresh_ms_ = 0;
};
