#pragma once
// The cells of a finished or loaded sweep that hold no result (a partial
// cluster merge, a cancelled sweep): each drawn as a light grey hatched square
// at its index coordinates, so "not run" never reads as "no colour = fine".
// A plottable, so the legend shows the same hatch.
#include <qcustomplot.h>

#include <QPoint>
#include <vector>

class MissingCells : public QCPAbstractPlottable {
public:
    MissingCells(QCPAxis* keyAxis, QCPAxis* valueAxis);

    void setCells(std::vector<QPoint> cells);  // (ix, iy) of each missing cell
    const std::vector<QPoint>& cells() const { return cells_; }

    // Hover and click belong to the phase map, not to this layer.
    double selectTest(const QPointF&, bool, QVariant* = nullptr) const override { return -1; }
    QCPRange getKeyRange(bool& found, QCP::SignDomain = QCP::sdBoth) const override;
    QCPRange getValueRange(bool& found, QCP::SignDomain = QCP::sdBoth, const QCPRange& = QCPRange()) const override;

protected:
    void draw(QCPPainter* painter) override;
    void drawLegendIcon(QCPPainter* painter, const QRectF& rect) const override;

private:
    void paintCell(QCPPainter* painter, const QRectF& rect, const QPen& edge) const;

    std::vector<QPoint> cells_;
};
