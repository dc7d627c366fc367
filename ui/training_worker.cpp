#include "training_worker.hpp"

#include <QMetaObject>
#include <chrono>

#include "error.hpp"
#include "trainer.hpp"

using namespace moescope;

TrainingWorker::TrainingWorker(QObject* parent) : QObject(parent) {
    qRegisterMetaType<moescope::Config>();
    qRegisterMetaType<MetricsFrame>();
}

TrainingWorker::~TrainingWorker() = default;

void TrainingWorker::setRunning(bool running) {
    running_ = running;
    // Wake the worker's loop; the timer lives in the worker thread.
    QMetaObject::invokeMethod(this, &TrainingWorker::tick, Qt::QueuedConnection);
}

void TrainingWorker::startRun(const Config& cfg) {
    if (!timer_) {
        timer_ = new QTimer(this);
        timer_->setInterval(0);
        connect(timer_, &QTimer::timeout, this, &TrainingWorker::tick);
    }
    timer_->stop();
    try {
        auto trainer = std::make_unique<Trainer>(cfg);
        trainer_ = std::move(trainer);
    } catch (const std::exception& e) {
        running_ = false;
        emit failed(QString::fromStdString(e.what()));
        return;
    }
    pending_ = {};
    elapsed_s_ = 0;
    interventions_sent_ = 0;
    since_frame_.start();
    emit runStarted(trainer_->config(), trainer_->config().layers, trainer_->config().experts,
                    QString::fromStdString(trainer_->dataset().summary));
    emitFrame();
    if (running_) timer_->start();
}

void TrainingWorker::setKnob(const QString& name, const QString& value, const QString& source) {
    if (!trainer_) return;
    try {
        trainer_->request_knob(name.toStdString(), value.toStdString(), source.toStdString());
    } catch (const Error& e) {
        emit knobRejected(name, QString::fromStdString(e.what()));
    }
    // A paused run still shows the change as soon as it is applied by the next step.
}

void TrainingWorker::stepOnce() {
    if (!trainer_ || running_) return;
    runSteps(1, 1000);
    emitFrame();
}

void TrainingWorker::shutdown() {
    running_ = false;
    if (timer_) timer_->stop();
    trainer_.reset();
}

void TrainingWorker::tick() {
    if (!trainer_ || !timer_) return;
    if (!running_) {
        timer_->stop();
        emitFrame();  // tells the window the run is paused
        return;
    }
    if (!timer_->isActive()) timer_->start();
    runSteps(-1, kSliceMs);
    if (!running_ || since_frame_.elapsed() >= kFrameIntervalMs) emitFrame();
}

void TrainingWorker::runSteps(long max_steps, int budget_ms) {
    QElapsedTimer slice;
    slice.start();
    for (long n = 0; max_steps < 0 || n < max_steps; ++n) {
        const StepMetrics& m = trainer_->step();
        elapsed_s_ += m.step_ms / 1000.0;
        pending_.steps.push_back(m);
        const auto& ev = trainer_->last_events();
        pending_.events.insert(pending_.events.end(), ev.begin(), ev.end());
        if (trainer_->halted()) {
            running_ = false;
            break;
        }
        if (slice.elapsed() >= budget_ms) break;
    }
}

void TrainingWorker::emitFrame() {
    if (!trainer_) return;
    const auto& iv = trainer_->interventions();
    pending_.interventions.assign(iv.begin() + long(interventions_sent_), iv.end());
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
    // Only the newest step needs the class × expert matrices; drop the rest before crossing threads.
    for (size_t i = 0; i + 1 < pending_.steps.size(); ++i)
        for (auto& l : pending_.steps[i].layers) l.class_expert.clear();
    emit frameReady(pending_);
    pending_ = {};
    since_frame_.restart();
}
