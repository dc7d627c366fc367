#pragma once
// The phase diagram of a sweep: one coloured cell per (x, y) knob pair, filled
// as the sweep finishes it; colour = one sweep measure (healthy blue, unhealthy
// vermillion, whichever way the measure points); × on collapsed or halted
// cells; the collapse boundary (load entropy at the monitor's collapse
// threshold) drawn as lines between cells on either side of it, plus the
// shown measure's own monitor threshold dashed; the current run's knob values
// as a star. With several seeds a cell's colour is their median, a circle
// marks a cell whose seeds disagree about collapse (× only where every seed
// agrees) and the boundary runs only between cells whose seeds agree
// (issue 22: one seed's map is a coin flip near the line). Cells sit at index coordinates with the knob values as tick
// labels, so log and linear axes both give square cells. Hover: the cell's
// measures with their spread over seeds. Click: openRun with that cell's config.
#include <QString>
#include <QWidget>

#include <vector>

#include "run/metrics_frame.hpp"  // Config metatype
#include "train/sweep.hpp"

class QCustomPlot;
class QCPColorMap;
class QCPColorScale;
class QCPGraph;
class QCPItemLine;
class QCPTextElement;
class QMouseEvent;

class PhaseMap : public QWidget {
    Q_OBJECT
public:
    explicit PhaseMap(QWidget* parent = nullptr);

    void setSpec(const moescope::SweepSpec& spec);        // empties the map for a new sweep
    void addCell(const moescope::SweepCell& cell);        // one finished cell
    void setResult(const moescope::SweepResult& result);  // spec and all its cells
    void setMeasure(int measure);                         // a moescope::SweepMeasureId
    // The knob values of the run open in the main window (NaN: not on the map).
    void setCurrent(double x, double y);

    const moescope::SweepResult& result() const { return result_; }
    int measure() const { return measure_; }
    // What is drawn, for tests and the sweep window.
    int filledCells() const;
    int collapsedMarkers() const;
    int disputedMarkers() const;
    int contourSegments() const { return int(collapse_lines_.size()); }
    int thresholdSegments() const { return int(threshold_lines_.size()); }
    bool currentShown() const;
    double cellValue(int ix, int iy) const;  // the colour's value; NaN when the cell is empty
    QString cellToolTip(int ix, int iy) const;
    QPoint cellPixel(int ix, int iy) const;  // centre of a cell in plot widget pixels
    QCustomPlot* customPlot() { return plot_; }
    // .csv / .jsonl, one row per cell; false with the writer's message in `why`.
    bool exportCells(const QString& path, QString* why = nullptr) const;

signals:
    void openRun(const moescope::Config& cfg);

private:
    void rebuild();
    void rebuildAxes();
    void rebuildMarkers();
    void rebuildLines();
    void onMouseMove(QMouseEvent* event);
    void onMousePress(QMouseEvent* event);
    bool cellAt(const QPoint& pixel, int& ix, int& iy) const;
    double axisCoord(const moescope::SweepAxis& a, double value) const;

    QCustomPlot* plot_;
    QCPTextElement* title_;
    QCPColorMap* map_;
    QCPColorScale* scale_;
    QCPGraph* collapsed_;
    QCPGraph* disputed_;  // cells whose seeds disagree about collapse
    QCPGraph* current_;
    std::vector<QCPItemLine*> collapse_lines_, threshold_lines_;
    moescope::SweepResult result_;
    int measure_ = moescope::kLoadEntropy;
    double current_x_, current_y_;
};
