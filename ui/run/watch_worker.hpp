#pragma once
// Follows a real training job's router log on a background QThread and sends
// what it reads as MetricsFrames, the same value type the training worker
// sends, so the plots, the history and the warnings panel show a watched job
// exactly as they show a moescope run (docs/integrations.md).
#include <QObject>
#include <QString>
#include <QTimer>
#include <memory>

#include "monitor/run_watcher.hpp"
#include "run/metrics_frame.hpp"

class WatchWorker : public QObject {
    Q_OBJECT
public:
    // Polls faster than the window's frame period (33 ms), so a record written
    // between two polls reaches the plots within one frame.
    static constexpr int kPollMs = 25;

    explicit WatchWorker(QObject* parent = nullptr);
    ~WatchWorker() override;

public slots:
    // Starts following `path` (file or directory); emits failed on a bad path.
    void watch(const QString& path, int ep, int top_k);
    void stop();

signals:
    // Once the first complete step shows the job's shape.
    void watchStarted(const QString& path, int layers, int experts, const QString& summary);
    void frameReady(const MetricsFrame& frame);
    // A bad line or a merge problem, "file:line: what" (at most a few per second are sent).
    void problem(const QString& message);
    void failed(const QString& message);

private slots:
    void poll();

private:
    std::unique_ptr<moescope::RunWatcher> watcher_;
    QTimer* timer_ = nullptr;
    QString path_;
    bool started_ = false;
};
