#include "plots/missing_cells.hpp"

#include <algorithm>

namespace {

const QColor kMissingFill{236, 236, 236};
const QColor kMissingHatch{175, 175, 175};

}  // namespace

MissingCells::MissingCells(QCPAxis* keyAxis, QCPAxis* valueAxis) : QCPAbstractPlottable(keyAxis, valueAxis) {
    setAntialiased(false);  // crisp hatch lines
    setSelectable(QCP::stNone);
}

void MissingCells::setCells(std::vector<QPoint> cells) { cells_ = std::move(cells); }

QCPRange MissingCells::getKeyRange(bool& found, QCP::SignDomain) const {
    found = !cells_.empty();
    if (!found) return {};
    const auto [lo, hi] = std::minmax_element(cells_.begin(), cells_.end(),
                                              [](const QPoint& a, const QPoint& b) { return a.x() < b.x(); });
    return {lo->x() - 0.5, hi->x() + 0.5};
}

QCPRange MissingCells::getValueRange(bool& found, QCP::SignDomain, const QCPRange&) const {
    found = !cells_.empty();
    if (!found) return {};
    const auto [lo, hi] = std::minmax_element(cells_.begin(), cells_.end(),
                                              [](const QPoint& a, const QPoint& b) { return a.y() < b.y(); });
    return {lo->y() - 0.5, hi->y() + 0.5};
}

void MissingCells::draw(QCPPainter* painter) {
    QCPAxis* kx = keyAxis();
    QCPAxis* vy = valueAxis();
    if (!kx || !vy) return;
    for (const QPoint& c : cells_) {
        const QPointF a(kx->coordToPixel(c.x() - 0.5), vy->coordToPixel(c.y() - 0.5));
        const QPointF b(kx->coordToPixel(c.x() + 0.5), vy->coordToPixel(c.y() + 0.5));
        paintCell(painter, QRectF(a, b).normalized(), QPen(Qt::white, 1));  // white edges: one square a cell
    }
}

void MissingCells::drawLegendIcon(QCPPainter* painter, const QRectF& rect) const {
    const double side = std::min(rect.width(), rect.height());
    paintCell(painter, QRectF(rect.center() - QPointF(side / 2, side / 2), QSizeF(side, side)), QPen(kMissingHatch));
}

// Light grey with a diagonal hatch: no colour of the health gradient is grey.
void MissingCells::paintCell(QCPPainter* painter, const QRectF& rect, const QPen& edge) const {
    painter->setPen(Qt::NoPen);
    painter->setBrush(kMissingFill);
    painter->drawRect(rect);
    painter->setPen(edge);
    painter->setBrush(QBrush(kMissingHatch, Qt::BDiagPattern));
    painter->drawRect(rect);
}
