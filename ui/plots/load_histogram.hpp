#pragma once
// Bars of the load share of every expert of one layer (this step, or the mean
// over the last `window` steps), coloured by utilisation (grey below the run's
// dead_util, the threshold of the dead count it shows), with the fair share
// 1/E as a dashed line and the mean router probability as diamonds.
#include <QColor>
#include <QString>
#include <QWidget>
#include <vector>

class QCustomPlot;
class QCPBars;
class QCPGraph;
class QCPTextElement;
class MetricsHistory;

class LoadHistogram : public QWidget {
    Q_OBJECT
public:
    explicit LoadHistogram(QWidget* parent = nullptr);

    void setHistory(const MetricsHistory* history);
    void setLayer(int layer);
    void setWindow(int steps);  // 1 = this step; n = mean over the last n steps
    void refresh();             // rebuilds only when the history, layer or window changed

    int barCount() const { return int(bars_.size()); }
    double barValue(int expert) const;
    QColor barColor(int expert) const;
    double meanProb(int expert) const;
    double fairShare() const { return fair_share_; }
    QString infoText() const;  // "dropped 3.1%   dead: 2"
    // Which run the bars show while branched ("branch"); empty when there is one run.
    void setRunName(const QString& name);
    QString titleText() const;
    QCustomPlot* customPlot() { return plot_; }

private:
    void ensureBars(int experts);
    double windowMean(const char* series, int expert, double fallback) const;

    QCustomPlot* plot_;
    std::vector<QCPBars*> bars_;
    QCPGraph* prob_;
    QCPGraph* fair_;
    QCPTextElement* info_;
    QCPTextElement* title_;
    const MetricsHistory* history_ = nullptr;
    int layer_ = 0, window_ = 1;
    double fair_share_ = 0;
    bool dirty_ = true;
    unsigned long built_version_ = 0;
};
