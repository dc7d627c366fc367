#include "monitor/metrics.hpp"

#include <algorithm>
#include <string>

#include "error.hpp"

namespace moescope {

namespace {

// −p·ln p with the limit 0·ln 0 = 0, so empty experts contribute nothing.
double plogp(double p) { return p > 0 ? -p * std::log(p) : 0.0; }

template <typename Real>
double router_entropy_impl(const Real* probs, int E, long T) {
    MS_ASSERT(E >= 1 && T >= 0, "router_entropy needs E >= 1 and T >= 0, got E=" + std::to_string(E));
    // One expert leaves the router nothing to decide; report "undecided" (1) so
    // the saturation rule never fires on a model that cannot saturate.
    if (E == 1) return 1.0;
    if (T == 0) return 0.0;
    double sum = 0;
    for (long t = 0; t < T; ++t) {
        const Real* p = probs + t * E;  // column t of the E × T matrix
        double h = 0;
        for (int e = 0; e < E; ++e) h += plogp(static_cast<double>(p[e]));
        sum += h;
    }
    return sum / (static_cast<double>(T) * std::log(static_cast<double>(E)));
}

// Shannon entropy (nats) of a distribution given as counts with their total.
double entropy_of_counts(const std::vector<double>& counts, double total) {
    double h = 0;
    for (double c : counts) h += plogp(c / total);
    return h;
}

}  // namespace

// Loads are normalised by T·k, not by ΣC: under expert-choice routing the
// experts' picks need not add up to T·k, and dividing by T·k keeps load_i the
// share of the step's routing budget that expert i took, comparable across policies.
// The entropy, though, is that of the distribution C_i/ΣC: the same for token
// choice (ΣC = T·k), and still in [0, 1] when expert choice takes cf·T·k picks.
WorstLayers worst_layers(const StepMetrics& m) {
    WorstLayers w;
    for (const auto& l : m.layers) {
        w.load_entropy = std::min(w.load_entropy, l.load_entropy);
        w.router_entropy = std::min(w.router_entropy, l.router_entropy);
        w.max_util = std::max(w.max_util, l.max_util);
        w.dropped = std::max(w.dropped, l.dropped);
        w.dead = std::max(w.dead, l.dead_experts);
    }
    return w;
}

void routing_balance_metrics(const std::vector<double>& counts, long tokens, int k, LayerMetrics& m) {
    const int E = static_cast<int>(counts.size());
    MS_ASSERT(E >= 1, "routing_balance_metrics needs at least one expert");
    MS_ASSERT(tokens > 0 && k > 0, "routing_balance_metrics needs T > 0 and k > 0, got T=" + std::to_string(tokens) +
                                       " k=" + std::to_string(k));
    const double budget = static_cast<double>(tokens) * k;
    m.load.resize(E);
    m.utilization.resize(E);
    double mean_count = 0;
    for (int i = 0; i < E; ++i) {
        m.load[i] = counts[i] / budget;
        m.utilization[i] = E * m.load[i];
        mean_count += counts[i];
    }
    double h = 0;
    if (mean_count > 0)
        for (int i = 0; i < E; ++i) h += plogp(counts[i] / mean_count);
    mean_count /= E;
    m.max_util = *std::max_element(m.utilization.begin(), m.utilization.end());

    // Population variance (÷E): the E experts are the whole population, not a sample.
    double var = 0;
    for (double c : counts) var += (c - mean_count) * (c - mean_count);
    var /= E;
    m.cv = mean_count > 0 ? std::sqrt(var) / mean_count : 0.0;

    // A single expert is trivially balanced.
    m.load_entropy = E == 1 ? 1.0 : h / std::log(static_cast<double>(E));
}

double router_entropy(const float* probs, int E, long T) { return router_entropy_impl(probs, E, T); }
double router_entropy(const double* probs, int E, long T) { return router_entropy_impl(probs, E, T); }

double normalized_mutual_information(const std::vector<int32_t>& counts, int classes, int E) {
    MS_ASSERT(classes >= 0 && E >= 0 && counts.size() == static_cast<size_t>(classes) * static_cast<size_t>(E),
              "class × expert matrix has " + std::to_string(counts.size()) + " cells, expected " +
                  std::to_string(classes) + " × " + std::to_string(E));
    std::vector<double> row(classes, 0.0), col(E, 0.0);
    double total = 0;
    for (int c = 0; c < classes; ++c) {
        for (int e = 0; e < E; ++e) {
            const double n = counts[static_cast<size_t>(c) * E + e];
            row[c] += n;
            col[e] += n;
            total += n;
        }
    }
    if (total <= 0) return 0.0;
    const double h_class = entropy_of_counts(row, total);
    const double h_expert = entropy_of_counts(col, total);
    if (h_class <= 0 || h_expert <= 0) return 0.0;

    // I(C;E) = Σ p(c,e) · ln( p(c,e) / (p(c)·p(e)) ) = Σ n/N · ln( n·N / (n_c·n_e) )
    double mi = 0;
    for (int c = 0; c < classes; ++c) {
        for (int e = 0; e < E; ++e) {
            const double n = counts[static_cast<size_t>(c) * E + e];
            if (n > 0) mi += n / total * std::log(n * total / (row[c] * col[e]));
        }
    }
    // Rounding can push a perfect or independent assignment a few ulps outside [0,1].
    return std::clamp(mi / std::sqrt(h_class * h_expert), 0.0, 1.0);
}

void DeadExpertTracker::reset(int layers, int experts, int window) {
    MS_ASSERT(layers >= 0 && experts >= 0 && window >= 1,
              "DeadExpertTracker needs layers, experts >= 0 and window >= 1, got window=" + std::to_string(window));
    window_ = window;
    experts_ = experts;
    // Allocating every slot up front keeps update() allocation-free on the training path.
    ring_.assign(layers, std::vector<std::vector<double>>(window, std::vector<double>(experts, 0.0)));
    sum_.assign(layers, std::vector<double>(experts, 0.0));
    seen_.assign(layers, 0);
}

int DeadExpertTracker::update(int layer, const std::vector<double>& utilization, double threshold) {
    MS_ASSERT(layer >= 0 && layer < static_cast<int>(ring_.size()),
              "DeadExpertTracker::update: layer " + std::to_string(layer) + " out of range");
    MS_ASSERT(static_cast<int>(utilization.size()) == experts_, "DeadExpertTracker::update: got " +
                                                                    std::to_string(utilization.size()) +
                                                                    " experts, expected " + std::to_string(experts_));
    std::vector<double>& slot = ring_[layer][seen_[layer] % window_];
    std::vector<double>& sum = sum_[layer];
    const bool full = seen_[layer] >= window_;
    for (int e = 0; e < experts_; ++e) {
        // The slot still holds the value from `window` steps ago once the ring is full.
        if (full) sum[e] -= slot[e];
        slot[e] = utilization[e];
        sum[e] += utilization[e];
    }
    ++seen_[layer];
    const double steps = static_cast<double>(std::min<long>(seen_[layer], window_));
    int dead = 0;
    for (int e = 0; e < experts_; ++e) dead += sum[e] / steps < threshold ? 1 : 0;
    return dead;
}

// The config pushes dead_window every step, so an unchanged window must not wipe the history.
void DeadExpertTracker::set_window(int window) {
    if (window == window_) return;
    reset(static_cast<int>(ring_.size()), experts_, window);
}

void DeadExpertTracker::set_state(State st) {
    const size_t L = st.ring.size();
    bool ok = st.window >= 1 && st.experts >= 0 && st.sum.size() == L && st.seen.size() == L;
    for (size_t l = 0; ok && l < L; ++l) {
        ok = st.ring[l].size() == static_cast<size_t>(st.window) &&
             st.sum[l].size() == static_cast<size_t>(st.experts) && st.seen[l] >= 0;
        for (const auto& slot : st.ring[l]) ok = ok && slot.size() == static_cast<size_t>(st.experts);
    }
    if (!ok) throw DataError("dead-expert tracker state is inconsistent (window, experts or step counts)");
    window_ = st.window;
    experts_ = st.experts;
    ring_ = std::move(st.ring);
    sum_ = std::move(st.sum);
    seen_ = std::move(st.seen);
}

}  // namespace moescope
