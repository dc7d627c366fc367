// The CLI progress line's tokens/s: the rate over the steps since the previous
// line, so a slow probe or evaluation step is averaged in rather than shown alone.
#include <QtTest>

#include <cmath>

#include "train/interval_rate.hpp"

using moescope::IntervalRate;

class TestIntervalRate : public QObject {
    Q_OBJECT

private slots:
    // Three 10 ms steps then a 40 ms churn-probe step of 512 tokens each: the line
    // shows 2048 tokens over 70 ms, not the probe step's 12,800 tokens/s.
    void a_slow_step_is_averaged_over_the_interval() {
        IntervalRate r;
        for (double ms : {10.0, 10.0, 10.0, 40.0}) r.add(512, ms);
        QCOMPARE(r.elapsed_ms(), 70.0);
        QCOMPARE(r.take(), 2048 * 1000.0 / 70.0);
    }

    void take_starts_a_new_interval() {
        IntervalRate r;
        r.add(100, 1000);
        QCOMPARE(r.take(), 100.0);
        QCOMPARE(r.elapsed_ms(), 0.0);
        r.add(300, 500);
        QCOMPARE(r.take(), 600.0);
    }

    void an_empty_interval_has_no_rate() {
        IntervalRate r;
        QVERIFY(std::isnan(r.take()));
        r.add(512, 0);
        QVERIFY(std::isnan(r.take()));
    }
};

QTEST_APPLESS_MAIN(TestIntervalRate)
#include "test_interval_rate.moc"
