#pragma once
// The load of every expert of one layer over the whole run: experts (rows) ×
// steps (columns, at most 600 bins, each the mean of its points). A collapse
// shows as one bright row; a dead expert as a dark one.
#include <QWidget>

class QCustomPlot;
class QCPColorGradient;
class QCPColorMap;
class QCPColorScale;
class QCPTextElement;
class MetricsHistory;

// Dark (low) → bright (high), from theme colours; shared with SpecialisationMap.
QCPColorGradient heatmapGradient();

class LoadHeatmap : public QWidget {
    Q_OBJECT
public:
    static constexpr int kMaxBins = 600;

    explicit LoadHeatmap(QWidget* parent = nullptr);

    void setHistory(const MetricsHistory* history);
    void setLayer(int layer);
    // Which run the map shows while branched ("branch"); empty when there is one run.
    void setRunName(const QString& name);
    void refresh();  // rebuilds only when the history or layer changed

    int stepBins() const { return bins_; }
    double cell(int expert, int bin) const;  // mean load of `expert` in step bin `bin`
    double colorMax() const;                 // top of the colour scale
    QCustomPlot* customPlot() { return plot_; }

private:
    void clear();

    QCustomPlot* plot_;
    QCPColorMap* map_;
    QCPColorScale* scale_;
    QCPTextElement* title_;
    const MetricsHistory* history_ = nullptr;
    int layer_ = 0;
    int bins_ = 0, experts_ = 0;
    bool dirty_ = true;
    unsigned long built_version_ = 0;
};
