#include "nn/threads.hpp"

#include <omp.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>

namespace moescope::threads {

int available() {
    // Read before any team size is set on this thread: the user's OMP_NUM_THREADS, else the usable cores.
    static const int n = std::max(1, omp_get_max_threads());
    return n;
}

namespace {
std::atomic<int> forced{0};
thread_local int cap = 0;
}  // namespace

int for_step(double flops) {
    if (const int n = forced.load(); n > 0) return n;
    const int rule = flops < kOneThreadBelow ? 1 : available();
    return cap > 0 ? std::min(rule, cap) : rule;
}

void cap_this_thread(int threads) { cap = std::max(0, threads); }

void force(int threads) { forced = std::max(0, threads); }

void use_for_step(double flops) {
    const int n = for_step(flops);
    if (omp_get_max_threads() != n) omp_set_num_threads(n);
}

void ensure_passive_wait(char** argv) {
    (void)available();  // the user's thread count, before anything changes it
    if (std::getenv("OMP_WAIT_POLICY") || std::getenv("MOESCOPE_REEXEC")) return;
    setenv("OMP_WAIT_POLICY", "passive", 1);
    setenv("MOESCOPE_REEXEC", "1", 1);  // never loop, even if the runtime ignores the variable
    execv("/proc/self/exe", argv);
    // exec failed (no /proc): go on with the runtime's default wait policy.
}

void keep_signals_off_this_thread() {
    sigset_t s;
    sigemptyset(&s);
    for (int sig : {SIGINT, SIGTERM, SIGCHLD, SIGPIPE, SIGALRM, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH}) sigaddset(&s, sig);
    pthread_sigmask(SIG_BLOCK, &s, nullptr);
}

int lower_this_thread_priority(int steps) {
    const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
    errno = 0;
    const int now = ::getpriority(PRIO_PROCESS, tid);
    if (errno != 0) return 0;
    const int want = std::min(19, now + std::max(0, steps));
    return ::setpriority(PRIO_PROCESS, tid, want) == 0 ? want : now;
}

}  // namespace moescope::threads
