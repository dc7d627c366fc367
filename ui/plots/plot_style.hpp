#pragma once
// The axis look every plot shares: theme font and ink for labels and ticks.
#include <qcustomplot.h>

#include <algorithm>

#include "theme.hpp"

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
    QObject::connect(plot, &QCustomPlot::beforeReplot, plot, [plot] { fit_legend_columns(plot); });
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
        plot->legend->setFont(grow(plot->legend->font(), 0.3));
        for (int i = 0; i < plot->legend->itemCount(); ++i)
            if (auto* item = qobject_cast<QCPAbstractLegendItem*>(plot->legend->item(i)))
                item->setFont(grow(item->font(), 0.3));
    }
    for (int i = 0; i < plot->itemCount(); ++i)
        if (auto* text = qobject_cast<QCPItemText*>(plot->item(i))) text->setFont(grow(text->font(), 0.6));
    plot->setProperty("moescope_font_scale", scale);
    plot->replot(QCustomPlot::rpQueuedReplot);
}
