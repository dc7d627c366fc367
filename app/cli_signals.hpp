#pragma once
// Ctrl-C and SIGTERM for the CLI, received on a thread of their own.
//
// A signal handler runs on whatever thread the kernel picks, in the middle of
// whatever that thread was doing. When that was oneDNN's JIT-compiled sgemm,
// an interrupted `train` corrupted the heap in about one try in three (found
// as a crash in the final evaluate() after Ctrl-C; the Eigen and OpenBLAS
// paths never crashed). So no compute thread ever takes these signals: main()
// blocks them before any other thread exists (every thread inherits the mask)
// and one watcher thread takes them with sigwait().
//
// A command that can stop cleanly holds a StopOnSignal while it runs: the
// first signal sets its flag (the command finishes the step, saves and
// reports); a second one ends the process at once. With no StopOnSignal alive
// a signal ends the process as it would have without this file.
#include <atomic>

namespace moescope::cli {

// Call first in main(), before any thread starts (and after any re-exec).
void take_stop_signals();

class StopOnSignal {
public:
    StopOnSignal();   // flag cleared; signals now stop the command
    ~StopOnSignal();  // signals end the process again
    StopOnSignal(const StopOnSignal&) = delete;
    StopOnSignal& operator=(const StopOnSignal&) = delete;

    const std::atomic<bool>& flag() const;
    bool requested() const { return flag().load(); }
    int signal() const;  // SIGINT or SIGTERM once requested(), else 0
};

// Unblocks the signals in the calling thread while it lives, so that a child
// started meanwhile (popen, fork) gets the usual signals rather than this
// process's blocked mask.
class ChildSignals {
public:
    ChildSignals();
    ~ChildSignals();
    ChildSignals(const ChildSignals&) = delete;
    ChildSignals& operator=(const ChildSignals&) = delete;
};

}  // namespace moescope::cli
