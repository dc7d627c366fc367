#pragma once
// Owns the Trainer on a background QThread (PlotJuggler style): the GUI talks
// to it only through queued slots carrying value types and the atomic
// `running` flag. Steps run in short slices from a zero-interval timer so the
// worker's event loop stays responsive to knob changes; metrics are coalesced
// into one MetricsFrame per ≥ 33 ms whatever the step rate.
//
// Branch and compare: a second Trainer forked from the main one's exact state
// steps in lockstep with it (main step, branch step, …), so both runs see the
// same wall-clock conditions and the same number of steps at every frame. A
// lesson script's control entry forks it by itself (Config::control_config):
// the branch is then the control that keeps the old knob value.
//
// Runs are built on the engine of setBackend (CPU until told otherwise).
#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QTimer>
#include <atomic>
#include <memory>
#include <mutex>

#include "engine/engine_factory.hpp"
#include "run/metrics_frame.hpp"
#include "train/config.hpp"

using TrainerStatePtr = std::shared_ptr<const moescope::TrainerState>;
Q_DECLARE_METATYPE(TrainerStatePtr)

class TrainingWorker : public QObject {
    Q_OBJECT
public:
    static constexpr int kFrameIntervalMs = 33;
    static constexpr int kSliceMs = 15;
    enum Run { Main = 0, Branch = 1 };

    explicit TrainingWorker(QObject* parent = nullptr);
    ~TrainingWorker() override;

    // Thread-safe: may be called from the GUI thread directly.
    void setRunning(bool running);
    bool isRunning() const { return running_.load(); }
    // Expert-region grids cost a forward pass over the plane: computed only while
    // the map is shown, for the given run (Main or Branch).
    void setRegionsWanted(bool wanted, int run = Main) {
        regions_wanted_ = wanted;
        region_run_ = run;
        region_step_ = -1;
    }
    // Pacing (thread-safe): at most `steps_per_s` steps a second, 0 = as fast as
    // the machine goes. With stops on, playing pauses before each scripted change
    // and at the lesson's end (Config::lesson_steps), and emits stopReached.
    void setPace(double steps_per_s);
    void setStops(bool on) { stops_ = on; }
    // Text the language model writes every `every` steps (lm runs; thread-safe): a
    // sample in the next frame, made on this thread between steps.
    void setSampling(const SampleSettings& settings);
    SampleSettings sampling() const;
    // Steps a paced run may take now: `pace`·elapsed, the first one at once, minus those done.
    static long stepsDue(double pace, qint64 elapsed_ms, long done);
    // Whether `step` is a stop of `cfg`: a scripted change comes due there, or the lesson ends.
    static bool isStop(const moescope::Config& cfg, long step);

    static constexpr int kRegionResolution = 48;  // 48² cells: ~7 ms for a lesson model
    static constexpr int kRegionIntervalMs = 250;
    static constexpr long kTokenChars = 480;  // characters of the text coloured by expert
    static constexpr int kTokenIntervalMs = 250;

public slots:
    void startRun(const moescope::Config& cfg);  // builds a new Trainer; emits runStarted or failed
    // Continues a saved run: emits runResumed, or resumeFailed leaving the current run untouched.
    void resumeFrom(TrainerStatePtr state);
    void stepOnce();
    void setKnob(const QString& name, const QString& value, const QString& source);
    void setBranchKnob(const QString& name, const QString& value, const QString& source);
    // Emits stateReady(run's state, path, run) after a frame holding every step up to it.
    void exportState(int run, const QString& path);
    void branch() { fork(false); }  // forks the main run; emits branched
    // Later runs are built on `backend`'s engine, and the running ones move to it from
    // their exact state: engineChanged, or engineRefused leaving them on the old engine.
    void setBackend(moescope::Backend backend);
    void unbranch(bool keepBranch);  // drops one of the two runs; emits unbranched
    void shutdown();                 // stops the timer and drops the trainer (runs on the worker thread)

signals:
    void runStarted(const moescope::Config& cfg, int layers, int experts, const QString& summary);
    void runResumed(const moescope::Config& cfg, int layers, int experts, const QString& summary, long step);
    void resumeFailed(const QString& message);
    void frameReady(const MetricsFrame& frame);
    void failed(const QString& message);
    void knobRejected(const QString& name, const QString& message);
    void stateReady(TrainerStatePtr state, const QString& path, int run);
    void branched(long step, const moescope::Config& cfg, bool control);  // control: forked by the script
    void engineChanged(const QString& name, const QString& reason);       // the engine runs are on, and why
    void engineRefused(const QString& message);
    void branchFailed(const QString& message);
    void unbranched(bool keptBranch);
    void stopReached(long step);  // playing paused itself at a stop (see setStops)

private slots:
    void tick();

private:
    void adopt(std::unique_ptr<moescope::Trainer> trainer);
    void fork(bool control);
    void emitEngine();
    void runSteps(long max_steps, int budget_ms, bool honor_stops = true);
    void emitFrame();
    void maybeAutosave();
    void addRegionGrid();
    void addTokenExperts();
    void maybeSample();
    void requestKnob(moescope::Trainer* trainer, const QString& name, const QString& value, const QString& source);

    std::unique_ptr<moescope::Trainer> trainer_, branch_;
    moescope::Backend backend_ = moescope::Backend::Cpu;
    QTimer* timer_ = nullptr;
    std::atomic<bool> running_{false};
    std::atomic<double> pace_{0};
    std::atomic<bool> stops_{false}, pace_restart_{true};
    QElapsedTimer pace_clock_;
    long paced_steps_ = 0;  // steps since pace_clock_ started
    long stopped_at_ = -1;  // the stop last paused at: Play continues past it
    MetricsFrame pending_;
    QElapsedTimer since_frame_;
    double elapsed_s_ = 0;
    size_t interventions_sent_ = 0, branch_interventions_sent_ = 0;
    long last_autosave_ = -1;
    std::atomic<bool> regions_wanted_{false};
    std::atomic<int> region_run_{Main};
    std::atomic<long> region_step_{-1};  // step of the last grid sent; -1: send one at the next frame
    bool points_sent_ = false;
    QElapsedTimer since_region_;
    std::unique_ptr<const moescope::TextSpan> token_span_;  // the main run's text, built on its first frame
    long token_step_ = -1;                                  // step of the last experts sent; -1: send at the next frame
    QElapsedTimer since_tokens_;
    mutable std::mutex sampling_mutex_;
    SampleSettings sampling_;
};
