#include "plots/plot_grid.hpp"

#include <qcustomplot.h>
#include <QElapsedTimer>
#include <QGridLayout>
#include <algorithm>

#include "monitor/metrics_history.hpp"
#include "plots/load_heatmap.hpp"
#include "plots/load_histogram.hpp"
#include "plots/plot_style.hpp"
#include "plots/region_map.hpp"
#include "plots/specialisation_map.hpp"

PlotGrid::PlotGrid(QWidget* parent) : QWidget(parent) {
    plots_.load = new LoadHistogram;
    plots_.heatmap = new LoadHeatmap;
    plots_.entropy = makeEntropyPlot();
    plots_.loss = makeLossPlot();
    plots_.balance = makeBalancePlot();
    plots_.specialisation = new SpecialisationMap;
    plots_.regions = new RegionMap(this);
    plots_.regions->hide();

    grid_ = new QGridLayout(this);
    grid_->setContentsMargins(4, 4, 4, 4);
    grid_->setSpacing(4);
    layOut();

    for (const auto& named : namedPlots()) {
        QCustomPlot* plot = named.second;
        connect(plot, &QCustomPlot::beforeReplot, plot, [plot] { fit_tick_count(plot); });
    }

    timer_.setInterval(kReplotIntervalMs);
    connect(&timer_, &QTimer::timeout, this, &PlotGrid::tick);
}

std::vector<std::pair<QString, QCustomPlot*>> PlotGrid::namedPlots() const {
    return {{QStringLiteral("expert_load"), plots_.load->customPlot()},
            {QStringLiteral("load_heatmap"), plots_.heatmap->customPlot()},
            {QStringLiteral("entropy"), plots_.entropy->customPlot()},
            {QStringLiteral("loss_accuracy"), plots_.loss->customPlot()},
            {QStringLiteral("balance"), plots_.balance->customPlot()},
            {QStringLiteral("specialisation"), plots_.specialisation->customPlot()}};
}

std::vector<QWidget*> PlotGrid::gridWidgets() const {
    return {plots_.load, plots_.heatmap, plots_.entropy, plots_.loss, plots_.balance, plots_.specialisation};
}

// Two columns in grid order, the hidden plots left out: the others share their room.
void PlotGrid::layOut() {
    for (QWidget* w : gridWidgets()) grid_->removeWidget(w);
    int cell = 0;
    for (QWidget* w : gridWidgets()) {
        const bool hide = std::find(hidden_.begin(), hidden_.end(), w) != hidden_.end();
        w->setVisible(!hide);
        if (hide) continue;
        grid_->addWidget(w, cell / 2, cell % 2);
        ++cell;
    }
    const int rows = (cell + 1) / 2;
    for (int r = 0; r < 3; ++r) grid_->setRowStretch(r, r < rows ? 1 : 0);
    for (int c = 0; c < 2; ++c) grid_->setColumnStretch(c, 1);
}

void PlotGrid::setHidden(std::vector<QWidget*> hidden) {
    if (hidden == hidden_) return;
    hidden_ = std::move(hidden);
    layOut();
    invalidate();
}

void PlotGrid::setHistories(const MetricsHistory* single, const MetricsHistory* timeline) {
    plots_.load->setHistory(single);
    plots_.heatmap->setHistory(single);
    plots_.specialisation->setHistory(single);
    for (TimePlot* p : timePlots()) p->setHistory(timeline);
    invalidate();
}

void PlotGrid::setOverlays(const std::vector<PlotOverlay>& overlays) {
    for (TimePlot* p : timePlots()) p->setOverlays(overlays);
}

void PlotGrid::setLayer(int layer) {
    if (layer < 0) return;
    plots_.load->setLayer(layer);
    plots_.heatmap->setLayer(layer);
    plots_.specialisation->setLayer(layer);
    plots_.regions->setLayer(layer);
    for (TimePlot* p : timePlots()) p->setLayer(layer);
    invalidate();
}

void PlotGrid::setSmoothing(double alpha) {
    for (TimePlot* p : timePlots()) p->setSmoothing(alpha);
    invalidate();
}

void PlotGrid::setLoadWindow(int steps) {
    plots_.load->setWindow(steps);
    invalidate();
}

void PlotGrid::follow(const MetricsHistory* watched) {
    watched_ = watched;
    invalidate();
    watched_ ? timer_.start() : timer_.stop();
}

void PlotGrid::tick() {
    if (!watched_ || watched_->version() == plotted_version_) return;
    plotted_version_ = watched_->version();
    // The previous frame's cost: rebuilding the plots' data, then painting them (queued replots).
    double frame_ms = last_refresh_ms_;
    for (const auto& named : namedPlots()) frame_ms += named.second->replotTime();
    frame_ms += plots_.regions->customPlot()->replotTime();
    max_frame_ms_ = std::max(max_frame_ms_, frame_ms);
    // Plots may take about a tenth of one core: training shares the machine's cores with the window.
    timer_.setInterval(std::clamp(int(frame_ms * kFramesPerCostUnit), kReplotIntervalMs, kMaxReplotIntervalMs));
    refresh();
}

void PlotGrid::refresh() {
    QElapsedTimer t;
    t.start();
    plots_.load->refresh();
    plots_.heatmap->refresh();
    plots_.specialisation->refresh();
    plots_.regions->refresh();
    for (TimePlot* p : timePlots()) p->refresh();
    last_refresh_ms_ = double(t.nsecsElapsed()) / 1e6;
    emit refreshed();
}
