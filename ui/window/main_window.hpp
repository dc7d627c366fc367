#pragma once
// The window: menus, toolbar, docks and the signals between them. The run
// lives in a RunSession (worker thread, histories, branch, saved-run ghost),
// the plots in a PlotGrid; every panel and plot is its own class.
#include <QByteArray>
#include <QLabel>
#include <QMainWindow>
#include <QStringList>
#include <functional>
#include <vector>

#include "monitor/metrics_history.hpp"
#include "monitor/monitor.hpp"
#include "plots/plot_grid.hpp"
#include "run/metrics_frame.hpp"
#include "run/run_session.hpp"
#include "train/config.hpp"
#include "window/engine_chooser.hpp"

class QAction;
class QComboBox;
class QMenu;
class QSlider;
class QToolBar;
class KnobPanel;
class JobInfoPanel;
class LessonPacer;
class LessonPanel;
class QStackedWidget;
class QDockWidget;
class WarningsPanel;
class RecentFiles;
class SweepWindow;
class LessonBrowser;
class TokenView;
class SamplePanel;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(const moescope::Config& initial, QWidget* parent = nullptr);
    ~MainWindow() override;

    // For tests and scripted screenshots.
    RunSession& session() { return *session_; }
    const MetricsHistory& history() const { return session_->history(); }
    KnobPanel* knobPanel() const { return knobs_; }
    JobInfoPanel* jobInfoPanel() const { return job_info_; }
    // A watched job or a watched job's saved history: nothing to train, no knob to turn.
    bool isReadOnly() const { return session_->isReadOnly(); }
    QString runLabel() const { return run_label_->text(); }  // the status bar's permanent text
    WarningsPanel* warningsPanel() const { return warnings_; }
    const Plots& plots() const { return grid_->plots(); }
    PlotGrid* plotGrid() const { return grid_; }
    std::vector<TimePlot*> timePlots() const { return grid_->timePlots(); }
    LoadHistogram* loadHistogram() const { return grid_->plots().load; }
    LessonPanel* lessonPanel() const { return lesson_; }
    RegionMap* regionMap() const { return grid_->plots().regions; }
    QDockWidget* regionDock() const { return regions_dock_; }
    TokenView* tokenView() const { return tokens_; }
    QDockWidget* tokenDock() const { return tokens_dock_; }
    SamplePanel* samplePanel() const { return samples_; }
    QDockWidget* sampleDock() const { return samples_dock_; }
    QString backendText() const { return backend_label_->text(); }  // the engine that runs, and why
    EngineChooser* engineChooser() const { return engine_box_; }
    // The engines the app offers (gui_main asks the build and the GPU) and the one to run on;
    // an unavailable `initial` is refused in the status bar and the run stays where it is.
    void setEngineOptions(std::vector<EngineOption> options, moescope::Backend initial);
    QString rateText() const { return rate_label_->text(); }
    // The longest texts the rate counter shows ("9,999,999 tok/s" …): it is never narrower.
    static QStringList widestRateTexts();
    LessonPacer* pacer() const { return pacer_; }
    const moescope::Config& currentConfig() const { return session_->config(); }
    bool isTrainingThreadRunning() const { return session_->isThreadRunning(); }
    long stepsDone() const { return session_->stepsDone(); }
    // Longest frame seen: rebuilding every plot's data plus painting them.
    double maxReplotMs() const { return grid_->maxFrameMs(); }
    const MetricsHistory* ghostHistory() const { return session_->ghostHistory(); }
    const MetricsHistory* branchHistory() const { return session_->branchHistory(); }
    const moescope::Config& branchConfig() const { return session_->branchConfig(); }
    bool isBranched() const { return session_->isBranched(); }
    int knobTarget() const { return session_->target(); }
    QString runFile() const { return session_->runFile(); }
    QStringList recentFiles() const;
    QString lastError() const { return last_error_; }
    QString autosavePath() const { return session_->autosavePath(); }
    QString statusText() const;  // the status bar's message now (empty when none)

    // What the window asks, answered without a dialog (tests and scripts): `question` gets the
    // unsaved-run question and answers QMessageBox::Save, Discard or Cancel; `savePath` gets the
    // suggested file name and answers the file to save to ("" cancels). Unset: the dialog shows
    // (on the offscreen platform, where nobody can answer, the question is taken as Discard).
    struct DialogAnswers {
        std::function<int(const QString& question)> question;
        std::function<QString(const QString& suggested)> savePath;
    };
    void setDialogAnswers(DialogAnswers answers) { answers_ = std::move(answers); }
    bool hasUnsavedSteps() const { return session_->unsavedSteps() > 0; }
    // Before `action` ("switch to preset X") throws the run away: asks Save / Discard / Cancel
    // when it has unsaved steps, the run paused meanwhile. True when the action may go ahead.
    bool confirmDiscard(const QString& action);
    // An error found before the window opened (a bad file on the command line): a dialog and
    // the status bar, so a launch from the desktop, with no terminal, still shows it.
    void showStartupError(const QString& message);
    // The launch size: the saved geometry when there is one, else `preferred`; either way
    // shrunk and moved to fit the screen's available area (a layout saved on a larger screen
    // must not run off a projector's). `available`: the screen's available area (tests), else the window's screen's.
    void placeOnScreen(QSize preferred, QRect available = QRect());
    // A lesson that starts at step 0, paused, with a Continue banner (the tokens lesson: its
    // colours before training are part of it); the command line then does not press Play.
    static bool opensPaused(const moescope::Config& cfg);

