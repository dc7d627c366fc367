#include "run/run_session.hpp"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>
#include <QStringList>
#include <algorithm>

#include "io/snapshot.hpp"
#include "io/snapshot_history.hpp"
#include "nn/threads.hpp"
#include "run/watch_worker.hpp"
#include "train/knobs.hpp"

using namespace moescope;

namespace {
QString qs(const std::string& s) { return QString::fromStdString(s); }
}  // namespace

RunSession::RunSession(const Config& initial, QObject* parent)
    : QObject(parent), config_(initial), pending_config_(initial) {
    worker_ = new TrainingWorker;
    worker_->moveToThread(&thread_);
    connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
    // A run started before a watch began must not take the watched history over when its news arrives;
    // a snapshot asked for while watching (load) ends the watch when it resumes.
    connect(worker_, &TrainingWorker::runStarted, this,
            [this](const Config& cfg, int layers, int experts, const QString& summary) {
                if (source_ == Source::Training) onRunStarted(cfg, layers, experts, summary);
            });
    connect(worker_, &TrainingWorker::runResumed, this,
            [this](const Config& cfg, int layers, int experts, const QString& summary, long step) {
                if (source_ == Source::Training || pending_load_) onRunResumed(cfg, layers, experts, summary, step);
            });
    // A watched or opened history replaced the run: a last frame of the paused training is not part of it.
    // So is a last frame of the run a new one replaces, sent before the new one started.
    connect(worker_, &TrainingWorker::frameReady, this, [this](const MetricsFrame& f) {
        if (source_ == Source::Training && !starting_) onFrame(f);
    });
    connect(worker_, &TrainingWorker::failed, this, [this](const QString& msg) {
        starting_ = false;
        setPlaying(false);
        emit failed(msg);
    });
    connect(worker_, &TrainingWorker::knobRejected, this,
            [this](const QString&, const QString& msg) { emit knobRejected(msg); });
    connect(worker_, &TrainingWorker::resumeFailed, this, [this](const QString& msg) {
        pending_load_.reset();
        emit loadFailed(msg);
    });
    connect(worker_, &TrainingWorker::stateReady, this, &RunSession::onStateReady);
    connect(worker_, &TrainingWorker::branched, this, &RunSession::onBranched);
    connect(worker_, &TrainingWorker::branchFailed, this, &RunSession::branchFailed);
    connect(worker_, &TrainingWorker::unbranched, this, &RunSession::onUnbranched);
    connect(worker_, &TrainingWorker::engineChanged, this, [this](const QString& name, const QString& reason) {
        engine_name_ = name;
        engine_reason_ = reason;
        emit engineChanged(name, reason);
    });
    connect(worker_, &TrainingWorker::engineRefused, this, &RunSession::engineRefused);
    connect(worker_, &TrainingWorker::stopReached, this, [this](long step) {
        playing_ = false;
        emit stopReached(step);
    });
    thread_.setObjectName(QStringLiteral("moescope-training"));
    // Run on the training thread as it starts (no context object: a direct call): signals
    // such as QProcess's SIGCHLD go to the GUI thread, never into a running sgemm.
    // Five nice levels below the GUI thread: when both want a core the window keeps drawing and
    // answering; when the window is idle, training has the cores as before.
    connect(&thread_, &QThread::started, [] {
        moescope::threads::keep_signals_off_this_thread();
        moescope::threads::lower_this_thread_priority(kTrainingNiceSteps);
    });
    thread_.start();
}

RunSession::~RunSession() { stop(); }

void RunSession::stop() {
    if (watch_thread_.isRunning()) {
        stopWatching();
        watch_thread_.quit();
        watch_thread_.wait();  // the thread's deferred deletes (the last worker) run as it finishes
    }
    if (!thread_.isRunning()) return;
    worker_->setRunning(false);
    QMetaObject::invokeMethod(worker_, &TrainingWorker::shutdown, Qt::BlockingQueuedConnection);
    thread_.quit();
    thread_.wait();
}

// ---- the run --------------------------------------------------------------------

void RunSession::start(const Config& cfg) {
    stopWatching();
    setSource(Source::Training);
    dropBranch();
    pending_load_.reset();
    config_ = cfg;
    pending_config_ = cfg;
    history_.reset(cfg.layers, cfg.experts);
    steps_done_ = 0;
    saved_step_ = 0;
    starting_ = true;
    worker_->setRunning(playing_);
    QMetaObject::invokeMethod(worker_, [w = worker_, cfg] { w->startRun(cfg); });
}

void RunSession::setPlaying(bool playing) {
    playing_ = playing && !isReadOnly();  // a watched job trains elsewhere
    worker_->setRunning(playing_);
}

