#pragma once
// Which experts each class's tokens go to, in the latest step of one layer:
// classes (rows) × experts (columns), each row normalised to the share of that
// class's tokens per top-1 expert; the title shows the NMI of (class, expert).
#include <QString>
#include <QWidget>

class QCustomPlot;
class QCPColorMap;
class QCPColorScale;
class QCPTextElement;
class MetricsHistory;

class SpecialisationMap : public QWidget {
    Q_OBJECT
public:
    explicit SpecialisationMap(QWidget* parent = nullptr);

    void setHistory(const MetricsHistory* history);
    void setLayer(int layer);
    void refresh();  // rebuilds only when the history or layer changed

    int classes() const { return classes_; }
    int experts() const { return experts_; }
    double cell(int cls, int expert) const;  // share of class `cls` tokens routed to `expert`
    QString title() const;
    QCustomPlot* customPlot() { return plot_; }

private:
    void clear();

    QCustomPlot* plot_;
    QCPTextElement* title_;
    QCPColorMap* map_;
    QCPColorScale* scale_;
    const MetricsHistory* history_ = nullptr;
    int layer_ = 0;
    int classes_ = 0, experts_ = 0;
    bool dirty_ = true;
    unsigned long built_version_ = 0;
};
