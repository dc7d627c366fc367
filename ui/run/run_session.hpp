#pragma once
// One training session of the window, without widgets: the TrainingWorker on
// its thread, the run's config and history, a branch forked from it, a saved
// run to compare with, and a snapshot waiting for its run to resume. The
// window asks it for state and listens to its signals; tests and scripts drive
// it through the window's slots.
//
// The history may also come from a real job's router log (watch: a WatchWorker
// on its own thread) or from a history-only snapshot; such a run is read-only:
// the training worker stays paused and knob, step and branch requests are ignored.
#include <QObject>
#include <QString>
#include <QThread>
#include <memory>

#include <vector>

#include "io/snapshot_history.hpp"
#include "monitor/metrics_history.hpp"
#include "run/metrics_frame.hpp"
#include "run/training_worker.hpp"
#include "run/watch_worker.hpp"
#include "train/config.hpp"

class RunSession : public QObject {
    Q_OBJECT
public:
    // Where the history comes from: the training thread, a watched job's log, or a history-only snapshot.
    enum class Source { Training, Watching, Saved };
    // How many nice levels the training thread (and its OpenMP team) sits below the GUI thread.
    static constexpr int kTrainingNiceSteps = 5;

    explicit RunSession(const moescope::Config& initial, QObject* parent = nullptr);
    ~RunSession() override;

    // The main run.
    const moescope::Config& config() const { return config_; }  // kept in step with applied knob changes
    // What Reset starts: the run's config with every edit made in the panel (live knobs as
    // turned, structural edits waiting for a new run); a lesson script's changes are not
    // carried, the new run's script makes them again.
    const moescope::Config& pendingConfig() const { return pending_config_; }
    const MetricsHistory& history() const { return history_; }
    long stepsDone() const { return steps_done_; }
    bool isPlaying() const { return playing_; }
    bool isThreadRunning() const { return thread_.isRunning(); }
    QString runFile() const { return run_file_; }  // the file the run was last saved to or loaded from
    // Steps of the main run that no snapshot holds (0 for a read-only history): what a new
    // run, an opened file or closing would throw away. Autosaves do not count.
    long unsavedSteps() const { return isReadOnly() ? 0 : steps_done_ - saved_step_; }
    // Waits for the training thread to finish its slice and applies the frames it sent:
    // after a pause, stepsDone() is then the step a save would hold.
    void settle();
    // The file autosaves go to: next to the run's file, or in the app's data folder.
    QString autosavePath() const;

    // Branch and compare.
    bool isBranched() const { return branch_history_ != nullptr; }
    const MetricsHistory* branchHistory() const { return branch_history_.get(); }
    const moescope::Config& branchConfig() const { return branch_config_; }
    long branchStep() const { return branch_step_; }
    QString branchName() const;  // named by what was changed in it since the fork
    // A branch the lesson script forked as its control ("control: aux_weight 0"); the
    // main run is then named too ("lesson: aux_weight 0.3"), else mainName() is empty.
    bool isControlBranch() const { return isBranched() && control_branch_; }
    QString mainName() const;
    // TrainingWorker::Main or ::Branch: the run knobs act on and single-run plots show.
    int target() const { return isBranched() ? target_ : int(TrainingWorker::Main); }
    const MetricsHistory& targetHistory() const;
    const moescope::Config& targetConfig() const;

    // Watched and saved histories (read-only).
    Source source() const { return source_; }
    bool isReadOnly() const { return source_ != Source::Training; }
    const moescope::JobInfo& jobInfo() const { return job_; }
    // Every warning the watched job's monitor raised (cleared ones too), remedies in the job's flags.
    const std::vector<moescope::Warning>& jobWarnings() const { return job_warnings_; }

    // A saved run drawn over the time plots.
    const MetricsHistory* ghostHistory() const { return ghost_.get(); }
    QString ghostName() const { return ghost_name_; }

    void start(const moescope::Config& cfg);
    void reset() { start(pending_config_); }
    void setPlaying(bool playing);
    void stepOnce();                                                     // while paused
    void setPace(double steps_per_s) { worker_->setPace(steps_per_s); }  // 0: full speed
    void setStops(bool on) { worker_->setStops(on); }  // pause at scripted changes and the lesson's end
    void applyKnob(const QString& name, const QString& value, const QString& source);  // to the target run
    // Checks a structural edit and keeps it for the next reset; throws ConfigError on a bad value.
    void editStructural(const QString& name, const QString& value);
    void setRegionsWanted(bool wanted);
    void setSampling(const SampleSettings& settings) { worker_->setSampling(settings); }  // lm runs' samples
    // The engine runs train on; the running ones move to it (engineChanged or engineRefused follows).
    void setBackend(moescope::Backend backend);
    QString engineName() const { return engine_name_; }  // "cpu", "cuda"; empty before the first run
    QString engineReason() const { return engine_reason_; }

