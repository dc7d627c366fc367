#pragma once
// Min/max decimation, the one copy: the history folds its older half with it
// (metrics_history.cpp, groups of 4 kept for good) and the time plot draws a
// long series with it (time_plot.cpp, groups sized to the plot's width).
// Each run of `group` consecutive points becomes its minimum and maximum in
// the order they occurred, so spikes and collapses survive any number of folds.
#include <algorithm>
#include <cstddef>

namespace moescope {

// Calls keep(first, second) for each group of [0, n), in order: the indices of
// the group's extremes, first ≤ second (equal when one point is both). `value(i)`
// reads point i. The kept indices never lie before what keep() has written so
// far when it writes at most two points per group, so callers may compact in place.
template <class Value, class Keep>
void min_max_groups(size_t n, size_t group, const Value& value, const Keep& keep) {
    for (size_t start = 0; start < n; start += group) {
        const size_t end = std::min(n, start + group);
        size_t lo = start, hi = start;
        for (size_t j = start + 1; j < end; ++j) {
            if (value(j) < value(lo)) lo = j;
            if (value(j) > value(hi)) hi = j;
        }
        keep(std::min(lo, hi), std::max(lo, hi));
    }
}

}  // namespace moescope
