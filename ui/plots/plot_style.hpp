#pragma once
// The axis look every plot shares: theme font and ink for labels and ticks.
#include <qcustomplot.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "theme.hpp"

// The smallest a plot of the grid may get: three rows of them, the toolbar, the
// warnings line and the status bar still fit a 900×600 window.
inline constexpr QSize kPlotMinimumSize{240, 128};

inline void style_axis_text(QCPAxis* axis) {
    axis->setTickLabelFont(theme::plot_font());
    axis->setLabelFont(theme::plot_font());
    axis->setTickLabelColor(theme::kInk);
    axis->setLabelColor(theme::kInk);
}

// As many legend entries per row as the plot's width holds (at least one):
// larger fonts or a narrower plot wrap the legend instead of clipping it.
inline void fit_legend_columns(QCustomPlot* plot) {
    QCPLegend* legend = plot->legend;
    int n = 0, widest = 1;
    for (int i = 0; i < legend->itemCount(); ++i)  // the grid's cells: a wrapped last row has empty ones
        if (QCPAbstractLegendItem* item = legend->item(i)) {
            widest = std::max(widest, item->minimumOuterSizeHint().width());
            ++n;
        }
    const int room = plot->width() - legend->margins().left() - legend->margins().right();
    const int columns =
        std::clamp((room + legend->columnSpacing()) / (widest + legend->columnSpacing()), 1, std::max(1, n));
    if (columns == legend->wrap()) return;
    legend->setWrap(columns);
    legend->setFillOrder(QCPLayoutGrid::foColumnsFirst, true);  // rearranges the entries already there
}

// As many ticks as the axis length holds with room between the labels: a label's
// width (the widest shown, at least "0.000") of space beside each horizontal one,
// two label heights between vertical ones; at least 1, at most QCPAxisTicker's
// default 5 (3 with classroom fonts). Called before every replot, so a narrow
// window or a large font thins the ticks instead of running their labels together.
inline void fit_tick_count(QCustomPlot* plot) {
    const bool large = plot->property("moescope_font_scale").toDouble() > 1;
    const int most = large ? 3 : 5;
    for (QCPAxisRect* rect : plot->axisRects())
        for (QCPAxis* axis : rect->axes()) {
            if (!axis->visible() || !axis->tickLabels() || axis->ticker().dynamicCast<QCPAxisTickerText>()) continue;
            const QFontMetrics fm(axis->tickLabelFont());
            int widest = fm.horizontalAdvance(QStringLiteral("0.000"));
            for (const QString& label : axis->tickVectorLabels())
                widest = std::max(widest, fm.horizontalAdvance(label));
            const bool horizontal = axis->orientation() == Qt::Horizontal;
            const int length = horizontal ? rect->width() : rect->height();
            const int per_label = horizontal ? 2 * widest : 3 * fm.height();
            const int count = std::clamp(length / std::max(1, per_label), 1, most);
            axis->ticker()->setTickCount(count);
            // Cramped: keep to the count rather than round to a "nicer" step with more ticks.
            axis->ticker()->setTickStepStrategy(count < most ? QCPAxisTicker::tssMeetTickCount
                                                             : QCPAxisTicker::tssReadability);
        }
    // A colour bar's axis lives in the scale's private axis rect: its labels ran into a
    // blob on a 130-pixel heat map at 900×600. Same rule, along the bar's height.
    for (QCPLayoutElement* el : plot->plotLayout()->elements(true))
        if (auto* scale = qobject_cast<QCPColorScale*>(el)) {
            QCPAxis* axis = scale->axis();
            const int per_label = 3 * QFontMetrics(axis->tickLabelFont()).height();
            const int count = std::clamp(scale->outerRect().height() / std::max(1, per_label), 1, most);
            axis->ticker()->setTickCount(count);
            axis->ticker()->setTickStepStrategy(count < most ? QCPAxisTicker::tssMeetTickCount
                                                             : QCPAxisTicker::tssReadability);
        }
}

