// Metric definitions of docs/metrics.md checked on hand-made routings
// whose values are worked out by hand in the comments.
#include <QtTest>

#include <cmath>
#include <vector>

#include "monitor/metrics.hpp"

using moescope::DeadExpertTracker;
using moescope::LayerMetrics;

#define CHECK_NEAR(actual, expected, tol)                                                                           \
    do {                                                                                                            \
        const double a_ = (actual), e_ = (expected);                                                                \
        QVERIFY2(std::abs(a_ - e_) <= (tol),                                                                        \
                 qPrintable(QString("%1 = %2, expected %3").arg(#actual).arg(a_, 0, 'g', 17).arg(e_, 0, 'g', 17))); \
    } while (0)

class TestMetrics : public QObject {
    Q_OBJECT

private slots:
    void all_tokens_to_one_expert();
    void perfectly_uniform();
    void mixed_counts_by_hand();
    void top2_with_empty_experts();
    void normalised_by_budget_not_by_count_sum();
    void single_expert_is_balanced();
    void router_entropy_uniform_and_one_hot();
    void router_entropy_by_hand();
    void nmi_diagonal_is_one();
    void nmi_independent_is_zero();
    void nmi_by_hand();
    void nmi_degenerate_cases();
    void dead_tracker_window();
    void dead_tracker_layers_independent();
    void dead_tracker_set_window();
};

// E=8, T=16, k=1, counts {16,0,…,0}: load {1,0,…}, entropy 0, max_util 8;
// mean C = 2, var = (14² + 7·2²)/8 = 28, cv = √28/2 = √7 = √(E−1).
void TestMetrics::all_tokens_to_one_expert() {
    std::vector<double> counts(8, 0.0);
    counts[0] = 16;
    LayerMetrics m;
    moescope::routing_balance_metrics(counts, 16, 1, m);
    QCOMPARE(m.load.size(), size_t(8));
    QCOMPARE(m.utilization.size(), size_t(8));
    CHECK_NEAR(m.load[0], 1.0, 1e-15);
    CHECK_NEAR(m.load[3], 0.0, 0.0);
    CHECK_NEAR(m.load_entropy, 0.0, 1e-15);
    CHECK_NEAR(m.max_util, 8.0, 1e-15);
    CHECK_NEAR(m.cv, std::sqrt(7.0), 1e-12);
}

// E=4, T=10, k=2, counts {5,5,5,5}: load 1/4 each, utilisation 1, entropy 1, cv 0.
void TestMetrics::perfectly_uniform() {
    LayerMetrics m;
    moescope::routing_balance_metrics({5, 5, 5, 5}, 10, 2, m);
    for (double u : m.utilization) CHECK_NEAR(u, 1.0, 1e-15);
    CHECK_NEAR(m.load[2], 0.25, 1e-15);
    CHECK_NEAR(m.load_entropy, 1.0, 1e-15);
    CHECK_NEAR(m.max_util, 1.0, 1e-15);
    CHECK_NEAR(m.cv, 0.0, 1e-15);
}

// E=4, T=8, k=1, counts {4,2,1,1}: load {1/2,1/4,1/8,1/8}.
// −Σ p ln p = ½·ln2 + ¼·2ln2 + 2·⅛·3ln2 = 1.75·ln2; ÷ ln4 = 2ln2  →  load_entropy 0.875.
// utilisation {2,1,½,½} → max 2. mean C = 2, var = (4+0+1+1)/4 = 1.5 → cv = √1.5/2 ≈ 0.61237.
// (A sample std, ÷(E−1), would give cv = √2/2 ≈ 0.7071.)
void TestMetrics::mixed_counts_by_hand() {
    LayerMetrics m;
    moescope::routing_balance_metrics({4, 2, 1, 1}, 8, 1, m);
    CHECK_NEAR(m.load[0], 0.5, 1e-15);
    CHECK_NEAR(m.load[2], 0.125, 1e-15);
    CHECK_NEAR(m.utilization[1], 1.0, 1e-15);
    CHECK_NEAR(m.utilization[3], 0.5, 1e-15);
    CHECK_NEAR(m.load_entropy, 0.875, 1e-14);
    CHECK_NEAR(m.max_util, 2.0, 1e-15);
    CHECK_NEAR(m.cv, std::sqrt(1.5) / 2, 1e-14);
}

// E=4, T=4, k=2, counts {4,4,0,0}: load {½,½,0,0}; entropy ln2/ln4 = 0.5 (0·ln0 = 0);
// utilisation max 2; mean C 2, var = 4·2²/4 = 4 → cv = 1.
void TestMetrics::top2_with_empty_experts() {
    LayerMetrics m;
    moescope::routing_balance_metrics({4, 4, 0, 0}, 4, 2, m);
    CHECK_NEAR(m.load[1], 0.5, 1e-15);
    CHECK_NEAR(m.load_entropy, 0.5, 1e-15);
    CHECK_NEAR(m.max_util, 2.0, 1e-15);
    CHECK_NEAR(m.cv, 1.0, 1e-15);
    QVERIFY(std::isfinite(m.load_entropy));
}

// Expert-choice style: E=2, T=4, k=1 but only 3 assignments, counts {2,1}.
// load = C/(T·k) = {½,¼} (not {⅔,⅓}); utilisation {1,½};
// entropy of C/ΣC = {⅔,⅓}: (⅔·ln(3/2) + ⅓·ln3)/ln2 = 0.9182958340544896, so it stays
// in [0,1] (with load_i the entropy would be 1.0, and 1.33 for expert choice at cf 2).
void TestMetrics::normalised_by_budget_not_by_count_sum() {
    LayerMetrics m;
    moescope::routing_balance_metrics({2, 1}, 4, 1, m);
    CHECK_NEAR(m.load[0], 0.5, 1e-15);
    CHECK_NEAR(m.load[1], 0.25, 1e-15);
    CHECK_NEAR(m.max_util, 1.0, 1e-15);
    CHECK_NEAR(m.load_entropy, 0.9182958340544896, 1e-15);
}

void TestMetrics::single_expert_is_balanced() {
    LayerMetrics m;
    moescope::routing_balance_metrics({7}, 7, 1, m);
    CHECK_NEAR(m.load_entropy, 1.0, 0.0);
    CHECK_NEAR(m.max_util, 1.0, 1e-15);
    CHECK_NEAR(m.cv, 0.0, 0.0);
}

void TestMetrics::router_entropy_uniform_and_one_hot() {
    const int E = 4;
    const long T = 3;
    std::vector<double> uniform(E * T, 0.25);
    CHECK_NEAR(moescope::router_entropy(uniform.data(), E, T), 1.0, 1e-15);
    std::vector<float> uniform_f(E * T, 0.25f);
    CHECK_NEAR(moescope::router_entropy(uniform_f.data(), E, T), 1.0, 1e-7);

    // One-hot columns, each token on a different expert.
    std::vector<double> one_hot(E * T, 0.0);
    for (long t = 0; t < T; ++t) one_hot[t * E + t] = 1.0;
    CHECK_NEAR(moescope::router_entropy(one_hot.data(), E, T), 0.0, 0.0);
}

// E=4, T=3, column-major (each token's 4 probabilities contiguous):
//   token 0 {½,½,0,0}     H = ln2            → ÷ln4 = 0.5
//   token 1 {¼,¼,¼,¼}     H = ln4            → 1
//   token 2 {½,¼,⅛,⅛}     H = 1.75·ln2       → 0.875
// mean = (0.5 + 1 + 0.875)/3 = 2.375/3 = 0.791666…
// Reading the buffer row-major (probs[e·T + t]) gives a different value.
void TestMetrics::router_entropy_by_hand() {
    const std::vector<double> p = {0.5, 0.5, 0, 0, 0.25, 0.25, 0.25, 0.25, 0.5, 0.25, 0.125, 0.125};
    CHECK_NEAR(moescope::router_entropy(p.data(), 4, 3), 2.375 / 3, 1e-15);
    const std::vector<float> pf(p.begin(), p.end());
    CHECK_NEAR(moescope::router_entropy(pf.data(), 4, 3), 2.375 / 3, 1e-7);
    // A single token: only the first column counts.
    CHECK_NEAR(moescope::router_entropy(p.data(), 4, 1), 0.5, 1e-15);
}

void TestMetrics::nmi_diagonal_is_one() {
    // class c always goes to expert c, with unequal class sizes.
    const std::vector<int32_t> counts = {5, 0, 0, 0, 7, 0, 0, 0, 2};
    CHECK_NEAR(moescope::normalized_mutual_information(counts, 3, 3), 1.0, 1e-12);
}

// p(class) = {⅓,⅔}, p(expert) = {¼,¾}, counts = 12·p(c)·p(e) → the joint factorises → I = 0.
void TestMetrics::nmi_independent_is_zero() {
    const std::vector<int32_t> counts = {1, 3, 2, 6};
    CHECK_NEAR(moescope::normalized_mutual_information(counts, 2, 2), 0.0, 1e-12);
}

// classes × E = 2 × 2, counts {2,1; 0,1}, N = 4.
// p(c) = {¾,¼}, p(e) = {½,½}; joint {½,¼; 0,¼}.
// I = ½ln(½/(¾·½)) + ¼ln(¼/(¾·½)) + ¼ln(¼/(¼·½)) = ½ln(4/3) + ¼ln(2/3) + ¼ln2 = 1.5ln2 − 0.75ln3 ≈ 0.215762
// H(C) = 2ln2 − 0.75ln3 ≈ 0.562335, H(E) = ln2 ≈ 0.693147
// NMI = 0.215762 / √(0.562335·0.693147) ≈ 0.345593
void TestMetrics::nmi_by_hand() {
    const std::vector<int32_t> counts = {2, 1, 0, 1};
    const double ln2 = std::log(2.0), ln3 = std::log(3.0);
    const double expected = (1.5 * ln2 - 0.75 * ln3) / std::sqrt((2 * ln2 - 0.75 * ln3) * ln2);
    CHECK_NEAR(moescope::normalized_mutual_information(counts, 2, 2), expected, 1e-12);
    CHECK_NEAR(expected, 0.345593, 1e-6);
}

void TestMetrics::nmi_degenerate_cases() {
    CHECK_NEAR(moescope::normalized_mutual_information({0, 0, 0, 0}, 2, 2), 0.0, 0.0);
    // One class only: H(C) = 0.
    CHECK_NEAR(moescope::normalized_mutual_information({3, 1, 4}, 1, 3), 0.0, 0.0);
    // Every token on one expert: H(E) = 0.
    CHECK_NEAR(moescope::normalized_mutual_information({3, 0, 5, 0}, 2, 2), 0.0, 0.0);
}

// window 3, threshold 0.1, expert 1's utilisation 0.6, 0, 0, 0, 0.6:
//   step 1: mean 0.6        → alive
//   step 2: mean 0.3        → alive
//   step 3: mean 0.2        → alive
//   step 4: 0.6 leaves the window, mean 0 → dead (a mean over all steps, 0.15, would say alive)
//   step 5: mean (0+0+0.6)/3 = 0.2 → revived
void TestMetrics::dead_tracker_window() {
    DeadExpertTracker tracker;
    tracker.reset(1, 2, 3);
    QCOMPARE(tracker.update(0, {1.4, 0.6}, 0.1), 0);
    QCOMPARE(tracker.update(0, {2.0, 0.0}, 0.1), 0);
    QCOMPARE(tracker.update(0, {2.0, 0.0}, 0.1), 0);
    QCOMPARE(tracker.update(0, {2.0, 0.0}, 0.1), 1);
    QCOMPARE(tracker.update(0, {1.4, 0.6}, 0.1), 0);
    // The threshold is an argument, so it is live: mean 0.2 is dead below 0.25.
    QCOMPARE(tracker.update(0, {2.0, 0.0}, 0.25), 1);
    // Both experts under a high threshold.
    QCOMPARE(tracker.update(0, {2.0, 0.0}, 5.0), 2);
}

void TestMetrics::dead_tracker_layers_independent() {
    DeadExpertTracker tracker;
    tracker.reset(2, 3, 2);
    // Before the window fills, the mean runs over the steps seen so far.
    QCOMPARE(tracker.update(0, {3.0, 0.0, 0.0}, 0.1), 2);
    QCOMPARE(tracker.update(1, {1.0, 1.0, 1.0}, 0.1), 0);
    QCOMPARE(tracker.update(1, {1.5, 1.5, 0.0}, 0.1), 0);  // expert 2: (1+0)/2 = 0.5
    QCOMPARE(tracker.update(1, {1.5, 1.5, 0.0}, 0.1), 1);  // expert 2: (0+0)/2 = 0
    QCOMPARE(tracker.update(0, {1.0, 1.0, 1.0}, 0.1), 0);  // layer 0 saw only 2 steps: means 2, 0.5, 0.5
}

void TestMetrics::dead_tracker_set_window() {
    DeadExpertTracker tracker;
    tracker.reset(1, 2, 4);
    QCOMPARE(tracker.update(0, {1.0, 1.0}, 0.1), 0);
    QCOMPARE(tracker.update(0, {2.0, 0.0}, 0.1), 0);  // expert 1: 0.5
    // Setting the same window keeps the history.
    tracker.set_window(4);
    QCOMPARE(tracker.update(0, {2.0, 0.0}, 0.1), 0);  // expert 1: 1/3
    // A new window starts from scratch: one step of 0 is now enough.
    tracker.set_window(1);
    QCOMPARE(tracker.update(0, {2.0, 0.0}, 0.1), 1);
    QCOMPARE(tracker.update(0, {1.0, 1.0}, 0.1), 0);
    QCOMPARE(tracker.update(0, {2.0, 0.0}, 0.1), 1);
}

QTEST_APPLESS_MAIN(TestMetrics)
#include "test_metrics.moc"
