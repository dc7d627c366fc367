#pragma once
// The window: run controls, knob panel, live plots and warnings. Thin by
// design: it wires panels to the TrainingWorker and to the MetricsHistory;
// every panel and plot is its own class.
#include <QLabel>
#include <QMainWindow>
#include <QThread>
#include <QTimer>
#include <vector>

#include "config.hpp"
#include "metrics_frame.hpp"
#include "metrics_history.hpp"

class QAction;
class QComboBox;
class QSlider;
class KnobPanel;
class LessonPanel;
class QDockWidget;
class WarningsPanel;
class TimePlot;
class LoadHistogram;
class LoadHeatmap;
class SpecialisationMap;
class TrainingWorker;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(const moescope::Config& initial, QWidget* parent = nullptr);
    ~MainWindow() override;

    // For tests and scripted screenshots.
    const MetricsHistory& history() const { return history_; }
    KnobPanel* knobPanel() const { return knobs_; }
    WarningsPanel* warningsPanel() const { return warnings_; }
    const std::vector<TimePlot*>& timePlots() const { return time_plots_; }
    LoadHistogram* loadHistogram() const { return histogram_; }
    LessonPanel* lessonPanel() const { return lesson_; }
    const moescope::Config& currentConfig() const { return config_; }
    bool isTrainingThreadRunning() const { return thread_.isRunning(); }
    long stepsDone() const { return steps_done_; }
    // Longest frame seen: rebuilding every plot's data plus painting them.
    double maxReplotMs() const { return max_replot_ms_; }

public slots:
    void startRun(const moescope::Config& cfg);
    void setPlaying(bool playing);
    void stepOnce();
    void resetRun();
    void selectPreset(const QString& name);
    void applyKnob(const QString& name, const QString& value, const QString& source);
    // Classroom mode: large fonts, advanced knobs hidden, lesson text prominent, full screen.
    void setClassroom(bool on);

signals:
    void runRequested(const moescope::Config& cfg);
    void knobRequested(const QString& name, const QString& value, const QString& source);
    void stepRequested();

protected:
    void closeEvent(QCloseEvent* event) override;

private slots:
    void onRunStarted(const moescope::Config& cfg, int layers, int experts, const QString& summary);
    void onFrame(const MetricsFrame& frame);
    void onFailed(const QString& message);
    void onStructuralKnob(const QString& name, const QString& value);
    void refreshPlots();

private:
    void buildToolbar();
    void buildPlots();
    void buildDocks();
    void buildShortcuts();
    void setLayer(int layer);
    void updateStatus(const MetricsFrame& frame);
    void stopWorker();

    moescope::Config config_;          // the run's config, kept in step with applied interventions
    moescope::Config pending_config_;  // structural edits waiting for a reset
    MetricsHistory history_;
    QThread thread_;
    TrainingWorker* worker_ = nullptr;
    QTimer replot_timer_;
    unsigned long plotted_version_ = 0;
    double max_replot_ms_ = 0;
    double last_refresh_ms_ = 0;
    long steps_done_ = 0;
    bool playing_ = false;

    KnobPanel* knobs_ = nullptr;
    WarningsPanel* warnings_ = nullptr;
    LessonPanel* lesson_ = nullptr;
    QDockWidget* lesson_dock_ = nullptr;
    QAction* classroom_action_ = nullptr;
    int normal_font_size_ = 0;
    std::vector<TimePlot*> time_plots_;
    LoadHistogram* histogram_ = nullptr;
    LoadHeatmap* heatmap_ = nullptr;
    SpecialisationMap* specialisation_ = nullptr;

    QAction* play_action_ = nullptr;
    QComboBox* preset_box_ = nullptr;
    QComboBox* layer_box_ = nullptr;
    QSlider* smoothing_ = nullptr;
    QLabel* step_label_ = nullptr;
    QLabel* rate_label_ = nullptr;
    QLabel* elapsed_label_ = nullptr;
    QLabel* backend_label_ = nullptr;
    QLabel* run_label_ = nullptr;
};
