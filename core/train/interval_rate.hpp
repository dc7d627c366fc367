#pragma once
// Tokens per second over the steps since the last report, for progress lines.
// The last step's own rate is the wrong figure there: a step that also runs the
// churn probe or the held-out evaluation takes 2–4× longer, so every line that
// landed on one would read that much slower than training runs.
#include <limits>

namespace moescope {

class IntervalRate {
public:
    // One step of `tokens` tokens that took `step_ms` milliseconds.
    void add(double tokens, double step_ms) { tokens_ += tokens, ms_ += step_ms; }
    double elapsed_ms() const { return ms_; }  // step time added since the last take()
    // Tokens per second over every step added since the last take() (NaN when
    // none took any time), and starts the next interval.
    double take() {
        const double rate = ms_ > 0 ? tokens_ * 1000.0 / ms_ : std::numeric_limits<double>::quiet_NaN();
        tokens_ = ms_ = 0;
        return rate;
    }

private:
    double tokens_ = 0, ms_ = 0;
};

}  // namespace moescope
