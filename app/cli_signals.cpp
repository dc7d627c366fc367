#include "cli_signals.hpp"

#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <thread>

namespace moescope::cli {

namespace {

std::atomic<bool> g_claimed{false}, g_stop{false};
std::atomic<int> g_signal{0};

sigset_t stop_set() {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGTERM);
    return s;
}

// The default action, from this thread: the process ends as if no one had caught the signal.
[[noreturn]] void end_process(int sig) {
    std::signal(sig, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
    raise(sig);
    _exit(128 + sig);  // not reached: the default action of SIGINT and SIGTERM ends the process
}

void watch(sigset_t set) {
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (!g_claimed.load() || g_stop.load()) {
            if (g_stop.load()) {
                static const char msg[] = "moescope-cli: second interrupt: stopping now, without the final save\n";
                (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
            }
            end_process(sig);
        }
        g_signal = sig;
        g_stop = true;
    }
}

}  // namespace

void take_stop_signals() {
    const sigset_t set = stop_set();
    if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) return;  // signals keep their default action
    std::thread(watch, set).detach();
}

StopOnSignal::StopOnSignal() {
    g_stop = false;
    g_signal = 0;
    g_claimed = true;
}

StopOnSignal::~StopOnSignal() { g_claimed = false; }

const std::atomic<bool>& StopOnSignal::flag() const { return g_stop; }

int StopOnSignal::signal() const { return g_signal.load(); }

ChildSignals::ChildSignals() {
    const sigset_t set = stop_set();
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

ChildSignals::~ChildSignals() {
    const sigset_t set = stop_set();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace moescope::cli
