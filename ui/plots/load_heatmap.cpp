#include "plots/load_heatmap.hpp"

#include <qcustomplot.h>
#include <QVBoxLayout>

#include <algorithm>
#include <vector>

#include "monitor/metrics_history.hpp"
#include "plots/color_map_parts.hpp"
#include "plots/plot_export.hpp"
#include "plots/plot_style.hpp"
#include "theme.hpp"

QCPColorGradient heatmapGradient() {
    QCPColorGradient g;
    g.clearColorStops();
    g.setColorStopAt(0.0, theme::kInk);
    g.setColorStopAt(0.35, theme::kBlue);
    g.setColorStopAt(0.7, theme::kOrange);
    g.setColorStopAt(1.0, theme::kYellow);
    g.setColorInterpolation(QCPColorGradient::ciRGB);
    return g;
}

LoadHeatmap::LoadHeatmap(QWidget* parent) : QWidget(parent), plot_(new QCustomPlot(this)) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(plot_);

    const ColorMapParts parts = add_titled_color_map(plot_, tr("Load over time"), tr("load share"));
    map_ = parts.map;
    scale_ = parts.scale;
    title_ = parts.title;
    map_->setGradient(heatmapGradient());
    set_integer_ticks(plot_->yAxis);
    plot_->yAxis->setLabel(tr("expert"));
    plot_->xAxis->setLabel(tr("step"));
    set_integer_ticks(plot_->xAxis);
    for (QCPAxis* axis : {plot_->xAxis, plot_->yAxis}) {
        style_axis_text(axis);
    }
    plot_->setNotAntialiasedElements(QCP::aeAll);
    installExportMenu(plot_, tr("load over time"));
    setMinimumSize(kPlotMinimumSize);
}

void LoadHeatmap::setHistory(const MetricsHistory* history) {
    history_ = history;
    dirty_ = true;
}

void LoadHeatmap::setLayer(int layer) {
    if (layer == layer_) return;
    layer_ = layer;
    dirty_ = true;
}

double LoadHeatmap::cell(int expert, int bin) const {
    if (expert < 0 || expert >= experts_ || bin < 0 || bin >= bins_) return 0.0;
    return map_->data()->cell(bin, expert);
}

double LoadHeatmap::colorMax() const { return map_->dataRange().upper; }

void LoadHeatmap::clear() {
    if (bins_ == 0 && experts_ == 0) return;
    bins_ = experts_ = 0;
    map_->data()->clear();
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void LoadHeatmap::refresh() {
    if (!history_ || layer_ < 0 || layer_ >= history_->layers()) {
        clear();
        dirty_ = true;
        return;
    }
    if (!dirty_ && history_->version() == built_version_) return;
    built_version_ = history_->version();
    dirty_ = false;

    // Decimation keeps different steps for different experts (each keeps its own
    // minima and maxima), so every expert is binned on the common step range.
    const int experts = history_->experts();
    std::vector<const DecimatedSeries*> series(size_t(std::max(experts, 0)), nullptr);
    size_t points = 0;
    double x_lo = 0, x_hi = 0;
    for (int e = 0; e < experts; ++e) {
        const DecimatedSeries* s = history_->series("load", layer_, e);
        if (!s || s->size() == 0) continue;
        x_lo = points == 0 ? s->x().front() : std::min(x_lo, s->x().front());
        x_hi = points == 0 ? s->x().back() : std::max(x_hi, s->x().back());
        points = std::max(points, s->size());
        series[size_t(e)] = s;
    }
    if (points == 0) {
        clear();
        return;
    }
    const int bins = int(std::min<size_t>(points, kMaxBins));
    const double span = x_hi - x_lo;
    const double bin_width = span > 0 ? span / bins : 1.0;

    QCPColorMapData* cells = map_->data();
    cells->setSize(bins, experts);
    const double first = x_lo + 0.5 * bin_width;
    cells->setRange(QCPRange(first, first + (bins - 1) * bin_width), QCPRange(0, std::max(experts - 1, 0)));
    std::vector<double> sum(static_cast<size_t>(bins)), count(static_cast<size_t>(bins));
    double top = experts > 0 ? 2.0 / experts : 1.0;
    for (int e = 0; e < experts; ++e) {
        std::fill(sum.begin(), sum.end(), 0.0);
        std::fill(count.begin(), count.end(), 0.0);
        if (const DecimatedSeries* s = series[size_t(e)]) {
            const std::vector<double>& x = s->x();
            const std::vector<double>& y = s->y();
            const double to_bin = span > 0 ? bins / span : 0.0;
            for (size_t i = 0; i < x.size(); ++i) {
                const int b = std::min(int((x[i] - x_lo) * to_bin), bins - 1);  // x ≥ x_lo: never negative
                sum[size_t(b)] += y[i];
                count[size_t(b)] += 1;
            }
        }
        // A bin without points (folded, sparser old data) repeats its left neighbour.
        const auto filled = std::find_if(count.begin(), count.end(), [](double c) { return c > 0; });
        double held = filled == count.end() ? 0.0 : sum[size_t(filled - count.begin())] / *filled;
        for (int b = 0; b < bins; ++b) {
            if (count[size_t(b)] > 0) held = sum[size_t(b)] / count[size_t(b)];
            cells->setCell(b, e, held);
            top = std::max(top, held);
        }
    }
    bins_ = bins;
    experts_ = experts;
    map_->setDataRange(QCPRange(0.0, top));
    plot_->xAxis->setRange(x_lo, span > 0 ? x_hi : x_lo + 1.0);
    plot_->yAxis->setRange(-0.5, experts - 0.5);
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void LoadHeatmap::setRunName(const QString& name) {
    const QString text = name.isEmpty() ? tr("Load over time") : tr("Load over time · %1").arg(name);
    if (title_->text() == text) return;
    title_->setText(text);
    plot_->replot(QCustomPlot::rpQueuedReplot);
}
