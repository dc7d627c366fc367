#pragma once
// The axis look every plot shares: theme font and ink for labels and ticks.
#include <qcustomplot.h>

#include "theme.hpp"

inline void style_axis_text(QCPAxis* axis) {
    axis->setTickLabelFont(theme::plot_font());
    axis->setLabelFont(theme::plot_font());
    axis->setTickLabelColor(theme::kInk);
    axis->setLabelColor(theme::kInk);
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
