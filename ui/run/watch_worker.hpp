#pragma once
// Follows a real training job's router log on a background QThread and sends
// what it reads as MetricsFrames, the same value type the training worker
// sends, so the plots, the history and the warnings panel show a watched job
// exactly as they show a moescope run (docs/integrations.md). Beside the
// frames it sends what the log says about the job (JobInfo), for the job panel.
#include <QElapsedTimer>
#include <QMetaType>
#include <QObject>
#include <QString>
#include <QTimer>
#include <deque>
#include <memory>
#include <utility>

#include "io/snapshot_history.hpp"
#include "monitor/run_watcher.hpp"
#include "run/metrics_frame.hpp"

Q_DECLARE_METATYPE(moescope::JobInfo)

class WatchWorker : public QObject {
    Q_OBJECT
public:
    // Polls faster than the window's frame period (33 ms), so a record written
    // between two polls reaches the plots within one frame.
    static constexpr int kPollMs = 25;
    // Records/s is measured over about this long, so it reads steadily.
    static constexpr int kRateWindowMs = 1000;
    // The job panel's news at most this often: labels need not change 40 times a second.
    static constexpr int kJobNewsMs = 200;

    explicit WatchWorker(QObject* parent = nullptr);
    ~WatchWorker() override;

public slots:
    // Starts following `path` (file or directory); emits failed on a bad path.
    void watch(const QString& path, int ep, int top_k);
    void stop();

signals:
    // Once the first complete step shows the job's shape.
    void watchStarted(const QString& path, int layers, int experts, const QString& summary);
    // At most one frame per poll, holding every step completed since the last one.
    void frameReady(const MetricsFrame& frame);
    // What the log says about the job; sent when it changed, at most every kJobNewsMs.
    void jobChanged(const moescope::JobInfo& job);
    // A bad line or a merge problem, "file:line: what" (at most a few per poll are sent).
    void problem(const QString& message);
    void failed(const QString& message);

private slots:
    void poll();

private:
    moescope::JobInfo job();
    void sendJob();

    std::unique_ptr<moescope::RunWatcher> watcher_;
    QTimer* timer_ = nullptr;
    QString path_;
    int ep_ = 0;
    bool started_ = false;
    QElapsedTimer clock_;
    std::deque<std::pair<qint64, long>> rate_samples_;  // (ms, records read) over the last kRateWindowMs
    moescope::JobInfo sent_;                            // the last news sent
    qint64 sent_ms_ = -1;
    long last_step_ = -1;
};