void RunSession::settle() {
    if (!thread_.isRunning()) return;
    QMetaObject::invokeMethod(
        worker_, [] {}, Qt::BlockingQueuedConnection);
    QCoreApplication::sendPostedEvents(this, QEvent::MetaCall);
}

void RunSession::stepOnce() {
    if (!playing_ && !isReadOnly()) QMetaObject::invokeMethod(worker_, &TrainingWorker::stepOnce);
}

void RunSession::applyKnob(const QString& name, const QString& value, const QString& source) {
    if (isReadOnly()) return;  // moescope cannot turn a watched job's knobs
    const bool branch = target() == TrainingWorker::Branch;
    QMetaObject::invokeMethod(worker_, [w = worker_, branch, name, value, source] {
        branch ? w->setBranchKnob(name, value, source) : w->setKnob(name, value, source);
    });
}

void RunSession::editStructural(const QString& name, const QString& value) {
    Config next = pending_config_;
    knob(name.toStdString()).set_text(next, value.toStdString());
    next.validate();
    pending_config_ = next;
}

void RunSession::setRegionsWanted(bool wanted) {
    regions_wanted_ = wanted;
    worker_->setRegionsWanted(wanted, target());
}

void RunSession::onRunStarted(const Config& cfg, int layers, int experts, const QString& summary) {
    starting_ = false;
    history_.reset(layers, experts);
    setRunFile(QString());
    adopt(cfg, layers, experts, summary);
}

void RunSession::adopt(const Config& cfg, int layers, int experts, const QString& summary) {
    config_ = cfg;
    pending_config_ = cfg;
    emit runAdopted(cfg, layers, experts, summary);
    emit viewsChanged();
}

void RunSession::onFrame(const MetricsFrame& frame) {
    for (const auto& m : frame.steps) history_.append(m);
    if (!frame.interventions.empty()) {
        history_.add_interventions(frame.interventions);
        for (const auto& iv : frame.interventions) {
            knob(iv.knob).set_text(config_, iv.new_value);
            // Reset keeps every edit the panel shows, live and structural; a lesson's script replays its own.
            if (iv.source != "script") knob(iv.knob).set_text(pending_config_, iv.new_value);
        }
    }
    bool branch_renamed = false;
    if (branch_history_ && frame.has_branch) {
        for (const auto& m : frame.branch_steps) branch_history_->append(m);
        if (!frame.branch_interventions.empty()) {
            branch_history_->add_interventions(frame.branch_interventions);
            for (const auto& iv : frame.branch_interventions) knob(iv.knob).set_text(branch_config_, iv.new_value);
            branch_renamed = true;  // the legend names the branch by its changes
        }
    }
    steps_done_ = frame.steps_done;
    if (frame.halted) setPlaying(false);
    if (branch_renamed || !frame.interventions.empty()) emit viewsChanged();
    emit frameApplied(frame);
}

// ---- snapshots ------------------------------------------------------------------

QString RunSession::autosavePath() const {
    QFileInfo info(run_file_);
    QString dir, stem;
    if (!run_file_.isEmpty()) {
        dir = info.absolutePath();
        stem = info.completeBaseName();
        if (stem.endsWith(QStringLiteral(".autosave"))) stem.chop(9);
    } else {
        dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/autosave");
        stem = qs(config_.name);
    }
    return dir + QLatin1Char('/') + stem + QStringLiteral(".autosave.moesnap");
}

void RunSession::save(const QString& path) {
    if (isReadOnly()) {
        if (path.isEmpty()) return;  // a watched run has no autosave
        try {
            saveHistory(path);
        } catch (const std::exception& e) {
            emit snapshotSaved(path, false, QString::fromUtf8(e.what()), history_.last_step(), false);
            return;
        }
        emit snapshotSaved(path, true, QString(), history_.last_step(), false);
        return;
    }
    // An autosave keeps the run the knobs act on. A save the user asked for keeps both runs
    // while branched: the named file holds the main run (what Open, the title and the unsaved
    // count follow), the branch goes beside it, so saving never silently drops either.
    if (path.isEmpty() || !isBranched()) {
        const int run = target();
        QMetaObject::invokeMethod(worker_, [w = worker_, run, path] { w->exportState(run, path); });
        return;
    }
    const QString beside = branchFilePath(path);
    QMetaObject::invokeMethod(worker_, [w = worker_, path, beside] {
        w->exportState(TrainingWorker::Main, path);
        w->exportState(TrainingWorker::Branch, beside);
    });
}

QString RunSession::branchFilePath(const QString& path) {
    const QFileInfo info(path);
    return info.dir().filePath(info.completeBaseName() + QStringLiteral("-branch.") +
                               (info.suffix().isEmpty() ? QStringLiteral("moesnap") : info.suffix()));
}

