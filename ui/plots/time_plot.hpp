#pragma once
// A live line plot of MetricsHistory series against the step: several curves on
// a left and an optional right axis, EMA smoothing, a per-layer view, and a
// dashed marker wherever a knob was changed. Data is copied into the plot only
// when the history (or the view's layer / smoothing) changed since last time.
#include <qcustomplot.h>
#include <QColor>
#include <QString>
#include <QVector>
#include <QWidget>
#include <string>
#include <string_view>
#include <vector>

class QCustomPlot;

class QCPGraph;
class QCPAbstractItem;
class QCPTextElement;
class MetricsHistory;

struct CurveSpec {
    QString label;
    std::string series;      // MetricsHistory series name
    bool per_layer = false;  // follows setLayer(); otherwise a model-wide series
    QColor color;
    bool right_axis = false;
    bool dashed = false;
    bool scatter = false;  // markers, no line: for sparse series such as test_acc
    bool hidden = false;   // not drawn nor in the legend until setCurveShown (a curve for some runs only)
};

// Another run drawn over this plot's curves: a ghost loaded from a snapshot,
// or the branch of a branch-and-compare. Each of its curves takes the colour of
// the curve it mirrors, in this pen style; the legend gets one entry naming it.
struct PlotOverlay {
    QString name;  // legend text, e.g. "ghost: run.moesnap"
    QString tag;   // short prefix for its knob-change markers, e.g. "branch"
    const MetricsHistory* history = nullptr;
    Qt::PenStyle style = Qt::DashLine;
    double fork_step = -1;  // ≥ 0: a marker where it left the main run
};

class TimePlot : public QWidget {
    Q_OBJECT
public:
    static constexpr int kMaxDrawnPoints = 1024;  // per curve: two per pixel of a ~500 px plot
    static constexpr int kMaxDrawnMarkers = 256;  // per scatter curve (test accuracy): discs cost far more than lines
    TimePlot(const QString& title, std::vector<CurveSpec> curves, QWidget* parent = nullptr);

    void setHistory(const MetricsHistory* history);
    // Replaces the overlaid runs (empty: none). The histories must outlive the plot's use of them.
    void setOverlays(std::vector<PlotOverlay> overlays);
    int overlayCount() const { return int(overlays_.size()); }
    // Points drawn for overlay `o`'s copy of curve `curve` (tests).
    int overlayPointCount(int o, int curve) const;
    void setLayer(int layer);
    // Draws the curve of `series` (and lists it in the legend) or leaves it out.
    void setCurveShown(const std::string& series, bool shown);
    bool curveShown(const std::string& series) const;
    void setSmoothing(double alpha);            // EMA weight of the past: 0 = raw … 0.99
    void setYRange(double lo, double hi);       // fixed left axis; default: fit the data
    void setLogScale(bool log);                 // left axis logarithmic (losses spanning decades)
    void setRightYRange(double lo, double hi);  // fixed right axis; default: fit the data
    void setAxisLabels(const QString& left, const QString& right = {});
    // Copies new data into the graphs, updates intervention markers, queues a replot.
    void refresh();
    // Back to following the data on x (also on double-click).
    void resetView();

    int layer() const { return layer_; }
    const std::vector<CurveSpec>& curves() const { return curves_; }
    double smoothing() const { return alpha_; }
    bool followsData() const { return !user_view_; }
    int markerCount() const { return marker_count_; }
    int graphCount() const;
    QCustomPlot* customPlot() { return plot_; }
    int rebuildCount() const { return rebuilds_; }    // times the graph data was rebuilt
    double lastReplotMs() const { return last_ms_; }  // data rebuild + replot of the last refresh
    double maxReplotMs() const { return max_ms_; }

private:
    static void keep_envelope(QVector<QCPGraphData>& points, int max_points);
    void fillGraph(QCPGraph* graph, const MetricsHistory& history, const CurveSpec& curve, QVector<QCPGraphData>& buf);
    void rebuildData();
    void rebuildMarkers();
    void rebuildOverlayMarkers();
    void addMarker(std::vector<QCPAbstractItem*>& into, double step, const QString& text, Qt::PenStyle style);
    bool overlaysChanged() const;
    void fitRanges();
    void setXRangeQuietly(double lo, double hi);
    void onAfterReplot();
    static QPen overlayPen(const QColor& color, Qt::PenStyle style);
    QFont markerFont() const;
    void cullMarkerLabels();

    QCustomPlot* plot_;
    QCPTextElement* title_;
    std::vector<CurveSpec> curves_;
    std::vector<QCPGraph*> graphs_;
    QVector<QCPGraphData> scratch_;
    std::vector<QCPAbstractItem*> markers_;  // line + label per intervention
    std::vector<PlotOverlay> overlays_;
    std::vector<std::vector<QCPGraph*>> overlay_graphs_;  // [overlay][curve]
    std::vector<QCPGraph*> overlay_keys_;                 // one empty graph per overlay: its legend entry
    std::vector<unsigned long> overlay_versions_;         // history versions drawn
    std::vector<QCPAbstractItem*> overlay_markers_;
    size_t overlay_marker_count_ = 0;  // overlay interventions drawn
    int marker_count_ = 0;             // interventions drawn
    const MetricsHistory* history_ = nullptr;
    int layer_ = 0;
    double alpha_ = 0;
    bool fixed_y_ = false, fixed_y2_ = false;
    bool dirty_ = true;
    unsigned long built_version_ = 0;
    bool user_view_ = false;      // user zoomed or dragged x: stop following the data
    bool setting_range_ = false;  // our own range change, not the user's
    int rebuilds_ = 0;
    double pending_rebuild_ms_ = 0;
    double last_ms_ = 0, max_ms_ = 0;
};

// A curve of the metric table's `name` (a model-wide or per-layer metric the
// history keeps): label, series and per_layer from its MetricDef.
CurveSpec metricCurve(std::string_view name, const QColor& color, bool right_axis = false, bool dashed = false,
                      bool scatter = false);

// The window's time plots; each draws the metrics whose MetricDef::plot names it.
TimePlot* makeEntropyPlot(QWidget* parent = nullptr);
TimePlot* makeLossPlot(QWidget* parent = nullptr);
TimePlot* makeBalancePlot(QWidget* parent = nullptr);
// A watched job's router losses on the layer shown: the aux (balance) loss and z-loss its
// router log carries (aux_loss, z_loss), the training run's loss plot having nothing to show.
TimePlot* makeRouterLossPlot(QWidget* parent = nullptr);
