#include "plots/time_plot.hpp"

#include <qcustomplot.h>
#include <QElapsedTimer>
#include <QVBoxLayout>

#include <algorithm>

#include "monitor/envelope.hpp"
#include "monitor/metric_defs.hpp"
#include "monitor/metrics_history.hpp"
#include "plots/color_map_parts.hpp"
#include "plots/plot_export.hpp"
#include "plots/plot_style.hpp"
#include "theme.hpp"

TimePlot::TimePlot(const QString& title, std::vector<CurveSpec> curves, QWidget* parent)
    : QWidget(parent), plot_(new QCustomPlot(this)), curves_(std::move(curves)) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(plot_);

    plot_->plotLayout()->insertRow(0);
    title_ = new QCPTextElement(plot_, title, theme::plot_font(10));
    title_->setTextColor(theme::kInk);
    plot_->plotLayout()->addElement(0, 0, title_);

    bool any_right = false;
    for (const CurveSpec& c : curves_) {
        QCPAxis* value_axis = c.right_axis ? plot_->yAxis2 : plot_->yAxis;
        any_right = any_right || c.right_axis;
        QCPGraph* g = plot_->addGraph(plot_->xAxis, value_axis);
        g->setName(c.label);
        // Width 1 keeps Qt on its fast cosmetic-line path: a wider pen goes through
        // the path stroker, which takes seconds on 16k noisy points (measured 3 s vs 9 ms).
        g->setPen(QPen(c.color, 1.0, c.dashed ? Qt::DashLine : Qt::SolidLine));
        if (c.scatter) {
            g->setLineStyle(QCPGraph::lsNone);
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, c.color, 5));
        }
        if (c.hidden) {
            g->setVisible(false);
            g->removeFromLegend();
        }
        graphs_.push_back(g);
    }
    plot_->yAxis2->setVisible(any_right);

    for (QCPAxis* axis : {plot_->xAxis, plot_->yAxis, plot_->yAxis2}) {
        axis->setTickLabelFont(theme::plot_font());
        axis->setLabelFont(theme::plot_font());
        axis->setBasePen(QPen(theme::kInk));
        axis->setTickPen(QPen(theme::kInk));
        axis->setSubTickPen(QPen(theme::kInk));
        axis->setTickLabelColor(theme::kInk);
        axis->setLabelColor(theme::kInk);
    }
    plot_->xAxis->setLabel(tr("step"));
    set_integer_ticks(plot_->xAxis);  // steps are whole: no 2.5 or 7.5 on a short run
    place_legend_below(plot_);

    // Antialiased strokes of ~1000-point noisy curves were most of a frame's cost
    // (measured below); the curves are dense enough that plain 1-px lines read the same.
    plot_->setNotAntialiasedElements(QCP::aePlottables);
    plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    plot_->axisRect()->setRangeDrag(Qt::Horizontal);
    plot_->axisRect()->setRangeZoom(Qt::Horizontal);
    // Any x range change we did not make ourselves is the user's: stop following the data.
    connect(plot_->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this](const QCPRange&) {
        if (!setting_range_) user_view_ = true;
    });
    connect(plot_, &QCustomPlot::mouseDoubleClick, this, [this](QMouseEvent*) { resetView(); });
    connect(plot_, &QCustomPlot::afterReplot, this, &TimePlot::onAfterReplot);
    connect(plot_, &QCustomPlot::beforeReplot, this, &TimePlot::cullMarkerLabels);
    installExportMenu(plot_, title);
    setMinimumSize(kPlotMinimumSize);
}

void TimePlot::setHistory(const MetricsHistory* history) {
    history_ = history;
    dirty_ = true;
    marker_count_ = 0;
    for (QCPAbstractItem* item : markers_) plot_->removeItem(item);
    markers_.clear();
    if (!history_) {
        for (QCPGraph* g : graphs_) g->data()->clear();
        plot_->replot(QCustomPlot::rpQueuedReplot);
    }
}

void TimePlot::setLayer(int layer) {
    if (layer == layer_) return;
    layer_ = layer;
    dirty_ = true;
}

void TimePlot::setCurveShown(const std::string& series, bool shown) {
    for (size_t i = 0; i < curves_.size(); ++i) {
        if (curves_[i].series != series || curves_[i].hidden == !shown) continue;
        curves_[i].hidden = !shown;
        graphs_[i]->setVisible(shown);
        if (shown)
            graphs_[i]->addToLegend();
        else
            graphs_[i]->removeFromLegend();
        for (auto& graphs : overlay_graphs_) graphs[i]->setVisible(shown);
        dirty_ = true;
    }
}

