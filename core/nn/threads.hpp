#pragma once
// How many threads a training step uses, and how idle threads wait.
//
// A step's parallel loops (one expert per thread, element-wise ops) pay a
// hand-off at every region; on the small models the presets and lessons run
// (a step of a few hundred microseconds) a second thread costs more than it
// brings, and on a machine where another process holds a core a spinning
// OpenMP thread waits for a core it does not get: 2 threads ran 50–90× slower
// than 1 on a loaded 2-core machine. So steps below a measured size run on one
// thread, larger ones on every core, and idle threads sleep (passive wait).
namespace moescope::threads {

// The most threads a step may use: OMP_NUM_THREADS when the user set it, else
// the cores this process may run on.
int available();

// Expert-GEMM FLOPs per training step below which a step runs on one thread
// (docs/performance.md, "Threads"): every shipped preset and lesson (6e6–2e8)
// is below it, the bench config (5e10) far above.
inline constexpr double kOneThreadBelow = 1.0e9;

// Threads for a step of `flops` expert-GEMM FLOPs (forward and backward).
int for_step(double flops);

// Sets the calling thread's OpenMP team size for a step of `flops`.
void use_for_step(double flops);

// Caps the team size of every step run on the calling thread (0: no cap): a
// sweep's workers each train one run on one core, whatever the run's size.
void cap_this_thread(int threads);

// Forces every step's team size (0: back to the rule above): `bench --presets`
// times each preset on 1 thread and on all to check the rule.
void force(int threads);

// OpenMP reads OMP_WAIT_POLICY once, when the runtime loads, before main():
// when the user did not set it, set passive and re-execute this program from
// /proc/self/exe with the same arguments (once; on failure carry on). Call first
// thing in main().
void ensure_passive_wait(char** argv);

// Blocks the asynchronous signals a process receives (SIGINT, SIGTERM, SIGCHLD,
// SIGPIPE, SIGALRM, SIGHUP, SIGUSR1/2, SIGWINCH) in the calling thread and in the threads
// it starts from now on (OpenMP's team, a sweep's workers): some other thread
// takes them. A handler that ran inside oneDNN's JIT sgemm corrupted the heap
// (docs/testing.md), so threads that train call this first.
void keep_signals_off_this_thread();

// Lowers the calling thread's scheduling priority by `steps` nice levels (Linux
// keeps a nice value per thread; threads it starts from now on, such as its
// OpenMP team, inherit it): a window's training thread yields to the GUI
// thread when both want a core, and runs at full speed when the GUI is idle.
// Returns the thread's nice value after the change (unchanged on failure).
int lower_this_thread_priority(int steps);

}  // namespace moescope::threads
