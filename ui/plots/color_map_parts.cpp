#include "plots/color_map_parts.hpp"

#include "plots/plot_style.hpp"
#include "theme.hpp"

ColorMapParts add_titled_color_map(QCustomPlot* plot, const QString& title, const QString& scale_label) {
    ColorMapParts parts;
    plot->plotLayout()->insertRow(0);
    parts.title = new QCPTextElement(plot, title, theme::plot_font(10));
    parts.title->setTextColor(theme::kInk);
    plot->plotLayout()->addElement(0, 0, parts.title);

    parts.map = new QCPColorMap(plot->xAxis, plot->yAxis);
    parts.map->setInterpolate(false);
    parts.map->setAntialiased(false);
    parts.scale = new QCPColorScale(plot);
    plot->plotLayout()->addElement(1, 1, parts.scale);
    parts.scale->setType(QCPAxis::atRight);
    parts.scale->setLabel(scale_label);
    style_axis_text(parts.scale->axis());
    parts.scale->setRangeDrag(false);
    parts.scale->setRangeZoom(false);
    parts.map->setColorScale(parts.scale);
    auto* margins = new QCPMarginGroup(plot);
    plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    parts.scale->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    return parts;
}

void set_integer_ticks(QCPAxis* axis) {
    QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);
    ticker->setTickStep(1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    axis->setTicker(ticker);
    axis->setSubTicks(false);
}