bool TimePlot::curveShown(const std::string& series) const {
    return std::any_of(curves_.begin(), curves_.end(),
                       [&](const CurveSpec& c) { return c.series == series && !c.hidden; });
}

void TimePlot::setSmoothing(double alpha) {
    alpha = std::clamp(alpha, 0.0, 0.99);
    if (alpha == alpha_) return;
    alpha_ = alpha;
    dirty_ = true;
}

void TimePlot::setYRange(double lo, double hi) {
    fixed_y_ = true;
    plot_->yAxis->setRange(lo, hi);
}

void TimePlot::setLogScale(bool log) {
    plot_->yAxis->setScaleType(log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (log)
        plot_->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    else
        plot_->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
}

void TimePlot::setRightYRange(double lo, double hi) {
    fixed_y2_ = true;
    plot_->yAxis2->setRange(lo, hi);
}

void TimePlot::setAxisLabels(const QString& left, const QString& right) {
    plot_->yAxis->setLabel(left);
    plot_->yAxis2->setLabel(right);
}

int TimePlot::graphCount() const { return plot_->graphCount(); }

void TimePlot::setOverlays(std::vector<PlotOverlay> overlays) {
    for (auto& graphs : overlay_graphs_)
        for (QCPGraph* g : graphs) plot_->removeGraph(g);
    for (QCPGraph* g : overlay_keys_) plot_->removeGraph(g);
    for (QCPAbstractItem* item : overlay_markers_) plot_->removeItem(item);
    overlay_graphs_.clear();
    overlay_keys_.clear();
    overlay_markers_.clear();
    overlay_marker_count_ = 0;
    overlays_ = std::move(overlays);
    overlay_versions_.assign(overlays_.size(), 0);
    for (const PlotOverlay& o : overlays_) {
        std::vector<QCPGraph*> graphs;
        for (const CurveSpec& c : curves_) {
            QCPGraph* g = plot_->addGraph(plot_->xAxis, c.right_axis ? plot_->yAxis2 : plot_->yAxis);
            g->setPen(overlayPen(c.color, c.scatter ? Qt::SolidLine : o.style));
            if (c.scatter) {
                g->setLineStyle(QCPGraph::lsNone);
                g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, c.color, 6));
            }
            g->removeFromLegend();
            g->setVisible(!c.hidden);
            graphs.push_back(g);
        }
        overlay_graphs_.push_back(std::move(graphs));
        QCPGraph* key = plot_->addGraph();
        key->setName(o.name);
        key->setPen(overlayPen(theme::kInk, o.style));
        overlay_keys_.push_back(key);
    }
    dirty_ = true;
    refresh();
}

// An overlay (a branch, the lesson's control run, a saved run) is a wider line with
// long dashes in a darker shade of the curve's colour: at 1 px, dash-dot in the same
// colour, it read as the lesson's own curve.
QPen TimePlot::overlayPen(const QColor& color, Qt::PenStyle style) {
    QPen pen(color.darker(130), 1.8, style);
    if (style == Qt::DashDotLine) pen.setDashPattern({5.0, 2.5, 1.2, 2.5});
    return pen;
}

int TimePlot::overlayPointCount(int o, int curve) const {
    return overlay_graphs_.at(size_t(o)).at(size_t(curve))->dataCount();
}

bool TimePlot::overlaysChanged() const {
    for (size_t o = 0; o < overlays_.size(); ++o)
        if (overlays_[o].history && overlays_[o].history->version() != overlay_versions_[o]) return true;
    return false;
}

