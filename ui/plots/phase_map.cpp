#include "plots/phase_map.hpp"

#include <qcustomplot.h>
#include <QToolTip>
#include <QVBoxLayout>

#include <cmath>

#include "io/sweep_file.hpp"
#include "plots/color_map_parts.hpp"
#include "plots/missing_cells.hpp"
#include "plots/plot_export.hpp"
#include "plots/plot_style.hpp"
#include "theme.hpp"

using namespace moescope;

namespace {

// Unhealthy (vermillion) through pale to healthy (blue), pale at `pale_at`
// (a share of the data range: the monitor's threshold, so the colour flips
// where the monitor's verdict does); reversed for lower-is-healthier measures.
QCPColorGradient health_gradient(bool higher_is_healthy, double pale_at) {
    QCPColorGradient g;
    g.clearColorStops();
    g.setColorStopAt(0.0, higher_is_healthy ? theme::kVermillion : theme::kBlue);
    g.setColorStopAt(std::clamp(pale_at, 0.05, 0.95), QColor(247, 240, 214));
    g.setColorStopAt(1.0, higher_is_healthy ? theme::kBlue : theme::kVermillion);
    g.setLevelCount(64);
    return g;
}

// The colour range a measure naturally spans, so two maps of it compare at a glance.
QCPRange natural_range(int measure, int experts) {
    switch (measure) {
        case kMaxUtil:
        case kMaxUtilWorst:
            return {1, double(std::max(experts, 2))};
        case kDeadExperts:
        case kDeadExpertsWorst:
            return {0, double(std::max(experts, 1))};
        default:
            return {0, 1};
    }
}

// The monitor threshold that belongs to `measure` (config value), NaN when none.
double measure_threshold(int measure, const Config& c) {
    switch (measure) {
        case kLoadEntropy:
        case kLoadEntropyWorst:
            return c.collapse_entropy;
        case kMaxUtil:
        case kMaxUtilWorst:
            return c.collapse_max_util;
        case kRouterEntropy:
        case kRouterEntropyWorst:
            return c.saturation_entropy;
        case kDropped:
        case kDroppedWorst:
            return c.drop_warn;
        case kDeadExperts:
        case kDeadExpertsWorst:
            return 0.5;  // between "none dead" and "one dead"
        default:
            return kNaN;
    }
}

QString number(double v) { return QString::number(v, 'g', 3); }

// What crossing a measure's threshold means: the monitor calls a layer collapsed below
// the load-entropy threshold or above the max-utilisation one; the others warn.
QString threshold_name(int measure) {
    switch (measure) {
        case kLoadEntropy:
        case kLoadEntropyWorst:
        case kMaxUtil:
        case kMaxUtilWorst:
            return QObject::tr("collapse");
        default:
            return QObject::tr("warns");
    }
}

}  // namespace

