#include "run/training_worker.hpp"

#include <QMetaObject>
#include <algorithm>
#include <chrono>

#include "error.hpp"
#include "monitor/region_grid.hpp"
#include "monitor/token_experts.hpp"
#include "train/trainer.hpp"

using namespace moescope;

TrainingWorker::TrainingWorker(QObject* parent) : QObject(parent) {
    qRegisterMetaType<moescope::Config>();
    qRegisterMetaType<MetricsFrame>();
    qRegisterMetaType<TrainerStatePtr>();
}

TrainingWorker::~TrainingWorker() = default;

void TrainingWorker::setPace(double steps_per_s) {
    pace_ = std::max(0.0, steps_per_s);
    pace_restart_ = true;
}

long TrainingWorker::stepsDue(double pace, qint64 elapsed_ms, long done) {
    if (pace <= 0) return -1;  // unpaced: as many as the slice allows
    return std::max(0L, static_cast<long>(pace * static_cast<double>(elapsed_ms) / 1000.0) + 1 - done);
}

bool TrainingWorker::isStop(const Config& cfg, long step) {
    if (cfg.lesson_steps > 0 && step == cfg.lesson_steps) return true;
    return std::any_of(cfg.script.begin(), cfg.script.end(),
                       [step](const ScriptedChange& ch) { return ch.step == step; });
}

void TrainingWorker::setRunning(bool running) {
    if (running && !running_) pace_restart_ = true;  // no burst of "owed" steps after a pause
    running_ = running;
    // Wake the worker's loop; the timer lives in the worker thread.
    QMetaObject::invokeMethod(this, &TrainingWorker::tick, Qt::QueuedConnection);
}

void TrainingWorker::adopt(std::unique_ptr<Trainer> trainer) {
    if (!timer_) {
        timer_ = new QTimer(this);
        timer_->setInterval(0);
        connect(timer_, &QTimer::timeout, this, &TrainingWorker::tick);
    }
    trainer_ = std::move(trainer);
    branch_.reset();
    stopped_at_ = -1;
    pace_restart_ = true;
    pending_ = {};
    elapsed_s_ = 0;
    interventions_sent_ = trainer_->interventions().size();  // a resumed run's past ones are in its history
    last_autosave_ = trainer_->steps_done();
    points_sent_ = false;
    region_step_ = -1;
    token_span_.reset();
    token_step_ = -1;
    since_frame_.start();
    emitEngine();
}

void TrainingWorker::emitEngine() {
    emit engineChanged(QString::fromStdString(trainer_->engine().name()),
                       QString::fromStdString(trainer_->engine_reason()));
}

void TrainingWorker::setBackend(Backend backend) {
    if (!trainer_) {
        backend_ = backend;
        return;
    }
    std::unique_ptr<Trainer> main, branch;
    try {
        main = Trainer::from_state(trainer_->export_state(), backend);
        if (branch_) branch = Trainer::from_state(branch_->export_state(), backend);
    } catch (const std::exception& e) {
        emit engineRefused(QString::fromStdString(e.what()));
        return;
    }
    backend_ = backend;
    trainer_ = std::move(main);
    if (branch_) branch_ = std::move(branch);
    region_step_ = -1;
    emitEngine();
}

void TrainingWorker::startRun(const Config& cfg) {
    if (timer_) timer_->stop();
    std::unique_ptr<Trainer> trainer;
    try {
        trainer = std::make_unique<Trainer>(cfg, backend_);
    } catch (const std::exception& e) {
        running_ = false;
        emit failed(QString::fromStdString(e.what()));
        return;
    }
    adopt(std::move(trainer));
    emit runStarted(trainer_->config(), trainer_->config().layers, trainer_->config().experts,
                    QString::fromStdString(trainer_->dataset().summary));
    emitFrame();
    if (running_) timer_->start();
}

void TrainingWorker::resumeFrom(TrainerStatePtr state) {
    std::unique_ptr<Trainer> trainer;
    try {
        trainer = Trainer::from_state(*state, backend_);
    } catch (const std::exception& e) {
        emit resumeFailed(QString::fromStdString(e.what()));
        return;
    }
    if (timer_) timer_->stop();
    running_ = false;  // a loaded run opens paused: look first, then press Play
    adopt(std::move(trainer));
    elapsed_s_ = state->elapsed_s;  // the clock goes on from the saved run's time
    const Config& c = trainer_->config();
    emit runResumed(c, c.layers, c.experts, QString::fromStdString(trainer_->dataset().summary),
                    trainer_->steps_done());
    emitFrame();
}

void TrainingWorker::requestKnob(Trainer* trainer, const QString& name, const QString& value, const QString& source) {
    if (!trainer) return;
    try {
        trainer->request_knob(name.toStdString(), value.toStdString(), source.toStdString());
    } catch (const Error& e) {
        emit knobRejected(name, QString::fromStdString(e.what()));
    }
    // A paused run still shows the change as soon as it is applied by the next step.
}

