#pragma once
// Owns the Trainer on a background QThread (PlotJuggler style): the GUI talks
// to it only through queued slots carrying value types and the atomic
// `running` flag. Steps run in short slices from a zero-interval timer so the
// worker's event loop stays responsive to knob changes; metrics are coalesced
// into one MetricsFrame per ≥ 33 ms whatever the step rate.
#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QTimer>
#include <atomic>
#include <memory>

#include "config.hpp"
#include "metrics_frame.hpp"


class TrainingWorker : public QObject {
    Q_OBJECT
public:
    static constexpr int kFrameIntervalMs = 33;
    static constexpr int kSliceMs = 15;

    explicit TrainingWorker(QObject* parent = nullptr);
    ~TrainingWorker() override;

    // Thread-safe: may be called from the GUI thread directly.
    void setRunning(bool running);
    bool isRunning() const { return running_.load(); }

public slots:
    void startRun(const moescope::Config& cfg);  // builds a new Trainer; emits runStarted or failed
    void stepOnce();
    void setKnob(const QString& name, const QString& value, const QString& source);
    void shutdown();  // stops the timer and drops the trainer (runs on the worker thread)

signals:
    void runStarted(const moescope::Config& cfg, int layers, int experts, const QString& summary);
    void frameReady(const MetricsFrame& frame);
    void failed(const QString& message);
    void knobRejected(const QString& name, const QString& message);

private slots:
    void tick();

private:
    void runSteps(long max_steps, int budget_ms);
    void emitFrame();

    std::unique_ptr<moescope::Trainer> trainer_;
    QTimer* timer_ = nullptr;
    std::atomic<bool> running_{false};
    MetricsFrame pending_;
    QElapsedTimer since_frame_;
    double elapsed_s_ = 0;
    size_t interventions_sent_ = 0;
};
