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