PhaseMap::PhaseMap(QWidget* parent)
    : QWidget(parent), plot_(new QCustomPlot(this)), current_x_(kNaN), current_y_(kNaN) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(plot_);

    const ColorMapParts parts = add_titled_color_map(plot_, tr("Phase diagram"), QString());
    title_ = parts.title;
    map_ = parts.map;
    scale_ = parts.scale;
    scale_->setBarWidth(12);

    missing_ = new MissingCells(plot_->xAxis, plot_->yAxis);  // under the markers: a star may sit on one
    missing_->setName(tr("not run yet"));
    collapsed_ = plot_->addGraph();
    collapsed_->setLineStyle(QCPGraph::lsNone);
    collapsed_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCross, QPen(theme::kInk, 2.0), Qt::NoBrush, 11));
    collapsed_->setName(tr("collapsed"));
    disputed_ = plot_->addGraph();
    disputed_->setLineStyle(QCPGraph::lsNone);
    disputed_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(theme::kInk, 2.0), Qt::NoBrush, 11));
    disputed_->setName(tr("seeds disagree"));
    current_ = plot_->addGraph();
    current_->setLineStyle(QCPGraph::lsNone);
    current_->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssStar, QPen(theme::kMarker, 2.5), QBrush(theme::kMarker), 16));
    current_->setName(tr("this run"));
    // Under the map: inside it, the legend box covered the top-right cell.
    place_legend_below(plot_);

    // The threshold on the colour bar: a line across it and its name to its left, in room
    // kept free beside the bar (the bar's axis carries the numbers at its right).
    QCPAxisRect* bar = scale_->axis()->axisRect();
    bar_mark_ = new QCPItemLine(plot_);
    bar_mark_->setPen(QPen(theme::kInk, 2.0));
    bar_mark_label_ = new QCPItemText(plot_);
    bar_mark_label_->setPositionAlignment(Qt::AlignRight | Qt::AlignVCenter);
    bar_mark_label_->setFont(theme::plot_font(8));
    bar_mark_label_->setColor(theme::kInk);
    for (QCPItemPosition* p : {bar_mark_->start, bar_mark_->end, bar_mark_label_->position}) {
        p->setAxisRect(bar);
        p->setAxes(bar->axis(QCPAxis::atBottom), scale_->axis());
        p->setTypeX(QCPItemPosition::ptAxisRectRatio);  // across the bar, whatever its width
        p->setTypeY(QCPItemPosition::ptPlotCoords);     // at the threshold's value
    }
    for (QCPAbstractItem* item :
         {static_cast<QCPAbstractItem*>(bar_mark_), static_cast<QCPAbstractItem*>(bar_mark_label_)})
        item->setClipToAxisRect(false);

    for (QCPAxis* axis : {plot_->xAxis, plot_->yAxis}) {
        style_axis_text(axis);
        axis->grid()->setVisible(false);
    }
    installExportMenu(plot_, tr("phase diagram"));
    setMouseTracking(true);
    plot_->setMouseTracking(true);
    connect(plot_, &QCustomPlot::mouseMove, this, &PhaseMap::onMouseMove);
    connect(plot_, &QCustomPlot::mousePress, this, &PhaseMap::onMousePress);
    setMinimumSize(320, 280);
    rebuild();
}

void PhaseMap::setSpec(const SweepSpec& spec) {
    result_ = {};
    result_.spec = spec;
    mark_missing_ = false;
    rebuild();
}

void PhaseMap::addCell(const SweepCell& cell) {
    for (SweepCell& c : result_.cells)
        if (c.ix == cell.ix && c.iy == cell.iy) {
            c = cell;
            rebuild();
            return;
        }
    result_.cells.push_back(cell);
    rebuild();
}

void PhaseMap::setResult(const SweepResult& result) {
    result_ = result;
    mark_missing_ = true;
    rebuild();
}

void PhaseMap::setMeasure(int measure) {
    measure_ = std::clamp(measure, 0, kSweepMeasures - 1);
    rebuild();
}

