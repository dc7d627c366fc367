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
    plots_.router_loss = makeRouterLossPlot();
    plots_.balance = makeBalancePlot();
    plots_.specialisation = new SpecialisationMap;
    plots_.regions = new RegionMap(this);
    plots_.regions->hide();

    grid_ = new QGridLayout(this);
    grid_->setContentsMargins(4, 4, 4, 4);
    grid_->setSpacing(4);
    hidden_ = {plots_.router_loss};
    layOut();

    std::vector<QCustomPlot*> all = {plots_.router_loss->customPlot()};
    for (const auto& named : namedPlots()) all.push_back(named.second);
    for (QCustomPlot* plot : all) {
        connect(plot, &QCustomPlot::beforeReplot, plot, [plot] { fit_tick_count(plot); });
    }

    timer_.setInterval(kReplotIntervalMs);
    connect(&timer_, &QTimer::timeout, this, &PlotGrid::tick);
}

std::vector<std::pair<QString, QCustomPlot*>> PlotGrid::namedPlots() const {
    std::vector<std::pair<QString, QCustomPlot*>> named = {
        {QStringLiteral("expert_load"), plots_.load->customPlot()},
        {QStringLiteral("load_heatmap"), plots_.heatmap->customPlot()},
        {QStringLiteral("entropy"), plots_.entropy->customPlot()},
        {QStringLiteral("loss_accuracy"), plots_.loss->customPlot()},
        {QStringLiteral("balance"), plots_.balance->customPlot()},
        {QStringLiteral("specialisation"), plots_.specialisation->customPlot()}};
    if (!plots_.router_loss->isHidden())
        named.insert(named.begin() + 4, {QStringLiteral("router_losses"), plots_.router_loss->customPlot()});
    return named;
}

std::vector<QWidget*> PlotGrid::gridWidgets() const {
    return {plots_.load,        plots_.heatmap, plots_.entropy,       plots_.loss,
            plots_.router_loss, plots_.balance, plots_.specialisation};
}

std::vector<TimePlot*> PlotGrid::allTimePlots() const {
    return {plots_.entropy, plots_.loss, plots_.router_loss, plots_.balance};
}

// Two columns in grid order, the hidden plots left out: the others share their room,
// an odd one out at the end spanning both columns (no empty cell beside it).
void PlotGrid::layOut() {
    for (QWidget* w : gridWidgets()) grid_->removeWidget(w);
    std::vector<QWidget*> shown;
    for (QWidget* w : gridWidgets()) {
        const bool hide = std::find(hidden_.begin(), hidden_.end(), w) != hidden_.end();
        w->setVisible(!hide);
        if (!hide) shown.push_back(w);
    }
    const int cell = int(shown.size());
    for (int i = 0; i < cell; ++i)
        grid_->addWidget(shown[size_t(i)], i / 2, i % 2, 1, i + 1 == cell && cell % 2 == 1 ? 2 : 1);
    const int rows = (cell + 1) / 2;
    for (int r = 0; r < 4; ++r) grid_->setRowStretch(r, r < rows ? 1 : 0);
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
    for (TimePlot* p : allTimePlots()) p->setHistory(timeline);
    invalidate();
}

void PlotGrid::setOverlays(const std::vector<PlotOverlay>& overlays) {
    for (TimePlot* p : allTimePlots()) p->setOverlays(overlays);
}

void PlotGrid::setLayer(int layer) {
    if (layer < 0) return;
    plots_.load->setLayer(layer);
    plots_.heatmap->setLayer(layer);
    plots_.specialisation->setLayer(layer);
    plots_.regions->setLayer(layer);
    for (TimePlot* p : allTimePlots()) p->setLayer(layer);
    invalidate();
}

void PlotGrid::setSmoothing(double alpha) {
    for (TimePlot* p : allTimePlots()) p->setSmoothing(alpha);
    invalidate();
}

void PlotGrid::resetViews() {
    for (TimePlot* p : allTimePlots()) p->resetView();
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
    if (!watched_) return;
    if (watched_->version() == plotted_version_) {
        // No new data, but a time plot shown since the last frame (skipped while hidden) catches
        // up: on a loaded machine the router-loss plot could appear after the log's last frame
        // and stay empty. Each refresh returns at once when its plot is current.
        for (TimePlot* p : allTimePlots())
            if (!p->isHidden()) p->refresh();
        return;
    }
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
    for (TimePlot* p : allTimePlots())
        if (!p->isHidden()) p->refresh();  // a hidden one catches up when shown (setHidden invalidates)
    last_refresh_ms_ = double(t.nsecsElapsed()) / 1e6;
    emit refreshed();
}
