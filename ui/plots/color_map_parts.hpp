#pragma once
// The frame every colour-map plot shares (load over time, specialisation, the
// phase diagram): a title row, one QCPColorMap drawn cell by cell, and its
// colour bar at the right, kept as tall as the axis rect.
#include <qcustomplot.h>

#include <QString>

struct ColorMapParts {
    QCPTextElement* title = nullptr;
    QCPColorMap* map = nullptr;
    QCPColorScale* scale = nullptr;
};

// Adds the title, the map and its colour bar (labelled `scale_label`, fixed
// range: no drag or zoom) to `plot`. The map takes the scale's gradient and
// range, so set the map's own after this.
ColorMapParts add_titled_color_map(QCustomPlot* plot, const QString& title, const QString& scale_label);

// One tick per integer (experts, classes): no sub-ticks, no 2.5-step labels.
void set_integer_ticks(QCPAxis* axis);