void RunSession::onStateReady(TrainerStatePtr state, const QString& requested, int run) {
    const bool autosave = requested.isEmpty();
    const QString path = autosave ? autosavePath() : requested;
    const MetricsHistory* history =
        run == TrainingWorker::Branch && branch_history_ ? branch_history_.get() : &history_;
    try {
        if (autosave) QDir().mkpath(QFileInfo(path).absolutePath());
        save_snapshot(path.toStdString(), *state, history);
    } catch (const std::exception& e) {
        emit snapshotSaved(path, false, QString::fromUtf8(e.what()), state->steps, autosave);
        return;
    }
    if (!autosave && run == TrainingWorker::Main) {
        saved_step_ = state->steps;
        setRunFile(path);
    }
    emit snapshotSaved(path, true, QString(), state->steps, autosave);
}

void RunSession::load(const QString& path) {
    Snapshot snap = load_snapshot(path.toStdString());
    auto state = std::make_shared<TrainerState>(std::move(snap.state));
    pending_load_ = std::make_unique<MetricsHistory>(std::move(snap.history));
    pending_load_path_ = path;
    // The training thread builds the trainer; until it says so, the current run is untouched.
    QMetaObject::invokeMethod(worker_, [w = worker_, st = TrainerStatePtr(state)] { w->resumeFrom(st); });
}

void RunSession::onRunResumed(const Config& cfg, int layers, int experts, const QString& summary, long step) {
    stopWatching();
    setSource(Source::Training);
    dropBranch();
    if (pending_load_)
        history_ = std::move(*pending_load_);
    else
        history_.reset(layers, experts);
    pending_load_.reset();
    setPlaying(false);
    steps_done_ = step;
    saved_step_ = step;
    setRunFile(pending_load_path_);
    adopt(cfg, layers, experts, summary);
    emit resumed(pending_load_path_, step);
}

void RunSession::setRunFile(const QString& path) {
    run_file_ = path;
    emit runFileChanged(path);
}

void RunSession::compareWith(const QString& path) {
    SavedHistory saved = load_history_snapshot(path.toStdString());
    ghost_ = std::make_unique<MetricsHistory>(std::move(saved.history));
    ghost_name_ = tr("%1 (step %2)").arg(QFileInfo(path).completeBaseName()).arg(saved.step);
    emit viewsChanged();
}

// ---- watched and saved histories ----------------------------------------------------

void RunSession::setSource(Source source) {
    if (source_ == source) return;
    source_ = source;
    emit sourceChanged(source);
}

void RunSession::stopWatching() {
    ++watch_generation_;
    if (!watcher_) return;
    QMetaObject::invokeMethod(watcher_, &WatchWorker::stop);
    watcher_->deleteLater();  // on its own thread, after the stop
    watcher_ = nullptr;
}

void RunSession::watch(const QString& path, int ep) {
    setPlaying(false);
    stopWatching();
    dropBranch();
    pending_load_.reset();
    setSource(Source::Watching);
    // Until the first step shows the job's shape, the plots show nothing of the previous run.
    history_.reset(history_.layers(), history_.experts());
    steps_done_ = 0;
    job_ = JobInfo{};
    job_.source = path.toStdString();
    job_warnings_.clear();
    setRunFile(QString());
    if (!watch_thread_.isRunning()) {
        watch_thread_.setObjectName(QStringLiteral("moescope-watch"));
        watch_thread_.start();
    }
    watcher_ = new WatchWorker;
    watcher_->moveToThread(&watch_thread_);
    const unsigned gen = watch_generation_;
    auto current = [this, gen] { return gen == watch_generation_; };
    connect(watcher_, &WatchWorker::watchStarted, this,
            [this, current](const QString& p, int layers, int experts, const QString& summary) {
                if (current()) onWatchStarted(p, layers, experts, summary);
            });
    connect(watcher_, &WatchWorker::frameReady, this, [this, current](const MetricsFrame& f) {
        if (!current()) return;
        noteEvents(f.events);
        onFrame(f);
    });
    connect(watcher_, &WatchWorker::jobChanged, this, [this, current](const JobInfo& j) {
        if (!current()) return;
        job_ = j;
        emit jobChanged(j);
    });
    connect(watcher_, &WatchWorker::problem, this, [this, current](const QString& msg) {
        if (current()) emit watchProblem(msg);
    });
    connect(watcher_, &WatchWorker::failed, this, [this, current](const QString& msg) {
        if (current()) emit watchFailed(msg);
    });
    emit viewsChanged();
    emit jobChanged(job_);
    QMetaObject::invokeMethod(watcher_, [w = watcher_, path, ep] { w->watch(path, ep, 0); });
}

void RunSession::onWatchStarted(const QString& path, int layers, int experts, const QString& summary) {
    history_.reset(layers, experts);
    steps_done_ = 0;
    emit watchStarted(path, layers, experts, summary);
    emit viewsChanged();
}