void TimePlot::refresh() {
    if (!history_) return;
    const bool data_changed = dirty_ || history_->version() != built_version_ || overlaysChanged();
    const bool markers_changed = int(history_->interventions().size()) != marker_count_;
    if (!data_changed && !markers_changed) return;
    QElapsedTimer timer;
    timer.start();
    if (data_changed) rebuildData();
    if (markers_changed) rebuildMarkers();
    if (data_changed) rebuildOverlayMarkers();
    fitRanges();
    pending_rebuild_ms_ = double(timer.nsecsElapsed()) * 1e-6;
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void TimePlot::resetView() {
    user_view_ = false;
    fitRanges();
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

// A plot is about 500 pixels wide: more than kMaxDrawnPoints points only
// cost time. Consecutive groups become their minimum and maximum (in step
// order), so every spike still shows.
void TimePlot::keep_envelope(QVector<QCPGraphData>& points, int max_points) {
    const int n = int(points.size());
    if (n <= max_points) return;
    const int group = (n + max_points / 2 - 1) / (max_points / 2);
    int out = 0;
    moescope::min_max_groups(
        size_t(n), size_t(group), [&](size_t i) { return points[int(i)].value; },
        [&](size_t first, size_t second) {
            const QCPGraphData a = points[int(first)], b = points[int(second)];
            points[out++] = a;
            if (first != second) points[out++] = b;
        });
    points.resize(out);
}

void TimePlot::fillGraph(QCPGraph* graph, const MetricsHistory& history, const CurveSpec& c,
                         QVector<QCPGraphData>& points) {
    // A hidden curve holds no data: the axes fit what is drawn.
    const DecimatedSeries* s = c.hidden ? nullptr : history.series(c.series, c.per_layer ? layer_ : -1);
    points.resize(s ? int(s->size()) : 0);
    if (s) {
        const std::vector<double>& x = s->x();
        const std::vector<double>& y = s->y();
        // EMA: ŷ_i = α·ŷ_{i-1} + (1−α)·y_i, seeded with the first point
        double smooth = y.empty() ? 0.0 : y.front();
        for (size_t j = 0; j < x.size(); ++j) {
            smooth = alpha_ * smooth + (1.0 - alpha_) * y[j];
            points[int(j)] = QCPGraphData(x[j], smooth);
        }
        keep_envelope(points, c.scatter ? kMaxDrawnMarkers : kMaxDrawnPoints);
    }
    graph->data()->set(points, true);
}

void TimePlot::rebuildData() {
    QVector<QCPGraphData>& points = scratch_;  // kept: 16k points would be an mmap/munmap per curve per frame
    for (size_t i = 0; i < curves_.size(); ++i) fillGraph(graphs_[i], *history_, curves_[i], points);
    for (size_t o = 0; o < overlays_.size(); ++o) {
        if (!overlays_[o].history) continue;
        for (size_t i = 0; i < curves_.size(); ++i)
            fillGraph(overlay_graphs_[o][i], *overlays_[o].history, curves_[i], points);
        overlay_versions_[o] = overlays_[o].history->version();
    }
    built_version_ = history_->version();
    dirty_ = false;
    ++rebuilds_;
}

void TimePlot::addMarker(std::vector<QCPAbstractItem*>& into, double x, const QString& text, Qt::PenStyle style) {
    auto* line = new QCPItemStraightLine(plot_);
    line->setPen(QPen(theme::kMarker, 1.0, style));
    line->point1->setCoords(x, 0.0);
    line->point2->setCoords(x, 1.0);

    auto* label = new QCPItemText(plot_);
    label->position->setTypeX(QCPItemPosition::ptPlotCoords);
    label->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    label->position->setCoords(x, 0.03);
    // Rotated to read upwards along the line, starting near the top, right of it.
    label->setRotation(-90);
    label->setPositionAlignment(Qt::AlignRight | Qt::AlignTop);
    label->setPadding(QMargins(2, 2, 2, 2));
    label->setFont(markerFont());
    label->setColor(theme::kMarker);
    // On a veil of the background: curves running through the text no longer hide it.
    label->setBrush(QColor(255, 255, 255, 210));
    label->setText(text);
    into.push_back(line);
    into.push_back(label);
}

static QString intervention_text(const moescope::Intervention& iv) {
    return QString::fromStdString(iv.knob + " " + iv.old_value) + QString::fromUtf8(" \u2192 ") +
           QString::fromStdString(iv.new_value);
}

// Overlay markers are few: rebuilt whole whenever an overlay's data changes.
void TimePlot::rebuildOverlayMarkers() {
    size_t count = 0;
    for (const PlotOverlay& o : overlays_) count += o.history ? o.history->interventions().size() + 1 : 0;
    if (count == overlay_marker_count_) return;
    for (QCPAbstractItem* item : overlay_markers_) plot_->removeItem(item);
    overlay_markers_.clear();
    for (const PlotOverlay& o : overlays_) {
        if (!o.history) continue;
        if (o.fork_step >= 0) addMarker(overlay_markers_, o.fork_step, o.tag + tr(" starts"), o.style);
        for (const moescope::Intervention& iv : o.history->interventions())
            if (double(iv.step) >= o.fork_step)  // a branch shares the main run's earlier changes
                addMarker(overlay_markers_, double(iv.step), o.tag + ": " + intervention_text(iv), o.style);
    }
    overlay_marker_count_ = count;
}

void TimePlot::rebuildMarkers() {
    const auto& interventions = history_->interventions();
    if (int(interventions.size()) < marker_count_) {  // history was reset: start over
        for (QCPAbstractItem* item : markers_) plot_->removeItem(item);
        markers_.clear();
        marker_count_ = 0;
    }
    for (size_t i = size_t(marker_count_); i < interventions.size(); ++i)
        addMarker(markers_, double(interventions[i].step), intervention_text(interventions[i]), Qt::DashLine);
    marker_count_ = int(interventions.size());
}

void TimePlot::setXRangeQuietly(double lo, double hi) {
    setting_range_ = true;
    plot_->xAxis->setRange(lo, hi);
    setting_range_ = false;
}

void TimePlot::fitRanges() {
    if (!user_view_) {
        bool any = false;
        QCPRange keys;
        for (int i = 0; i < plot_->graphCount(); ++i) {
            bool found = false;
            const QCPRange r = plot_->graph(i)->getKeyRange(found);
            if (!found) continue;
            keys = any ? QCPRange(std::min(keys.lower, r.lower), std::max(keys.upper, r.upper)) : r;
            any = true;
        }
        // No data yet (a new run at step 0, paused): start at step 0, not under the last run's range.
        if (!any)
            setXRangeQuietly(0.0, 1.0);
        else
            setXRangeQuietly(keys.lower, keys.upper > keys.lower ? keys.upper : keys.lower + 1.0);
    }
    // Value axes fit what is visible on x, with a 5 % margin.
    auto fit = [&](QCPAxis* axis) {
        bool any = false;
        QCPRange values;
        for (int i = 0; i < plot_->graphCount(); ++i) {
            QCPGraph* g = plot_->graph(i);
            if (g->valueAxis() != axis) continue;
            bool found = false;
            const QCPRange r = g->getValueRange(found, QCP::sdBoth, plot_->xAxis->range());
            if (!found) continue;
            values = any ? QCPRange(std::min(values.lower, r.lower), std::max(values.upper, r.upper)) : r;
            any = true;
        }
        if (!any) return;
        if (axis->scaleType() == QCPAxis::stLogarithmic) {
            // a factor of margin each way; zeros are not drawn on a log axis
            axis->setRange(std::max(values.lower, 1e-6) / 1.5, std::max(values.upper, 1e-6) * 1.5);
            return;
        }
        // A series that is zero throughout (no drops) gets its axis from 0 to 1, not 0–0.045,
        // which read as a small but real value.
        if (values.lower == 0 && values.upper == 0) return axis->setRange(0.0, 1.0);
        const double pad = values.size() > 0 ? 0.05 * values.size() : std::max(0.05 * std::abs(values.upper), 0.05);
        // Every series here is non-negative: never show a negative axis for it.
        axis->setRange(values.lower >= 0 ? std::max(0.0, values.lower - pad) : values.lower - pad, values.upper + pad);
    };
    if (!fixed_y_) fit(plot_->yAxis);
    if (!fixed_y2_) fit(plot_->yAxis2);
}

// A label needs about its text height of room along x: where markers crowd
// (a long run with many changes, or zoomed out), only the first of each
// crowded group keeps its label, and labels outside the view are not laid out
// at all. Rotated text layout was most of a frame with 100 markers.
// The main run's and the overlays' labels are culled together: a branch's "starts"
// marker and the main run's change at the same step printed on top of each other.
void TimePlot::cullMarkerLabels() {
    const double room = QFontMetricsF(markerFont()).height() * 1.2;
    const QCPRange view = plot_->xAxis->range();
    std::vector<std::pair<double, QCPItemText*>> shown;  // (pixel, label) of the lines in view
    for (auto* list : {&markers_, &overlay_markers_})
        for (size_t i = 1; i < list->size(); i += 2) {  // (line, label) pairs
            auto* label = static_cast<QCPItemText*>((*list)[i]);
            const double x = label->position->coords().x();
            (*list)[i - 1]->setVisible(view.contains(x));
            label->setVisible(false);
            if (view.contains(x)) shown.emplace_back(plot_->xAxis->coordToPixel(x), label);
        }
    std::stable_sort(shown.begin(), shown.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    double last = -1e300;
    for (const auto& [px, label] : shown)
        if (px - last >= room) {
            label->setVisible(true);
            last = px;
        }
}

// Marker text at the plot's current font scale (classroom mode), so a marker made
// while it is on is as large as the others and shrinks back with them.
QFont TimePlot::markerFont() const {
    const QVariant scale = plot_->property("moescope_font_scale");
    QFont f = theme::plot_font(7);
    if (scale.isValid()) f.setPointSizeF(f.pointSizeF() * (1 + (scale.toDouble() - 1) * 0.6));
    return f;
}

void TimePlot::onAfterReplot() {
    last_ms_ = pending_rebuild_ms_ + plot_->replotTime();
    pending_rebuild_ms_ = 0;
    max_ms_ = std::max(max_ms_, last_ms_);
}

// A curve of one metric of the table: its legend label, series and scope
// (per-layer metrics follow setLayer()) come from there, the look from here.
CurveSpec metricCurve(std::string_view name, const QColor& color, bool right_axis, bool dashed, bool scatter) {
    const moescope::MetricDef* d = moescope::find_metric(name);
    if (!d || d->scope == moescope::MetricScope::Expert || !d->kept())
        qFatal("time plot: '%.*s' is no per-step metric the history keeps", int(name.size()), name.data());
    return {QString::fromUtf8(d->label.data(), qsizetype(d->label.size())),
            std::string(d->name),
            d->scope == moescope::MetricScope::Layer,
            color,
            right_axis,
            dashed,
            scatter};
}

// Each factory draws the metrics whose MetricDef::plot names it (tests check both ways).
TimePlot* makeEntropyPlot(QWidget* parent) {
    auto* p = new TimePlot(QObject::tr("Entropy (1 = uniform)"),
                           {metricCurve("router_entropy", theme::kBlue), metricCurve("load_entropy", theme::kOrange)},
                           parent);
    p->setYRange(0.0, 1.05);
    p->setAxisLabels(QObject::tr("entropy / ln E"));
    return p;
}

TimePlot* makeLossPlot(QWidget* parent) {
    auto* p =
        new TimePlot(QObject::tr("Loss and accuracy"),
                     {metricCurve("ce", theme::kBlue), metricCurve("aux", theme::kOrange),
                      metricCurve("z_loss", theme::kPurple, false, true), metricCurve("train_acc", theme::kGreen, true),
                      metricCurve("test_acc", theme::kVermillion, true, false, true),
                      metricCurve("test_bits", theme::kBlue.darker(150), false, false, true)},
                     parent);
    // Held-out bits per character: the language model's own measure, on the loss axis beside the
    // training cross-entropy (bits = nats / ln 2); shown for lm runs only (MainWindow).
    p->setCurveShown("test_bits", false);
    p->setRightYRange(0.0, 1.05);  // room above 1.0 for a test-accuracy dot (it was cut in half)
    p->setLogScale(true);          // the z-loss can be 10⁴× the cross-entropy
    p->setAxisLabels(QObject::tr("loss (log)"), QObject::tr("accuracy"));
    return p;
}

TimePlot* makeBalancePlot(QWidget* parent) {
    auto* p = new TimePlot(
        QObject::tr("Balance"),
        {metricCurve("max_util", theme::kVermillion), metricCurve("cv", theme::kBlue),
         metricCurve("dead_experts", theme::kGrey, false, true), metricCurve("dropped", theme::kOrange, true)},
        parent);
    // Short enough for a 130-pixel axis at 900×600 ("utilization · cv · count" was clipped); the legend names each.
    p->setAxisLabels(QObject::tr("util · cv · dead"), QObject::tr("dropped share"));
    return p;
}

TimePlot* makeRouterLossPlot(QWidget* parent) {
    auto* p = new TimePlot(
        QObject::tr("Router losses (this layer)"),
        {metricCurve("layer_aux", theme::kOrange), metricCurve("layer_z_loss", theme::kPurple, false, true)}, parent);
    p->setLogScale(true);  // a z-loss can be 10⁴× the aux loss, which sits near 1 when balanced
    p->setAxisLabels(QObject::tr("loss (log)"));
    return p;
}
