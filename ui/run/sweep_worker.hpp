#pragma once
// Runs a sweep off the GUI thread: a std::thread drives run_sweep (which has
// its own pool of single-threaded trainers) and reports back through queued
// signals carrying value types. cancel() keeps the cells already finished.
#include <QObject>
#include <QString>
#include <atomic>
#include <thread>

#include "train/sweep_runner.hpp"

Q_DECLARE_METATYPE(moescope::SweepCell)
Q_DECLARE_METATYPE(moescope::SweepProgress)
Q_DECLARE_METATYPE(moescope::SweepResult)

class SweepWorker : public QObject {
    Q_OBJECT
public:
    explicit SweepWorker(QObject* parent = nullptr);
    ~SweepWorker() override;  // cancels and waits for the runs in flight

    // Starts `spec` on `threads` workers (0: every core). Refused (false) while one runs.
    bool start(const moescope::SweepSpec& spec, int threads = 0);
    void cancel();
    bool isRunning() const { return running_.load(); }

signals:
    void cellFinished(const moescope::SweepCell& cell);
    void progressed(const moescope::SweepProgress& progress);
    // The cells that finished (all of them unless cancelled).
    void finished(const moescope::SweepResult& result, bool cancelled);
    void failed(const QString& message);

private:
    void join();

    std::thread thread_;
    std::atomic<bool> cancel_{false}, running_{false};
};
