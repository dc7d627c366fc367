#pragma once
// The window: run controls, knob panel, live plots and warnings. Thin by
// design: it wires panels to the TrainingWorker and to the MetricsHistory;
// every panel and plot is its own class.
#include <QLabel>
#include <QMainWindow>
#include <QStringList>
#include <QThread>
#include <QTimer>
#include <memory>
#include <vector>

#include "monitor/metrics_history.hpp"
#include "run/metrics_frame.hpp"
#include "run/training_worker.hpp"
#include "train/config.hpp"

class QAction;
class QMenu;
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
class RegionMap;

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
    RegionMap* regionMap() const { return regions_; }
    QDockWidget* regionDock() const { return regions_dock_; }
    const moescope::Config& currentConfig() const { return config_; }
    bool isTrainingThreadRunning() const { return thread_.isRunning(); }
    long stepsDone() const { return steps_done_; }
    // Longest frame seen: rebuilding every plot's data plus painting them.
    double maxReplotMs() const { return max_replot_ms_; }
    // Snapshots, comparison and branches (main_window_files.cpp).
    const MetricsHistory* ghostHistory() const { return ghost_.get(); }
    const MetricsHistory* branchHistory() const { return branch_history_.get(); }
    const moescope::Config& branchConfig() const { return branch_config_; }
    bool isBranched() const { return branch_history_ != nullptr; }
    int knobTarget() const;  // TrainingWorker::Main or ::Branch: the run knobs act on and single-run plots show
    QString runFile() const { return run_file_; }
    QStringList recentFiles() const;
    QString lastError() const { return last_error_; }
    // The file autosaves go to: next to the run's file, or in the app's data folder.
    QString autosavePath() const;

public slots:
    void startRun(const moescope::Config& cfg);
    void setPlaying(bool playing);
    void stepOnce();
    void resetRun();
    void selectPreset(const QString& name);
    void applyKnob(const QString& name, const QString& value, const QString& source);
    // Classroom mode: large fonts, advanced knobs hidden, lesson text prominent, full screen.
    void setClassroom(bool on);

    // Asks the training thread for the selected run's state and writes it with its
    // history; snapshotSaved reports the result. False only when no run exists.
    bool saveSnapshot(const QString& path);
    // Reads and checks the file now (false + lastError() on a bad file, the current
    // run untouched); the run then continues from it, paused: snapshotLoaded or loadFailed follows.
    bool loadSnapshot(const QString& path);
    // Draws a saved run's curves dashed over the time plots.
    bool compareWith(const QString& path);
    void clearComparison();
    // The selected run's history as CSV or JSONL (by extension).
    bool exportMetrics(const QString& path);
    // Every plot (PNG + PDF), the config, the metrics CSV and a report.md in one folder.
    bool exportReport(const QString& folder);
    // Forks the running training into two runs from the same state.
    void branchRun();
    // Ends the comparison keeping one run (the branch becomes the main run when kept).
    void endBranch(bool keepBranch);
    void setKnobTarget(int run);

signals:
    void runRequested(const moescope::Config& cfg);
    void knobRequested(const QString& name, const QString& value, const QString& source);
    void stepRequested();
    void snapshotSaved(const QString& path, bool ok, const QString& message);
    void snapshotLoaded(const QString& path);
    void loadFailed(const QString& message);
    void branchChanged(bool branched);

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private slots:
    void onRunStarted(const moescope::Config& cfg, int layers, int experts, const QString& summary);
    void onRunResumed(const moescope::Config& cfg, int layers, int experts, const QString& summary, long step);
    void onStateReady(TrainerStatePtr state, const QString& path, int run);
    void onBranched(long step, const moescope::Config& cfg);
    void onUnbranched(bool keptBranch);
    void onFrame(const MetricsFrame& frame);
    void onFailed(const QString& message);
    void onStructuralKnob(const QString& name, const QString& value);
    void refreshPlots();

private:
    void buildMenus();
    void buildToolbar();
    void adoptRun(const moescope::Config& cfg, int layers, int experts, const QString& summary);
    void attachHistories();
    void updateOverlays();
    void dropBranch();
    void addRecent(const QString& path);
    void rebuildRecentMenu();
    void setRunFile(const QString& path);
    void showError(const QString& title, const QString& message);
    MetricsHistory& targetHistory();
    QString branchName() const;
    // File actions with dialogs (the slots above stay dialog-free for tests and scripts).
    void openDialog();
    void saveAsDialog();
    void compareDialog();
    void exportMetricsDialog();
    void exportReportDialog();
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
    RegionMap* regions_ = nullptr;
    QDockWidget* regions_dock_ = nullptr;

    QAction* play_action_ = nullptr;
    QComboBox* preset_box_ = nullptr;
    QComboBox* layer_box_ = nullptr;
    QSlider* smoothing_ = nullptr;
    QLabel* step_label_ = nullptr;
    QLabel* rate_label_ = nullptr;
    QLabel* elapsed_label_ = nullptr;
    QLabel* backend_label_ = nullptr;
    QLabel* run_label_ = nullptr;

    // Snapshots, comparison, branch.
    QString run_file_;  // the file the run was last saved to or loaded from
    QString last_error_;
    bool interactive_ = false;                      // errors from a menu action also get a dialog
    std::unique_ptr<MetricsHistory> pending_load_;  // a loaded history waiting for its run to resume
    QString pending_load_path_;
    std::unique_ptr<MetricsHistory> ghost_;
    QString ghost_name_;
    std::unique_ptr<MetricsHistory> branch_history_;  // set while branched
    moescope::Config branch_config_;
    long branch_step_ = -1;
    QMenu* recent_menu_ = nullptr;
    QAction* branch_action_ = nullptr;
    QAction* keep_main_action_ = nullptr;
    QAction* keep_branch_action_ = nullptr;
    QAction* clear_compare_action_ = nullptr;
    QComboBox* target_box_ = nullptr;
    QAction* target_box_action_ = nullptr;
};
