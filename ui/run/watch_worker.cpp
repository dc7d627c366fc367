#include "run/watch_worker.hpp"

#include "error.hpp"

using namespace moescope;

WatchWorker::WatchWorker(QObject* parent) : QObject(parent) {
    qRegisterMetaType<MetricsFrame>();
    qRegisterMetaType<JobInfo>();
}

WatchWorker::~WatchWorker() = default;

void WatchWorker::watch(const QString& path, int ep, int top_k) {
    stop();
    try {
        WatchOptions opt;
        opt.ep = ep;
        opt.top_k = top_k;
        watcher_ = std::make_unique<RunWatcher>(path.toStdString(), opt);
    } catch (const Error& e) {
        emit failed(QString::fromStdString(e.what()));
        return;
    }
    path_ = path;
    ep_ = ep;
    started_ = false;
    rate_samples_.clear();
    sent_ = JobInfo{};
    sent_ms_ = -1;
    last_step_ = -1;
    clock_.start();
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

JobInfo WatchWorker::job() {
    const RunWatcher& w = *watcher_;
    const RouterLogHeader& h = w.header();
    JobInfo j;
    j.source = path_.toStdString();
    // Megatron records are recognised by content; a framework the header names is moescope's own logger.
    const bool megatron = h.framework.empty() && w.framework() == "megatron";
    j.format = w.records() == 0 ? "" : megatron ? "Megatron tokens-per-expert" : "moescope router log";
    j.framework = w.framework().empty() ? h.framework : w.framework();
    j.model = h.model;
    j.layers = int(w.layer_ids().size());
    j.experts = w.experts();
    j.top_k = h.top_k;
    j.ep = ep_ > 0 ? ep_ : h.ep;
    j.ranks = int(w.sources());
    j.records = w.records();
    j.bad_lines = w.bad_lines();
    // records/s over the last second or so
    const qint64 now = clock_.elapsed();
    rate_samples_.emplace_back(now, j.records);
    while (rate_samples_.size() > 2 && now - rate_samples_[1].first >= kRateWindowMs) rate_samples_.pop_front();
    const auto& [t0, r0] = rate_samples_.front();
    j.records_per_s = now > t0 ? (j.records - r0) * 1000.0 / double(now - t0) : 0.0;
    return j;
}

void WatchWorker::sendJob() {
    const qint64 now = clock_.elapsed();
    if (sent_ms_ >= 0 && now - sent_ms_ < kJobNewsMs) return;  // what changed meanwhile goes with the next news
    JobInfo j = job();
    j.last_step = last_step_;
    const bool news = j.records != sent_.records || j.bad_lines != sent_.bad_lines || j.ranks != sent_.ranks ||
                      j.last_step != sent_.last_step || j.layers != sent_.layers || j.format != sent_.format ||
                      j.records_per_s != sent_.records_per_s || sent_ms_ < 0;
    if (!news) return;
    sent_ = j;
    sent_ms_ = now;
    emit jobChanged(j);
}

void WatchWorker::poll() {
    if (!watcher_) return;
    std::vector<WatchedStep> got;
    try {
        got = watcher_->poll();
    } catch (const std::exception& e) {
        stop();
        emit failed(QString::fromStdString(e.what()));
        return;
    }
    const auto problems = watcher_->take_problems();
    for (size_t i = 0; i < problems.size() && i < 5; ++i) emit problem(QString::fromStdString(problems[i]));
    if (got.empty()) {
        sendJob();
        return;
    }
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
    last_step_ = f.steps_done;
    emit frameReady(f);
    sendJob();
}