void TrainingWorker::setKnob(const QString& name, const QString& value, const QString& source) {
    requestKnob(trainer_.get(), name, value, source);
}

void TrainingWorker::setBranchKnob(const QString& name, const QString& value, const QString& source) {
    requestKnob(branch_.get(), name, value, source);
}

void TrainingWorker::exportState(int run, const QString& path) {
    Trainer* t = run == Branch ? branch_.get() : trainer_.get();
    if (!t) return;
    emitFrame();  // the window's history then holds every step the state has seen
    auto state = std::make_shared<TrainerState>(t->export_state());
    state->elapsed_s = elapsed_s_;  // both runs step in lockstep: one clock
    emit stateReady(state, path, run);
}

void TrainingWorker::fork(bool control) {
    if (!trainer_) return;
    try {
        TrainerState state = trainer_->export_state();
        if (control) state.config = control_config(state.config);
        branch_ = Trainer::from_state(state, backend_);
    } catch (const std::exception& e) {
        emit branchFailed(QString::fromStdString(e.what()));
        return;
    }
    branch_interventions_sent_ = branch_->interventions().size();
    region_step_ = -1;
    emitFrame();
    emit branched(branch_->steps_done(), branch_->config(), control);
}

void TrainingWorker::unbranch(bool keepBranch) {
    if (!branch_) return;
    emitFrame();
    if (keepBranch) {
        trainer_ = std::move(branch_);
        interventions_sent_ = branch_interventions_sent_;
        token_step_ = -1;
    }
    branch_.reset();
    region_run_ = Main;
    region_step_ = -1;
    emit unbranched(keepBranch);
    emitFrame();
}

void TrainingWorker::stepOnce() {
    if (!trainer_ || running_) return;
    runSteps(1, 1000, false);  // a single step is the user's choice: it passes a stop
    emitFrame();
    maybeAutosave();
}

void TrainingWorker::shutdown() {
    running_ = false;
    if (timer_) timer_->stop();
    trainer_.reset();
    branch_.reset();
}

void TrainingWorker::tick() {
    if (!trainer_ || !timer_) return;
    if (!running_) {
        timer_->stop();
        emitFrame();  // tells the window the run is paused
        return;
    }
    if (!timer_->isActive()) timer_->start();
    const double pace = pace_;
    if (pace_restart_.exchange(false)) {
        pace_clock_.start();
        paced_steps_ = 0;
    }
    const long due = stepsDue(pace, pace_clock_.elapsed(), paced_steps_);
    // A paced run waits between steps on a short timer instead of spinning.
    timer_->setInterval(pace > 0 ? 5 : 0);
    if (due != 0) runSteps(due, kSliceMs);
    if (!running_ || since_frame_.elapsed() >= kFrameIntervalMs) emitFrame();
    maybeAutosave();
}

void TrainingWorker::runSteps(long max_steps, int budget_ms, bool honor_stops) {
    QElapsedTimer slice;
    slice.start();
    for (long n = 0; max_steps < 0 || n < max_steps; ++n) {
        const long at = trainer_->steps_done();
        if (honor_stops && stops_ && at != stopped_at_ && isStop(trainer_->config(), at)) {
            stopped_at_ = at;
            running_ = false;
            emit stopReached(at);
            break;
        }
        // The script's control run leaves here, before the change it controls for (unless a branch is open).
        if (!branch_ && at == control_step(trainer_->config())) fork(true);
        ++paced_steps_;
        const StepMetrics& m = trainer_->step();
        elapsed_s_ += m.step_ms / 1000.0;
        pending_.steps.push_back(m);
        const auto& ev = trainer_->last_events();
        pending_.events.insert(pending_.events.end(), ev.begin(), ev.end());
        // The branch takes its step right after: both runs advance together.
        if (branch_ && !branch_->halted()) pending_.branch_steps.push_back(branch_->step());
        maybeSample();
        if (trainer_->halted()) {
            running_ = false;
            break;
        }
        const long every = trainer_->config().autosave_every;
        if (slice.elapsed() >= budget_ms || (every > 0 && trainer_->steps_done() % every == 0))
            break;  // autosave on the step
    }
}

void TrainingWorker::setSampling(const SampleSettings& settings) {
    const std::lock_guard<std::mutex> lock(sampling_mutex_);
    sampling_ = settings;
}

SampleSettings TrainingWorker::sampling() const {
    const std::lock_guard<std::mutex> lock(sampling_mutex_);
    return sampling_;
}

