#pragma once
// The phase diagram of a sweep: one coloured cell per (x, y) knob pair, filled
// as the sweep finishes it; colour = one sweep measure (healthy blue, unhealthy
// vermillion, whichever way the measure points); × on collapsed or halted
// cells; the collapse boundary (load entropy at the monitor's collapse
// threshold) drawn as lines between cells on either side of it, plus the
// shown measure's own monitor threshold dashed; the current run's knob values
// as a star; the colour bar marks the threshold where the colour flips
// (labelled "collapse" on the load-entropy map). With several seeds a cell's colour is their median, a circle
// marks a cell whose seeds disagree about collapse (× only where every seed
// agrees) and the boundary runs only between cells whose seeds agree
// (issue 22: one seed's map is a coin flip near the line). Cells sit at index coordinates with the knob values as tick
// labels, so log and linear axes both give square cells. Hover: the cell's
// measures with their spread over seeds. Click: openRun with that cell's config.
// A finished or loaded sweep that lacks cells (a partial cluster merge, a
// cancelled sweep) shows each missing one hatched grey; while a sweep runs,
// its cells still to come stay blank.
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
class QCPItemText;
class QCPTextElement;
class QMouseEvent;
class MissingCells;

class PhaseMap : public QWidget {
    Q_OBJECT
public:
    explicit PhaseMap(QWidget* parent = nullptr);

    void setSpec(const moescope::SweepSpec& spec);  // empties the map for a new sweep
    void addCell(const moescope::SweepCell& cell);  // one finished cell
    // Spec and all its cells: the grid's other cells are missing (not run).
    void setResult(const moescope::SweepResult& result);
    void setMeasure(int measure);  // a moescope::SweepMeasureId
    // The knob values of the run open in the main window (NaN: not on the map).
    void setCurrent(double x, double y);

    const moescope::SweepResult& result() const { return result_; }
    int measure() const { return measure_; }
    // What is drawn, for tests and the sweep window.
    int filledCells() const;
    int collapsedMarkers() const;
    int disputedMarkers() const;
    int missingCells() const;
    bool isMissing(int ix, int iy) const;  // in the grid, not run, and the sweep is not running
    int contourSegments() const { return int(collapse_lines_.size()); }
    int thresholdSegments() const { return int(threshold_lines_.size()); }
    bool currentShown() const;
    // The colour bar's threshold mark (a line across the bar and its label), for tests;
    // hidden when the measure has no threshold.
    QCPItemLine* colourBarMark() const { return bar_mark_; }
    QCPItemText* colourBarMarkLabel() const { return bar_mark_label_; }
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
    void placeBarMark(double threshold);
    void onMouseMove(QMouseEvent* event);
    void onMousePress(QMouseEvent* event);
    bool cellAt(const QPoint& pixel, int& ix, int& iy) const;
    double axisCoord(const moescope::SweepAxis& a, double value) const;

    QCustomPlot* plot_;
    QCPTextElement* title_;
    QCPColorMap* map_;
    QCPColorScale* scale_;
    MissingCells* missing_;
    QCPGraph* collapsed_;
    QCPGraph* disputed_;  // cells whose seeds disagree about collapse
    QCPGraph* current_;
    std::vector<QCPItemLine*> collapse_lines_, threshold_lines_;
    QCPItemLine* bar_mark_;
    QCPItemText* bar_mark_label_;
    moescope::SweepResult result_;
    int measure_ = moescope::kLoadEntropy;
    bool mark_missing_ = false;  // set by setResult, cleared by setSpec (a sweep starting)
    double current_x_, current_y_;
};