void PhaseMap::setCurrent(double x, double y) {
    current_x_ = x, current_y_ = y;
    rebuildMarkers();
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void PhaseMap::rebuild() {
    const SweepSpec& s = result_.spec;
    const SweepMeasure& m = sweep_measures()[size_t(measure_)];
    const int nx = s.x.n, ny = s.y.n;
    // A single column or row is stored twice, half a cell apart: QCP draws a
    // one-cell-wide map with zero width.
    const int kx = nx == 1 ? 2 : nx, ky = ny == 1 ? 2 : ny;
    QCPColorMapData* cells = map_->data();
    cells->setSize(kx, ky);
    cells->setRange(nx == 1 ? QCPRange(-0.25, 0.25) : QCPRange(0, nx - 1),
                    ny == 1 ? QCPRange(-0.25, 0.25) : QCPRange(0, ny - 1));
    cells->fillAlpha(0);  // unfinished cells stay transparent
    for (const SweepCell& c : result_.cells) {
        const double v = c.stat(measure_).median;
        for (int dx = 0; dx < kx / nx; ++dx)
            for (int dy = 0; dy < ky / ny; ++dy) {
                const int col = c.ix + dx, row = c.iy + dy;
                cells->setCell(col, row, std::isfinite(v) ? v : 0.0);
                cells->setAlpha(col, row, std::isfinite(v) ? 255 : 60);
            }
    }
    const QCPRange range = natural_range(measure_, s.base.experts);
    const double threshold = measure_threshold(measure_, s.base);
    map_->setGradient(health_gradient(m.higher_is_healthy,
                                      std::isfinite(threshold) ? (threshold - range.lower) / range.size() : 0.5));
    map_->setDataRange(range);
    // The colour flips at the monitor's threshold: the bar's label says where.
    const QString label = QString::fromUtf8(m.label.data(), int(m.label.size()));
    scale_->axis()->setLabel(std::isfinite(threshold) ? tr("%1 · threshold %2").arg(label, number(threshold)) : label);
    placeBarMark(threshold);
    title_->setText(result_.spec.x.knob.empty() ? tr("Phase diagram")
                                                : tr("Phase diagram: %1 (%2 of %3 cells)")
                                                      .arg(QString::fromUtf8(m.label.data(), int(m.label.size())))
                                                      .arg(result_.cells.size())
                                                      .arg(s.cells()));
    rebuildAxes();
    rebuildMarkers();
    rebuildLines();
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void PhaseMap::placeBarMark(double threshold) {
    const bool shown = std::isfinite(threshold);
    bar_mark_->setVisible(shown);
    bar_mark_label_->setVisible(shown);
    const QString text = threshold_name(measure_) + QStringLiteral(" \u2192");
    bar_mark_label_->setText(text);
    // Room left of the bar for the name: it no longer overlaps the map's last column.
    const int room = shown ? QFontMetrics(bar_mark_label_->font()).horizontalAdvance(text) + 10 : 0;
    scale_->setMinimumMargins(QMargins(room, 0, 0, 0));
    if (!shown) return;
    bar_mark_->start->setCoords(-0.4, threshold);
    bar_mark_->end->setCoords(1.4, threshold);
    bar_mark_label_->position->setCoords(-0.5, threshold);
}

void PhaseMap::rebuildAxes() {
    const SweepSpec& s = result_.spec;
    auto setup = [](QCPAxis* axis, const SweepAxis& a) {
        auto ticker = QSharedPointer<QCPAxisTickerText>::create();
        const int every = std::max(1, (a.n + 7) / 8);  // at most ~8 labels
        for (int i = 0; i < a.n; i += every) ticker->addTick(i, number(a.value(i)));
        axis->setTicker(ticker);
        axis->setRange(-0.5, std::max(a.n, 1) - 0.5);
        axis->setLabel(QString::fromStdString(a.knob) + (a.log ? QObject::tr(" (log)") : QString()));
    };
    setup(plot_->xAxis, s.x);
    setup(plot_->yAxis, s.y);
}

double PhaseMap::axisCoord(const SweepAxis& a, double v) const {
    if (!std::isfinite(v) || a.n < 1) return kNaN;
    if (a.n == 1 || a.hi == a.lo) return v == a.lo ? 0.0 : kNaN;
    const double t = a.log ? (v > 0 ? std::log(v / a.lo) / std::log(a.hi / a.lo) : kNaN) : (v - a.lo) / (a.hi - a.lo);
    const double c = t * (a.n - 1);
    return c >= -0.5 && c <= a.n - 0.5 ? c : kNaN;  // off the map: not drawn
}

void PhaseMap::rebuildMarkers() {
    QVector<double> kx, ky;
    QVector<double> dx, dy;
    for (const SweepCell& c : result_.cells) {
        if (sweep_cell_disputed(c, result_.spec.base))
            dx.push_back(c.ix), dy.push_back(c.iy);
        else if (sweep_cell_collapsed(c, result_.spec.base))
            kx.push_back(c.ix), ky.push_back(c.iy);
    }
    collapsed_->setData(kx, ky);
    disputed_->setData(dx, dy);
    std::vector<QPoint> missing;
    for (int iy = 0; iy < result_.spec.y.n; ++iy)
        for (int ix = 0; ix < result_.spec.x.n; ++ix)
            if (isMissing(ix, iy)) missing.emplace_back(ix, iy);
    missing_->setCells(std::move(missing));
    const double cx = axisCoord(result_.spec.x, current_x_), cy = axisCoord(result_.spec.y, current_y_);
    if (std::isfinite(cx) && std::isfinite(cy))
        current_->setData({cx}, {cy});
    else
        current_->data()->clear();
    plot_->legend->clearItems();
    if (!collapsed_->data()->isEmpty()) collapsed_->addToLegend();
    if (!disputed_->data()->isEmpty()) disputed_->addToLegend();
    if (!current_->data()->isEmpty()) current_->addToLegend();
    if (!missing_->cells().empty()) missing_->addToLegend();
    plot_->legend->setVisible(plot_->legend->itemCount() > 0);
}

// A segment on every edge between two finished neighbours that lie on either
// side of `threshold` for `measure`: together they trace the level line.
void PhaseMap::rebuildLines() {
    for (QCPItemLine* l : collapse_lines_) plot_->removeItem(l);
    for (QCPItemLine* l : threshold_lines_) plot_->removeItem(l);
    collapse_lines_.clear();
    threshold_lines_.clear();
    const SweepSpec& s = result_.spec;
    auto trace = [&](int measure, double threshold, const QPen& pen, std::vector<QCPItemLine*>& out) {
        if (!std::isfinite(threshold)) return;
        // -1 every seed below, +1 every seed at or above, 0 not run or the seeds
        // disagree: a line is drawn only where the seeds agree on both sides.
        std::vector<int> sides(size_t(s.x.n) * size_t(s.y.n), 0);
        for (const SweepCell& c : result_.cells) {
            const SweepStat st = c.stat(measure);
            if (st.n == 0) continue;
            const int side = st.max < threshold ? -1 : st.min >= threshold ? 1 : 0;
            sides[size_t(c.iy) * size_t(s.x.n) + size_t(c.ix)] = side;
        }
        auto side = [&](int ix, int iy) { return sides[size_t(iy) * size_t(s.x.n) + size_t(ix)]; };
        auto segment = [&](double x0, double y0, double x1, double y1) {
            auto* line = new QCPItemLine(plot_);
            line->setPen(pen);
            line->start->setCoords(x0, y0);
            line->end->setCoords(x1, y1);
            out.push_back(line);
        };
        for (int iy = 0; iy < s.y.n; ++iy)
            for (int ix = 0; ix < s.x.n; ++ix) {
                const int here = side(ix, iy);
                if (here == 0) continue;
                if (ix + 1 < s.x.n && side(ix + 1, iy) == -here) segment(ix + 0.5, iy - 0.5, ix + 0.5, iy + 0.5);
                if (iy + 1 < s.y.n && side(ix, iy + 1) == -here) segment(ix - 0.5, iy + 0.5, ix + 0.5, iy + 0.5);
            }
    };
    trace(kLoadEntropy, s.base.collapse_entropy, QPen(theme::kInk, 3.0), collapse_lines_);
    QPen dashed(theme::kMarker, 2.0, Qt::DashLine);
    // The load-entropy threshold is the collapse boundary itself: no second line for it.
    if (measure_ != kLoadEntropy) trace(measure_, measure_threshold(measure_, s.base), dashed, threshold_lines_);
}

int PhaseMap::filledCells() const { return int(result_.cells.size()); }

int PhaseMap::collapsedMarkers() const { return collapsed_->dataCount(); }

int PhaseMap::disputedMarkers() const { return disputed_->dataCount(); }

int PhaseMap::missingCells() const { return int(missing_->cells().size()); }

bool PhaseMap::isMissing(int ix, int iy) const {
    const SweepSpec& s = result_.spec;
    return mark_missing_ && !s.x.knob.empty() && ix >= 0 && iy >= 0 && ix < s.x.n && iy < s.y.n &&
           !result_.cell(ix, iy);
}

bool PhaseMap::currentShown() const { return current_->dataCount() > 0; }

double PhaseMap::cellValue(int ix, int iy) const {
    const SweepCell* c = result_.cell(ix, iy);
    return c ? c->stat(measure_).median : kNaN;
}

QString PhaseMap::cellToolTip(int ix, int iy) const {
    const SweepCell* c = result_.cell(ix, iy);
    const SweepSpec& s = result_.spec;
    if (isMissing(ix, iy))
        return QStringLiteral("%1 = %2, %3 = %4\n")
                   .arg(QString::fromStdString(s.x.knob), number(s.x.value(ix)), QString::fromStdString(s.y.knob),
                        number(s.y.value(iy))) +
               tr("not run yet (missing from the merge, or the sweep was cancelled)");
    if (!c) return {};
    QString text =
        QStringLiteral("%1 = %2, %3 = %4")
            .arg(QString::fromStdString(s.x.knob), number(c->x), QString::fromStdString(s.y.knob), number(c->y));
    if (sweep_cell_disputed(*c, s.base))
        text += tr("  — the seeds disagree about collapse");
    else if (sweep_cell_collapsed(*c, s.base))
        text += tr("  — collapsed");
    const int shown[] = {kLoadEntropy, kLoadEntropyWorst, kMaxUtil, kDeadExperts, kRouterEntropy, kTestAcc, kDropped};
    for (int m : shown) {
        const SweepStat st = c->stat(m);
        const auto& d = sweep_measures()[size_t(m)];
        text +=
            QStringLiteral("\n%1: %2").arg(QString::fromUtf8(d.label.data(), int(d.label.size())), number(st.median));
        if (st.n > 1) text += tr("  (median; seeds %1 … %2)").arg(number(st.min), number(st.max));
    }
    text += tr("\n%n seed(s); click to open this run", nullptr, int(c->runs.size()));
    return text;
}

QPoint PhaseMap::cellPixel(int ix, int iy) const {
    return QPoint(int(std::lround(plot_->xAxis->coordToPixel(ix))), int(std::lround(plot_->yAxis->coordToPixel(iy))));
}

bool PhaseMap::cellAt(const QPoint& pixel, int& ix, int& iy) const {
    if (result_.spec.x.knob.empty()) return false;
    ix = int(std::lround(plot_->xAxis->pixelToCoord(pixel.x())));
    iy = int(std::lround(plot_->yAxis->pixelToCoord(pixel.y())));
    return ix >= 0 && iy >= 0 && ix < result_.spec.x.n && iy < result_.spec.y.n &&
           plot_->axisRect()->rect().contains(pixel);
}

void PhaseMap::onMouseMove(QMouseEvent* event) {
    int ix = 0, iy = 0;
    const QString tip = cellAt(event->pos(), ix, iy) ? cellToolTip(ix, iy) : QString();
    if (tip.isEmpty())
        QToolTip::hideText();
    else
        QToolTip::showText(plot_->mapToGlobal(event->pos()), tip, plot_);
}

void PhaseMap::onMousePress(QMouseEvent* event) {
    int ix = 0, iy = 0;
    if (event->button() != Qt::LeftButton || !cellAt(event->pos(), ix, iy) || !result_.cell(ix, iy)) return;
    emit openRun(sweep_run_config(result_.spec, ix, iy, 0));
}

bool PhaseMap::exportCells(const QString& path, QString* why) const {
    try {
        export_sweep_cells(result_, path.toStdString());
        return true;
    } catch (const std::exception& e) {
        if (why) *why = QString::fromUtf8(e.what());
        return false;
    }
}
