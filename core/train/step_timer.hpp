#pragma once
// Where a training step's time goes. The trainer and the model call lap(phase)
// at the end of each phase: the time since the previous lap is charged to it,
// so the phases always add up to the whole step. Off (a null pointer in the
// workspace) it costs one branch per phase.
#include <array>
#include <chrono>

namespace moescope {

enum class Phase {
    Batch,       // sample the batch, copy it in, draw the noise
    Router,      // RMSNorm, router logits, softmax, top-k, gates, router loss terms
    Dispatch,    // gather tokens into expert blocks (forward), the same permutes backward
    ExpertsFwd,  // W1 GEMM, bias+GELU, W2 GEMM
    Combine,     // h ← h + Σ gate·Y
    DenseFwd,    // input projection, final norm, head, cross-entropy
    ExpertsBwd,  // the four expert weight/input-gradient GEMMs and GELU backward
    OtherBwd,    // head, norms, router and input projection backward
    Optimizer,   // finiteness check, norms, clipping, AdamW/SGD
    Metrics,     // StepMetrics and the monitor
};
inline constexpr int kPhases = 10;
inline constexpr std::array<const char*, kPhases> kPhaseNames = {"batch",     "router",    "dispatch",    "experts_fwd",
                                                                 "combine",   "dense_fwd", "experts_bwd", "other_bwd",
                                                                 "optimizer", "metrics"};

class StepTimer {
public:
    using Clock = std::chrono::steady_clock;

    // Starts the clock for the next phase.
    void start() { last_ = Clock::now(); }
    // Charges the time since the last lap (or start) to `p`.
    void lap(Phase p) {
        const auto now = Clock::now();
        ms_[static_cast<int>(p)] += std::chrono::duration<double, std::milli>(now - last_).count();
        last_ = now;
    }
    void reset() { ms_.fill(0.0); }
    double ms(Phase p) const { return ms_[static_cast<int>(p)]; }
    double ms(int p) const { return ms_[p]; }
    double total_ms() const {
        double s = 0;
        for (double v : ms_) s += v;
        return s;
    }

private:
    Clock::time_point last_{};
    std::array<double, kPhases> ms_{};
};

// lap() through a pointer that is null when timing is off.
inline void lap(StepTimer* t, Phase p) {
    if (t) t->lap(p);
}

}  // namespace moescope
