#include "run/sweep_worker.hpp"

#include "nn/threads.hpp"

SweepWorker::SweepWorker(QObject* parent) : QObject(parent) {
    qRegisterMetaType<moescope::SweepCell>();
    qRegisterMetaType<moescope::SweepProgress>();
    qRegisterMetaType<moescope::SweepResult>();
}

SweepWorker::~SweepWorker() {
    cancel();
    join();
}

bool SweepWorker::start(const moescope::SweepSpec& spec, int threads) {
    if (running_.load()) return false;
    join();  // the previous sweep's thread has ended; reap it
    cancel_ = false;
    running_ = true;
    thread_ = std::thread([this, spec, threads] {
        moescope::threads::keep_signals_off_this_thread();  // the GUI thread takes them
        moescope::SweepOptions opt;
        opt.threads = threads;
        opt.cancel = &cancel_;
        // Emitted from this thread: Qt queues them to the receivers' (GUI) thread.
        opt.on_cell = [this](const moescope::SweepCell& c, const moescope::SweepProgress&) { emit cellFinished(c); };
        opt.on_run = [this](const moescope::SweepProgress& p) { emit progressed(p); };
        try {
            const moescope::SweepResult r = moescope::run_sweep(spec, opt);
            running_ = false;
            emit finished(r, cancel_.load());
        } catch (const std::exception& e) {
            running_ = false;
            emit failed(QString::fromUtf8(e.what()));
        }
    });
    return true;
}

void SweepWorker::cancel() { cancel_ = true; }

void SweepWorker::join() {
    if (thread_.joinable()) thread_.join();
}