// A plot too short for its curves and its legend both (a small window) keeps the
// curves: the legend's row leaves the layout (an invisible element would still
// take its height) and comes back when the plot grows.
inline void show_legend_if_room(QCustomPlot* plot) {
    QCPLegend* legend = plot->legend;
    QCPLayoutGrid* layout = plot->plotLayout();
    const bool fits = legend->minimumOuterSizeHint().height() <= plot->height() * 0.3;
    const bool placed = legend->layout() == layout;
    if (fits == placed) return;
    if (fits) {
        layout->addElement(layout->rowCount(), 0, legend);
        layout->setRowStretchFactor(layout->rowCount() - 1, 0.001);
    } else {
        layout->take(legend);
        layout->simplify();
    }
    legend->setVisible(fits);
}

// The legend in its own row under the axis rect: inside it, it covered curves
// and bars, worst with classroom fonts. The row takes the height the entries
// need, the axis rect the rest. The plot's minimum size is set so the legend's
// widest arrangement never widens the window's layout; the entries wrap to fit.
inline void place_legend_below(QCustomPlot* plot) {
    QCPLegend* legend = plot->legend;
    plot->axisRect()->insetLayout()->take(legend);
    QCPLayoutGrid* layout = plot->plotLayout();
    const int row = layout->rowCount();
    layout->addElement(row, 0, legend);
    layout->setRowStretchFactor(row, 0.001);
    layout->setRowSpacing(0);
    legend->setMargins(QMargins(6, 0, 6, 2));
    legend->setBrush(Qt::NoBrush);
    legend->setBorderPen(Qt::NoPen);
    legend->setFont(theme::plot_font(8));
    legend->setVisible(true);
    plot->setMinimumSize(120, 100);
    QObject::connect(plot, &QCustomPlot::beforeReplot, plot, [plot] {
        fit_legend_columns(plot);
        show_legend_if_room(plot);
    });
}

// Classroom mode: plot text for the back of a lecture hall. Titles grow by
// `scale`, axis text by 60 % of that growth and legends by 30 % (a legend that
// grows as much as the title covers the curves of a ~300-pixel plot), with
// fewer ticks so the larger labels do not collide. The scale in force is kept
// on the plot, so calling it again with 1.0 restores everything exactly.
inline void scale_plot_fonts(QCustomPlot* plot, double scale) {
    const double current =
        plot->property("moescope_font_scale").isValid() ? plot->property("moescope_font_scale").toDouble() : 1.0;
    if (scale == current) return;
    auto grow = [current, scale](QFont f, double share) {
        const double from = 1 + (current - 1) * share, to = 1 + (scale - 1) * share;
        f.setPointSizeF(f.pointSizeF() / from * to);
        return f;
    };
    const int ticks = scale > 1 ? 3 : 5;  // QCPAxisTicker's default is 5
    auto style_axis = [&](QCPAxis* axis) {
        axis->setTickLabelFont(grow(axis->tickLabelFont(), 0.6));
        axis->setLabelFont(grow(axis->labelFont(), 0.6));
        axis->ticker()->setTickCount(ticks);
    };
    for (QCPAxisRect* rect : plot->axisRects())
        for (QCPAxis* axis : rect->axes()) style_axis(axis);
    for (QCPLayoutElement* el : plot->plotLayout()->elements(true)) {
        if (auto* text = qobject_cast<QCPTextElement*>(el)) text->setFont(grow(text->font(), 1.0));
        if (auto* bar = qobject_cast<QCPColorScale*>(el)) style_axis(bar->axis());  // its axis rect is private
    }
    if (plot->legend) {
        // QCPLegend::setFont also sets every entry's font: the entries' own sizes are taken
        // first and set after it. Scaling them again after it grew them twice, and leaving
        // classroom mode left them smaller than at launch.
        std::vector<std::pair<QCPAbstractLegendItem*, QFont>> entries;
        for (int i = 0; i < plot->legend->itemCount(); ++i)
            if (auto* item = qobject_cast<QCPAbstractLegendItem*>(plot->legend->item(i)))
                entries.emplace_back(item, grow(item->font(), 0.3));
        plot->legend->setFont(grow(plot->legend->font(), 0.3));
        for (auto& [item, font] : entries) item->setFont(font);
    }
    for (int i = 0; i < plot->itemCount(); ++i)
        if (auto* text = qobject_cast<QCPItemText*>(plot->item(i))) text->setFont(grow(text->font(), 0.6));
    plot->setProperty("moescope_font_scale", scale);
    plot->replot(QCustomPlot::rpQueuedReplot);
}
