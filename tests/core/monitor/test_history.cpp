// The run history keeps every series at bounded memory without losing the
// extremes: folding keeps each group's min and max in step order.
#include <QtTest>

#include <cmath>

#include "monitor/metrics_history.hpp"

using namespace moescope;

class TestHistory : public QObject {
    Q_OBJECT

private slots:
    void folding_keeps_spikes_and_order();
    void memory_is_bounded_for_64_experts_4_layers();
    void nan_values_are_skipped();
};

void TestHistory::folding_keeps_spikes_and_order() {
    DecimatedSeries s(64);
    for (int i = 0; i < 10000; ++i) s.append(i, i == 123 ? 50.0 : (i == 4567 ? -7.0 : std::sin(i * 0.1)));
    QVERIFY(s.size() <= 64);
    QCOMPARE(*std::max_element(s.y().begin(), s.y().end()), 50.0);
    QCOMPARE(*std::min_element(s.y().begin(), s.y().end()), -7.0);
    QVERIFY(std::is_sorted(s.x().begin(), s.x().end()));
    QCOMPARE(s.x().back(), 9999.0);  // the newest point is never folded away
}

void TestHistory::memory_is_bounded_for_64_experts_4_layers() {
    MetricsHistory h;
    const int L = 4, E = 64;
    h.reset(L, E);
    StepMetrics m;
    m.layers.resize(L);
    for (auto& l : m.layers) l.load.assign(E, 1.0 / E);
    const long steps = 3 * 16384;  // enough for every series to fold at least once
    for (long s = 1; s <= steps; ++s) {
        m.step = s;
        m.loss = 1.0 / double(s);
        h.append(m);
    }
    for (const auto& [key, series] : h.all_series())
        QVERIFY(series.size() <=
                (std::get<2>(key) >= 0 ? MetricsHistory::kExpertSeriesCapacity : MetricsHistory::kSeriesCapacity));
    QVERIFY(h.series("load", 0, 0)->size() > MetricsHistory::kExpertSeriesCapacity / 2);
    QVERIFY(h.series("load", 3, 63) != nullptr);
    // Bounded by the number of series × capacity, whatever the number of steps:
    // 64 × 4 load series at 4096 points + per-layer and model series at 16384 ≈ 25 MB, under the 150 MB target.
    qInfo("history of %d series: %.1f MB", int(h.all_series().size()), h.memory_bytes() / 1e6);
    QVERIFY(h.memory_bytes() < 150'000'000);
}

void TestHistory::nan_values_are_skipped() {
    MetricsHistory h;
    h.reset(1, 2);
    StepMetrics m;
    m.layers.resize(1);
    m.layers[0].load = {0.5, 0.5};
    for (long s = 1; s <= 10; ++s) {
        m.step = s;
        m.test_acc = s % 5 == 0 ? 0.9 : kNaN;
        h.append(m);
    }
    QCOMPARE(h.series("test_acc")->size(), size_t(2));
    QCOMPARE(h.series("load", 0, 1)->size(), size_t(10));
}

QTEST_APPLESS_MAIN(TestHistory)
#include "test_history.moc"
