#pragma once
// Central finite differences for the double-precision gradient checks
// (tests/core/nn/test_gradcheck, test_attention). With h = 1e-6 the truncation
// error is ~h² and the rounding error ~1e-16/h, so a correct gradient agrees
// to ~1e-8 relative; kGradBound (1e-6) leaves room for that and catches any
// real mistake, which shows up at 1e-2 or worse.
#include <algorithm>
#include <cmath>
#include <functional>

namespace moescope::test {

inline constexpr double kFiniteStep = 1e-6;
inline constexpr double kGradBound = 1e-6;

// ||analytic − numeric|| / max(||analytic||, ||numeric||, tiny) over the n entries of `x`.
inline double gradient_error(double* x, long n, const double* analytic, const std::function<double()>& f) {
    double diff2 = 0, a2 = 0, n2 = 0;
    for (long i = 0; i < n; ++i) {
        const double keep = x[i];
        x[i] = keep + kFiniteStep;
        const double up = f();
        x[i] = keep - kFiniteStep;
        const double down = f();
        x[i] = keep;
        const double num = (up - down) / (2 * kFiniteStep);
        diff2 += (num - analytic[i]) * (num - analytic[i]);
        a2 += analytic[i] * analytic[i];
        n2 += num * num;
    }
    return std::sqrt(diff2) / std::max({std::sqrt(a2), std::sqrt(n2), 1e-12});
}

}  // namespace moescope::test