public slots:
    void startRun(const moescope::Config& cfg);
    void setPlaying(bool playing);
    void stepOnce() { session_->stepOnce(); }
    void resetRun();
    void selectPreset(const QString& name);
    void applyKnob(const QString& name, const QString& value, const QString& source) {
        session_->applyKnob(name, value, source);
    }
    // Classroom mode: large fonts, advanced knobs hidden, lesson text prominent, full screen.
    void setClassroom(bool on);

    // Asks the training thread for the selected run's state and writes it with its
    // history; snapshotSaved reports the result. False only when no run exists.
    bool saveSnapshot(const QString& path);
    // Reads and checks the file now (false + lastError() on a bad file, the current
    // run untouched); the run then continues from it, paused: snapshotLoaded or loadFailed follows.
    bool loadSnapshot(const QString& path);
    // Draws a saved run's curves dashed over the time plots (a run or a watched job's history).
    bool compareWith(const QString& path);
    // Follows a real job's router log (a file, or a directory of rank files), read-only:
    // the plots fill as it grows. False + lastError() when there is nothing at `path`;
    // a log that cannot be read is reported when the watch starts (watchFailed).
    // `ep`: the expert-parallel size of a Megatron job (0: from the log's header, else 1).
    bool watchRun(const QString& path, int ep = 0);
    void clearComparison();
    // The selected run's history as CSV or JSONL (by extension).
    bool exportMetrics(const QString& path);
    // Every plot (PNG + PDF) beside the core report: config, metrics CSV and report.md.
    bool exportReport(const QString& folder);
    // Forks the running training into two runs from the same state.
    void branchRun();
    // Ends the comparison keeping one run (the branch becomes the main run when kept).
    void endBranch(bool keepBranch) { session_->endBranch(keepBranch); }
    void setKnobTarget(int run) { session_->setTarget(run); }
    // Run → Phase diagram: the sweep window on the current run's config; a
    // clicked cell's run opens here.
    SweepWindow* openSweepWindow();
    // A saved sweep in that window (nullptr + lastError() when it cannot be read). A clicked
    // cell's run asks before replacing an unsaved run, then opens here, raised.
    SweepWindow* openSweepFile(const QString& path);
    // Help → Lessons…: every lesson with its title, one line and length; choosing one starts it.
    LessonBrowser* openLessonBrowser();