void RunSession::noteEvents(const std::vector<MonitorEvent>& events) {
    for (const MonitorEvent& ev : events) {
        if (ev.kind == MonitorEvent::Raised) {
            job_warnings_.push_back(ev.warning);
            continue;
        }
        for (auto it = job_warnings_.rbegin(); it != job_warnings_.rend(); ++it)
            if (it->active && it->id == ev.warning.id && it->layer == ev.warning.layer) {
                *it = ev.warning;
                break;
            }
    }
}

void RunSession::openHistory(const QString& path) {
    SavedHistory saved = load_history_snapshot(path.toStdString());
    setPlaying(false);
    stopWatching();
    dropBranch();
    pending_load_.reset();
    history_ = std::move(saved.history);
    job_ = saved.job;
    job_warnings_ = std::move(saved.warnings);
    steps_done_ = saved.step;
    setSource(Source::Saved);
    setRunFile(path);
    emit historyOpened(path, saved.step);
    emit jobChanged(job_);
    emit viewsChanged();
}

void RunSession::saveHistory(const QString& path) {
    JobInfo job = job_;
    job.layers = history_.layers();
    job.experts = history_.experts();
    job.last_step = history_.last_step();
    save_history_snapshot(path.toStdString(), job, history_, job_warnings_);
}

void RunSession::clearComparison() {
    ghost_.reset();
    emit viewsChanged();
}

// ---- branch and compare -----------------------------------------------------------

void RunSession::branch() {
    if (!isReadOnly()) QMetaObject::invokeMethod(worker_, &TrainingWorker::branch);
}

void RunSession::onBranched(long step, const Config& cfg, bool control) {
    // Frames before this one belong to the main run only, so the copy holds exactly the shared past.
    branch_history_ = std::make_unique<MetricsHistory>(history_.clone());
    branch_config_ = cfg;
    branch_step_ = step;
    control_branch_ = control;
    emit branchChanged(true);
    // Ctrl+B forks a run to change; the script's control is there to be compared with, the lesson goes on in main.
    setTarget(control ? TrainingWorker::Main : TrainingWorker::Branch);
    emit branched(step);
}

void RunSession::setBackend(moescope::Backend backend) {
    QMetaObject::invokeMethod(worker_, [w = worker_, backend] { w->setBackend(backend); });
}

void RunSession::endBranch(bool keepBranch) {
    if (!isBranched()) return;
    QMetaObject::invokeMethod(worker_, [w = worker_, keepBranch] { w->unbranch(keepBranch); });
}

void RunSession::onUnbranched(bool keptBranch) {
    if (keptBranch && branch_history_) {
        history_ = std::move(*branch_history_);
        config_ = branch_config_;
        pending_config_ = branch_config_;
        saved_step_ = std::min(saved_step_, branch_step_);  // no snapshot holds the branch's own steps
    }
    dropBranch();
    emit viewsChanged();
    emit unbranched(keptBranch);
}

void RunSession::dropBranch() {
    if (!branch_history_) return;
    branch_history_.reset();
    branch_step_ = -1;
    target_ = TrainingWorker::Main;
    worker_->setRegionsWanted(regions_wanted_, target_);
    emit branchChanged(false);
    emit viewsChanged();
}

void RunSession::setTarget(int run) {
    target_ = isBranched() ? run : int(TrainingWorker::Main);
    worker_->setRegionsWanted(regions_wanted_, target_);
    emit viewsChanged();
}

const MetricsHistory& RunSession::targetHistory() const {
    return target() == TrainingWorker::Branch ? *branch_history_ : history_;
}

const Config& RunSession::targetConfig() const { return target() == TrainingWorker::Branch ? branch_config_ : config_; }

namespace {
// "aux_weight 0.3, router_lr 0.05": the script's control knobs as `c` has them now.
QString control_values(const Config& script_owner, const Config& c) {
    QStringList values;
    for (const std::string& k : control_knobs(script_owner))
        values << qs(k) + QLatin1Char(' ') + qs(knob(k).get_text(c));
    return values.join(QStringLiteral(", "));
}
}  // namespace

QString RunSession::mainName() const {
    return isControlBranch() ? tr("lesson: %1").arg(control_values(config_, config_)) : QString();
}

QString RunSession::branchName() const {
    if (isControlBranch()) return tr("control: %1").arg(control_values(config_, branch_config_));
    // "branch: aux_weight → 0.1"
    QStringList changes;
    if (branch_history_)
        for (const Intervention& iv : branch_history_->interventions())
            if (iv.step >= branch_step_) changes << qs(iv.knob) + QString::fromUtf8(" \u2192 ") + qs(iv.new_value);
    while (changes.size() > 2) changes.removeFirst();
    return changes.isEmpty() ? tr("branch (no change yet)") : tr("branch: %1").arg(changes.join(QStringLiteral(", ")));
}
