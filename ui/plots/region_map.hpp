#pragma once
// Expert regions of a 2-D dataset: the input plane coloured by the top-1 expert
// of one layer (paler where the router is less sure), with a sample of the
// training points on top, one marker per class. Datasets that are not 2-D get
// a note instead (clear()).
#include <QString>
#include <QVector>
#include <QWidget>

#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "monitor/region_grid.hpp"

class QCustomPlot;
class QCPColorMap;
class QCPGraph;
class QCPItemText;
class QCPTextElement;

class RegionMap : public QWidget {
    Q_OBJECT
public:
    static constexpr int kMaxPoints = 600;  // drawn training points, a fixed subsample

    explicit RegionMap(QWidget* parent = nullptr);

    void setGrid(const moescope::RegionGrid& grid);
    // x: 2 × N inputs, y: N labels in [0, classes).
    void setPoints(const Eigen::MatrixXf& x, const std::vector<int32_t>& y, int classes);
    void setLayer(int layer);
    void clear();    // forgets grid and points and shows why there is no map
    void refresh();  // rebuilds and queues a replot only when something changed

    // What is drawn, for tests and the integrator.
    int shownLayer() const { return shown_layer_; }  // -1 while no grid is shown
    int expertAt(int row, int col) const;            // colour-map cell (row 0 = y_min); -1 when none
    QColor expertColor(int expert) const;            // the map's colour for `expert` at full confidence
    int pointCount() const;                          // data points drawn, all classes
    QString title() const;
    QString note() const;  // the centred note, "" when hidden
    QCustomPlot* customPlot() { return plot_; }

private:
    void rebuildMap();
    void rebuildPoints();
    void rebuildLegend();
    void showNote(const QString& text);

    QCustomPlot* plot_;
    QCPTextElement* title_;
    QCPColorMap* map_;
    QCPItemText* note_;
    std::vector<QCPGraph*> class_graphs_;     // one scatter per class
    std::vector<QCPGraph*> expert_swatches_;  // empty graphs: legend entries for the experts
    moescope::RegionGrid grid_;
    int layer_ = 0, shown_layer_ = -1;
    std::vector<char> expert_present_;  // experts owning at least one cell of the shown layer
    // The subsampled points by class, kept until the next setPoints/clear.
    std::vector<QVector<double>> point_x_, point_y_;
    bool map_dirty_ = false, points_dirty_ = false;
};
