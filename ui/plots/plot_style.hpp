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

// Classroom mode: every text of a plot (title, axes, legend, labels) at
// `scale` × its normal size. The scale in force is kept on the plot, so
// calling it again with 1.0 restores the sizes exactly.
inline void scale_plot_fonts(QCustomPlot* plot, double scale) {
    const double current = plot->property("moescope_font_scale").isValid() ? plot->property("moescope_font_scale").toDouble() : 1.0;
    if (scale == current) return;
    const double ratio = scale / current;
    auto grow = [ratio](QFont f) {
        f.setPointSizeF(f.pointSizeF() * ratio);
        return f;
    };
    for (QCPAxisRect* rect : plot->axisRects())
        for (QCPAxis* axis : rect->axes()) {
            axis->setTickLabelFont(grow(axis->tickLabelFont()));
            axis->setLabelFont(grow(axis->labelFont()));
        }
    if (plot->legend) plot->legend->setFont(grow(plot->legend->font()));
    for (int i = 0; plot->legend && i < plot->legend->itemCount(); ++i)
        if (auto* item = qobject_cast<QCPAbstractLegendItem*>(plot->legend->item(i))) item->setFont(grow(item->font()));
    for (QCPLayoutElement* el : plot->plotLayout()->elements(true))
        if (auto* text = qobject_cast<QCPTextElement*>(el)) text->setFont(grow(text->font()));
    for (int i = 0; i < plot->itemCount(); ++i)
        if (auto* text = qobject_cast<QCPItemText*>(plot->item(i))) text->setFont(grow(text->font()));
    for (QCPLayoutElement* el : plot->plotLayout()->elements(true))
        if (auto* bar = qobject_cast<QCPColorScale*>(el)) {  // its axis lives in a private axis rect
            bar->axis()->setTickLabelFont(grow(bar->axis()->tickLabelFont()));
            bar->axis()->setLabelFont(grow(bar->axis()->labelFont()));
        }
    plot->setProperty("moescope_font_scale", scale);
    plot->replot(QCustomPlot::rpQueuedReplot);
}