signals:
    void snapshotSaved(const QString& path, bool ok, const QString& message);
    void snapshotLoaded(const QString& path);
    void loadFailed(const QString& message);
    void branchChanged(bool branched);
    void watchFailed(const QString& message);

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void buildMenus();
    void buildToolbar();                                // main_window_toolbar.cpp
    void buildPresetAndLayer(QToolBar* bar);            // main_window_toolbar.cpp
    void buildViewControls(QToolBar* bar);              // main_window_toolbar.cpp
    void orderToolbar(bool classroom);                  // the lecturer's group first in classroom mode
    static QString tokensPerSecondText(double per_s);   // "12,345 tok/s" (main_window_toolbar.cpp)
    static QString recordsPerSecondText(double per_s);  // a watched job's rate
    void buildDocks();
    void buildShortcuts();
    void buildPacer();
    void buildTokenDock();                                 // main_window_tokens.cpp
    void showTokens(const MetricsFrame& frame);            // main_window_tokens.cpp
    void buildSampleDock();                                // main_window_samples.cpp
    void adoptLanguageModel(const moescope::Config& cfg);  // main_window_samples.cpp
    void showSamples(const MetricsFrame& frame);           // main_window_samples.cpp
    void buildEngineChooser(QToolBar* bar);                // main_window_engine.cpp
    void showEngine(const QString& name, const QString& reason);
    void connectSession();
    void onRunAdopted(const moescope::Config& cfg, int layers, int experts, const QString& summary);
    void onFrame(const MetricsFrame& frame);
    void onSnapshotSaved(const QString& path, bool ok, const QString& message, long step, bool autosave);
    void onBranchChanged(bool branched);
    void onSourceChanged(RunSession::Source source);
    void onWatchStarted(const QString& path, int layers, int experts, const QString& summary);
    void onHistoryOpened(const QString& path, long step);
    void showLayers(int layers);
    void updateHiddenPlots();                                           // main_window_lecture.cpp
    void fitStatusLabels();                                             // main_window_toolbar.cpp
    void showWorstLayer(const std::vector<moescope::Warning>& active);  // until the user picks a layer
    void onStructuralKnob(const QString& name, const QString& value);
    void updateViews();
    void updateStatus(const MetricsFrame& frame);
    void setRunTitle(const QString& path);
    void showError(const QString& title, const QString& message);
    // File actions with dialogs (the slots above stay dialog-free for tests and scripts).
    void openDialog();
    void saveAsDialog();
    void compareDialog();
    void watchDialog(bool directory);
    void exportMetricsDialog();
    void exportReportDialog();
    template <class F>
    void interactively(F action);  // errors during `action` also get a dialog
    // The unsaved-run question and the save-as chooser (main_window_prompts.cpp).
    int askQuestion(const QString& question);
    QString askSavePath();                  // pauses and names the file at the step it will hold; "" when cancelled
    bool saveAndWait(const QString& path);  // true once the file is written
    void askedReset();
    // A status message about a state (paused after opening, halted, a pending model change):
    // it stays until that state ends, then clearStateMessage() removes it.
    void showStateMessage(const QString& message);
    void clearStateMessage();

    SweepWindow* sweeps_ = nullptr;
    RunSession* session_ = nullptr;
    PlotGrid* grid_ = nullptr;
    KnobPanel* knobs_ = nullptr;
    JobInfoPanel* job_info_ = nullptr;
    QStackedWidget* side_ = nullptr;  // the knobs, or the watched job's info
    QDockWidget* side_dock_ = nullptr;
    WarningsPanel* warnings_ = nullptr;
    LessonPanel* lesson_ = nullptr;
    QDockWidget* lesson_dock_ = nullptr;
    QDockWidget* regions_dock_ = nullptr;
    TokenView* tokens_ = nullptr;
    QDockWidget* tokens_dock_ = nullptr;
    SamplePanel* samples_ = nullptr;
    QDockWidget* samples_dock_ = nullptr;
    RecentFiles* recent_ = nullptr;

    QMenu* run_menu_ = nullptr;
    LessonPacer* pacer_ = nullptr;
    QAction* play_action_ = nullptr;
    QAction* step_action_ = nullptr;
    QAction* classroom_action_ = nullptr;
    QAction* all_plots_action_ = nullptr;  // classroom mode: every plot, not only the lesson's
    QAction* branch_action_ = nullptr;
    QAction* keep_main_action_ = nullptr;
    QAction* keep_branch_action_ = nullptr;
    QAction* clear_compare_action_ = nullptr;
    QAction* target_box_action_ = nullptr;
    QComboBox* target_box_ = nullptr;
    QComboBox* preset_box_ = nullptr;
    std::vector<QAction*> training_only_;  // toolbar items that do nothing for a watched job
    QList<QAction*> view_group_;           // Preset and Layer: first, or after the lecturer's group
    QAction* lecture_start_ = nullptr;     // the lecturer's group: the speed box …
    QAction* lecture_end_ = nullptr;       // … to the separator after All plots
    EngineChooser* engine_box_ = nullptr;
    QComboBox* layer_box_ = nullptr;
    QSlider* smoothing_ = nullptr;
    QLabel* step_label_ = nullptr;
    QLabel* rate_label_ = nullptr;
    QLabel* elapsed_label_ = nullptr;
    QLabel* backend_label_ = nullptr;
    QLabel* run_label_ = nullptr;

    int normal_font_size_ = 0;
    QByteArray normal_geometry_, normal_state_;  // the layout before classroom mode; empty outside it
    QString last_error_;
    bool restored_geometry_ = false;  // a saved geometry was restored at construction
    bool layer_picked_ = false;       // the user chose the layer (box or a warning) since the run began
    QString held_at_start_;           // the run starting now opens paused at step 0 (opensPaused): its name
    QString saved_branch_file_;       // where the branch of the save in progress goes; empty when none
    QString state_message_;
    QString critical_message_;  // the critical warning the status bar shows, if any
    DialogAnswers answers_;
    bool interactive_ = false;
};