void TrainingWorker::maybeSample() {
    const long step = trainer_->steps_done();
    if (!trainer_->config().is_lm() || trainer_->halted()) return;
    const SampleSettings s = sampling();
    if (s.every <= 0 || step % s.every != 0) return;
    LmSample sample;
    sample.step = step;
    sample.temperature = s.temperature;
    sample.prompt = s.prompt;
    try {
        // Seeded by the run and the step: the same run writes the same text at the same step.
        sample.text = trainer_->sample_text(
            {s.prompt, s.length, s.temperature},
            static_cast<uint64_t>(trainer_->config().seed) * 1000003u + static_cast<uint64_t>(step));
    } catch (const std::exception& e) {
        sample.error = e.what();
    }
    pending_.samples.push_back(std::move(sample));
}

void TrainingWorker::maybeAutosave() {
    const long every = trainer_ ? trainer_->config().autosave_every : 0;
    const long step = trainer_ ? trainer_->steps_done() : 0;
    if (every <= 0 || step % every != 0 || step == last_autosave_) return;
    last_autosave_ = step;
    exportState(Main, QString());  // empty path: the window picks the autosave file
}

void TrainingWorker::addRegionGrid() {
    Trainer* t = region_run_ == Branch && branch_ ? branch_.get() : trainer_.get();
    if (!supports_region_grid(t->dataset())) {
        pending_.region_unsupported = true;
        return;
    }
    if (!points_sent_) {
        const Dataset& d = t->dataset();
        pending_.region_points =
            std::make_shared<const RegionPoints>(RegionPoints{d.x_train, d.y_train, d.num_classes});
        points_sent_ = true;
    }
    if (!regions_wanted_ || t->steps_done() == region_step_) return;
    if (region_step_ >= 0 && since_region_.isValid() && since_region_.elapsed() < kRegionIntervalMs) return;
    try {
        RegionGrid grid = compute_region_grid(t->engine(), t->config(), t->dataset(), kRegionResolution);
        grid.step = t->steps_done();
        pending_.region = std::make_shared<const RegionGrid>(std::move(grid));
    } catch (const std::exception&) {
        pending_.region_unsupported = true;
    }
    region_step_ = t->steps_done();
    since_region_.start();
}

void TrainingWorker::addTokenExperts() {
    const Trainer& t = *trainer_;
    if (t.config().dataset != "text" && t.config().dataset != "lm") {
        pending_.tokens_unsupported = true;
        return;
    }
    const long step = t.steps_done();
    if (step == token_step_) return;
    // While playing at most every kTokenIntervalMs; a paused run always shows the step it stopped at.
    if (token_step_ >= 0 && running_ && since_tokens_.isValid() && since_tokens_.elapsed() < kTokenIntervalMs) return;
    try {
        if (!token_span_) {
            token_span_ = std::make_unique<const TextSpan>(make_text_span(t.config(), t.dataset(), kTokenChars));
            pending_.token_chars = std::make_shared<const std::vector<std::string>>(token_span_->chars);
        }
        TokenExperts te = compute_token_experts(trainer_->engine(), t.config(), *token_span_);
        te.step = step;
        pending_.token_experts = std::make_shared<const TokenExperts>(std::move(te));
    } catch (const std::exception&) {
        pending_.tokens_unsupported = true;
    }
    token_step_ = step;
    since_tokens_.start();
}

void TrainingWorker::emitFrame() {
    if (!trainer_) return;
    const auto& iv = trainer_->interventions();
    pending_.interventions.assign(iv.begin() + long(std::min(interventions_sent_, iv.size())), iv.end());
    interventions_sent_ = iv.size();
    pending_.active = trainer_->monitor().active();
    pending_.steps_done = trainer_->steps_done();
    double ms = 0;
    long tokens = 0;
    for (const auto& s : pending_.steps) ms += s.step_ms, tokens += trainer_->config().batch_tokens;
    pending_.tokens_per_s = ms > 0 ? tokens * 1000.0 / ms : 0;
    pending_.elapsed_s = elapsed_s_;
    pending_.running = running_;
    pending_.halted = trainer_->halted();
    if (branch_) {
        pending_.has_branch = true;
        const auto& biv = branch_->interventions();
        pending_.branch_interventions.assign(biv.begin() + long(std::min(branch_interventions_sent_, biv.size())),
                                             biv.end());
        branch_interventions_sent_ = biv.size();
        pending_.branch_active = branch_->monitor().active();
        pending_.branch_halted = branch_->halted();
    }
    addRegionGrid();
    addTokenExperts();
    // Only the newest step needs the class × expert matrices; drop the rest before crossing threads.
    for (auto* steps : {&pending_.steps, &pending_.branch_steps})
        for (size_t i = 0; i + 1 < steps->size(); ++i)
            for (auto& l : (*steps)[i].layers) l.class_expert.clear();
    emit frameReady(pending_);
    pending_ = {};
    since_frame_.restart();
}
