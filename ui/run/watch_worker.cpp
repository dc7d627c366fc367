#include "run/watch_worker.hpp"

#include "error.hpp"

WatchWorker::WatchWorker(QObject* parent) : QObject(parent) {}

WatchWorker::~WatchWorker() = default;

void WatchWorker::watch(const QString& path, int ep, int top_k) {
    stop();
    try {
        moescope::WatchOptions opt;
        opt.ep = ep;
        opt.top_k = top_k;
        watcher_ = std::make_unique<moescope::RunWatcher>(path.toStdString(), opt);
    } catch (const moescope::Error& e) {
        emit failed(QString::fromStdString(e.what()));
        return;
    }
    path_ = path;
    started_ = false;
    if (!timer_) {
        timer_ = new QTimer(this);
        connect(timer_, &QTimer::timeout, this, &WatchWorker::poll);
    }
    timer_->start(kPollMs);
    poll();
}

void WatchWorker::stop() {
    if (timer_) timer_->stop();
    watcher_.reset();
}

void WatchWorker::poll() {
    if (!watcher_) return;
    std::vector<moescope::WatchedStep> got;
    try {
        got = watcher_->poll();
    } catch (const std::exception& e) {
        stop();
        emit failed(QString::fromStdString(e.what()));
        return;
    }
    const auto problems = watcher_->take_problems();
    for (size_t i = 0; i < problems.size() && i < 5; ++i) emit problem(QString::fromStdString(problems[i]));
    if (got.empty()) return;
    if (!started_) {
        started_ = true;
        const auto& h = watcher_->header();
        QString summary = QStringLiteral("%1 · %2 file%3")
                              .arg(h.model.empty() ? QStringLiteral("watched job") : QString::fromStdString(h.model))
                              .arg(watcher_->sources())
                              .arg(watcher_->sources() == 1 ? "" : "s");
        if (!h.framework.empty()) summary += QStringLiteral(" · ") + QString::fromStdString(h.framework);
        emit watchStarted(path_, int(got.front().metrics.layers.size()), watcher_->experts(), summary);
    }
    MetricsFrame f;
    f.running = true;
    f.steps_done = got.back().metrics.step;
    for (auto& s : got) {
        for (auto& ev : s.events) ev.warning.remedy = watcher_->job_remedy(ev.warning.remedy);
        f.events.insert(f.events.end(), s.events.begin(), s.events.end());
        f.steps.push_back(std::move(s.metrics));
    }
    f.active = watcher_->monitor().active();
    for (auto& w : f.active) w.remedy = watcher_->job_remedy(w.remedy);
    emit frameReady(f);
}
