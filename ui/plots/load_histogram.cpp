#include "plots/load_histogram.hpp"

#include <qcustomplot.h>
#include <QVBoxLayout>

#include <algorithm>

#include "monitor/metrics_history.hpp"
#include "plots/plot_export.hpp"
#include "plots/plot_style.hpp"
#include "theme.hpp"

LoadHistogram::LoadHistogram(QWidget* parent) : QWidget(parent), plot_(new QCustomPlot(this)) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(plot_);

    plot_->plotLayout()->insertRow(0);
    title_ = new QCPTextElement(plot_, tr("Load per expert"), theme::plot_font(10));
    title_->setTextColor(theme::kInk);
    plot_->plotLayout()->addElement(0, 0, title_);

    // Bars are created later (one per expert); the overlay layer keeps the line and diamonds on top.
    plot_->addLayer(QStringLiteral("front"), plot_->layer(QStringLiteral("main")), QCustomPlot::limAbove);
    fair_ = plot_->addGraph();
    fair_->setLayer(QStringLiteral("front"));
    fair_->setName(tr("fair share 1/E"));
    fair_->setPen(QPen(theme::kInk, 1.0, Qt::DashLine));

    prob_ = plot_->addGraph();
    prob_->setLayer(QStringLiteral("front"));
    prob_->setName(tr("mean router prob"));
    prob_->setLineStyle(QCPGraph::lsNone);
    prob_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, QPen(theme::kInk), QBrush(theme::kYellow), 8));

    // Under the title, not inside the axis rect: there it printed over the y axis and bar 0
    // (and read "text", QCPItemText's placeholder, before the first step).
    info_ = new QCPTextElement(plot_, QString(), theme::plot_font(8));
    info_->setTextColor(theme::kInk);
    plot_->plotLayout()->insertRow(1);
    plot_->plotLayout()->addElement(1, 0, info_);

    QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);
    ticker->setTickStep(1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);  // 64 experts: every 2nd, 4th… label
    plot_->xAxis->setTicker(ticker);
    plot_->xAxis->setSubTicks(false);
    plot_->xAxis->setLabel(tr("expert"));
    plot_->yAxis->setLabel(tr("load share"));
    for (QCPAxis* axis : {plot_->xAxis, plot_->yAxis}) {
        style_axis_text(axis);
    }
    place_legend_below(plot_);
    installExportMenu(plot_, tr("load per expert"));
    setMinimumSize(kPlotMinimumSize);
}

namespace {

// Grey below the run's dead_util knob, the threshold of the dead count shown
// beside the bars; above it, fair (≤ 1) blending to overloaded.
QColor bar_color(double utilization, double dead_util) {
    if (utilization < dead_util) return theme::kDead;
    return utilization <= 1.0 ? theme::kFair : theme::utilization_color(utilization);
}

}  // namespace

void LoadHistogram::setHistory(const MetricsHistory* history) {
    history_ = history;
    dirty_ = true;
}

void LoadHistogram::setLayer(int layer) {
    if (layer == layer_) return;
    layer_ = layer;
    dirty_ = true;
}

void LoadHistogram::setWindow(int steps) {
    steps = std::max(1, steps);
    if (steps == window_) return;
    window_ = steps;
    dirty_ = true;
}

double LoadHistogram::barValue(int expert) const {
    if (expert < 0 || expert >= barCount()) return 0.0;
    const auto it = bars_[size_t(expert)]->data()->constBegin();
    return bars_[size_t(expert)]->data()->isEmpty() ? 0.0 : it->value;
}

QColor LoadHistogram::barColor(int expert) const {
    if (expert < 0 || expert >= barCount()) return {};
    return bars_[size_t(expert)]->brush().color();
}

double LoadHistogram::meanProb(int expert) const {
    if (expert < 0 || expert >= prob_->data()->size()) return 0.0;
    return (prob_->data()->constBegin() + expert)->value;
}

void LoadHistogram::setRunName(const QString& name) {
    const QString text = name.isEmpty() ? tr("Load per expert") : tr("Load per expert · %1").arg(name);
    if (title_->text() == text) return;
    title_->setText(text);
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

QString LoadHistogram::titleText() const { return title_->text(); }

QString LoadHistogram::infoText() const { return info_->text(); }

void LoadHistogram::ensureBars(int experts) {
    if (int(bars_.size()) == experts) return;
    for (QCPBars* b : bars_) plot_->removePlottable(b);
    bars_.clear();
    for (int e = 0; e < experts; ++e) {
        auto* b = new QCPBars(plot_->xAxis, plot_->yAxis);
        b->setWidth(0.8);
        b->removeFromLegend();
        bars_.push_back(b);
    }
}

// Mean of the points of the last `window_` steps; the history may have folded
// old points into min/max pairs, which is fine for a mean over recent steps.
double LoadHistogram::windowMean(const char* series, int expert, double fallback) const {
    const DecimatedSeries* s = history_->series(series, layer_, expert);
    if (window_ <= 1 || !s || s->size() == 0) return fallback;
    const std::vector<double>& x = s->x();
    const std::vector<double>& y = s->y();
    const double after = x.back() - double(window_);
    double sum = 0;
    int n = 0;
    for (size_t i = x.size(); i-- > 0 && x[i] > after;) {
        sum += y[i];
        ++n;
    }
    return n > 0 ? sum / n : fallback;
}

void LoadHistogram::refresh() {
    const bool have = history_ && layer_ >= 0 && layer_ < int(history_->latest().layers.size());
    if (!have) {
        if (!bars_.empty()) {
            ensureBars(0);
            prob_->data()->clear();
            fair_->data()->clear();
            info_->setText({});
            fair_share_ = 0;
            plot_->replot(QCustomPlot::rpQueuedReplot);
        }
        dirty_ = true;
        return;
    }
    if (!dirty_ && history_->version() == built_version_) return;

    const moescope::LayerMetrics& lm = history_->latest().layers[size_t(layer_)];
    const int experts = int(lm.load.size());
    ensureBars(experts);
    fair_share_ = experts > 0 ? 1.0 / experts : 0.0;

    double top = fair_share_;
    QVector<QCPGraphData> probs;
    for (int e = 0; e < experts; ++e) {
        const double load = windowMean("load", e, lm.load[size_t(e)]);
        const QColor color = bar_color(experts * load, history_->latest().dead_util);
        bars_[size_t(e)]->setBrush(color);
        bars_[size_t(e)]->setPen(QPen(color.darker(130)));
        bars_[size_t(e)]->data()->set(QVector<QCPBarsData>{QCPBarsData(e, load)}, true);
        top = std::max(top, load);
        if (e < int(lm.mean_prob.size())) {
            // The history keeps no per-step router probabilities (memory): diamonds show this step.
            const double p = lm.mean_prob[size_t(e)];
            probs.append(QCPGraphData(e, p));
            top = std::max(top, p);
        }
    }
    prob_->data()->set(probs, true);
    fair_->data()->set(QVector<QCPGraphData>{QCPGraphData(-0.5, fair_share_), QCPGraphData(experts - 0.5, fair_share_)},
                       true);
    info_->setText(tr("dropped %1%   dead: %2").arg(100.0 * lm.dropped, 0, 'f', 1).arg(lm.dead_experts));

    plot_->xAxis->setRange(-0.5, std::max(experts, 1) - 0.5);
    plot_->yAxis->setRange(0.0, 1.1 * top + 1e-9);
    built_version_ = history_->version();
    dirty_ = false;
    plot_->replot(QCustomPlot::rpQueuedReplot);
}