    // Asks the worker for the run's state: snapshotSaved follows. An empty path autosaves the
    // target run. While branched, `path` gets the main run and branchFilePath(path) the branch
    // (two snapshotSaved, the main run's first).
    void save(const QString& path);
    static QString branchFilePath(const QString& path);  // "run.moesnap" → "run-branch.moesnap"
    // Reads and checks the file now (throws on a bad file, the run untouched); the run then
    // continues from it, paused: resumed or loadFailed follows.
    void load(const QString& path);
    void compareWith(const QString& path);  // throws on a bad file; a run or a history-only snapshot

    // Follows a job's router log (file or directory) read-only; watchStarted or watchFailed follows.
    // `ep` is the expert-parallel size of a Megatron job (0: from the log's header, else 1).
    void watch(const QString& path, int ep = 0);
    // Shows a history-only snapshot read-only (throws DataError on a bad file).
    void openHistory(const QString& path);
    // Writes the watched (or opened) history as a history-only snapshot; throws DataError.
    void saveHistory(const QString& path);
    void clearComparison();
    void branch();
    void endBranch(bool keepBranch);
    void setTarget(int run);
    void stop();  // joins the training thread

signals:
    // A new or resumed run replaced the histories.
    void runAdopted(const moescope::Config& cfg, int layers, int experts, const QString& summary);
    void resumed(const QString& path, long step);
    void frameApplied(const MetricsFrame& frame);  // its steps are in the histories
    void failed(const QString& message);           // a run could not start
    void knobRejected(const QString& message);
    void loadFailed(const QString& message);
    void snapshotSaved(const QString& path, bool ok, const QString& message, long step, bool autosave);
    void branched(long step);
    void branchFailed(const QString& message);
    void unbranched(bool keptBranch);
    void branchChanged(bool branched);
    void stopReached(long step);  // playing paused itself at a lesson stop
    void engineChanged(const QString& name, const QString& reason);
    void engineRefused(const QString& message);  // the runs stay on the engine they were on
    // Which history each view shows, an overlay, or the target run's config changed.
    void viewsChanged();
    void runFileChanged(const QString& path);
    // Watching and saved histories.
    void watchStarted(const QString& path, int layers, int experts, const QString& summary);
    void watchFailed(const QString& message);
    void watchProblem(const QString& message);
    void jobChanged(const moescope::JobInfo& job);
    void historyOpened(const QString& path, long step);
    void sourceChanged(Source source);

private:
    void onRunStarted(const moescope::Config& cfg, int layers, int experts, const QString& summary);
    void onRunResumed(const moescope::Config& cfg, int layers, int experts, const QString& summary, long step);
    void onStateReady(TrainerStatePtr state, const QString& path, int run);
    void onBranched(long step, const moescope::Config& cfg, bool control);
    void onUnbranched(bool keptBranch);
    void onFrame(const MetricsFrame& frame);
    void adopt(const moescope::Config& cfg, int layers, int experts, const QString& summary);
    void dropBranch();
    void setRunFile(const QString& path);
    void setSource(Source source);
    void stopWatching();
    void onWatchStarted(const QString& path, int layers, int experts, const QString& summary);
    void noteEvents(const std::vector<moescope::MonitorEvent>& events);

    moescope::Config config_;
    moescope::Config pending_config_;
    MetricsHistory history_;
    QThread thread_;
    TrainingWorker* worker_ = nullptr;
    long steps_done_ = 0;
    long saved_step_ = 0;  // the main run's step in its last snapshot (saved or opened)
    bool playing_ = false;
    bool starting_ = false;  // a new run was asked for and has not started yet
    QString run_file_;
    bool regions_wanted_ = false;

    std::unique_ptr<MetricsHistory> pending_load_;  // a loaded history waiting for its run to resume
    QString pending_load_path_;
    std::unique_ptr<MetricsHistory> ghost_;
    QString ghost_name_;
    std::unique_ptr<MetricsHistory> branch_history_;  // set while branched
    moescope::Config branch_config_;
    long branch_step_ = -1;
    bool control_branch_ = false;
    QString engine_name_, engine_reason_;
    int target_ = TrainingWorker::Main;

    Source source_ = Source::Training;
    QThread watch_thread_;
    WatchWorker* watcher_ = nullptr;
    unsigned watch_generation_ = 0;  // frames of an earlier watch still queued are dropped
    moescope::JobInfo job_;
    std::vector<moescope::Warning> job_warnings_;
};
