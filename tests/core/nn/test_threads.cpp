// The thread rule (core/nn/threads.hpp): a step below the threshold runs on
// one thread, a larger one on every core the process may use; a sweep
// worker's cap holds for its own thread only; bench --presets' force wins.
#include <QtTest>

#include <thread>

#include "nn/threads.hpp"

using namespace moescope;

class TestThreads : public QObject {
    Q_OBJECT

private slots:
    void small_steps_run_on_one_thread() {
        QCOMPARE(threads::for_step(0), 1);
        QCOMPARE(threads::for_step(2.0e8), 1);  // the default preset
        QCOMPARE(threads::for_step(threads::kOneThreadBelow * 0.999), 1);
        QCOMPARE(threads::for_step(5.0e10), threads::available());  // the bench config
        QVERIFY(threads::available() >= 1);
    }

    void a_cap_holds_on_its_own_thread_only() {
        int in_worker = 0;
        std::thread worker([&] {
            threads::cap_this_thread(1);
            in_worker = threads::for_step(5.0e10);
        });
        worker.join();
        QCOMPARE(in_worker, 1);
        QCOMPARE(threads::for_step(5.0e10), threads::available());
    }

    void force_wins_and_resets() {
        threads::force(3);
        QCOMPARE(threads::for_step(0), 3);
        threads::force(0);
        QCOMPARE(threads::for_step(0), 1);
    }
};

QTEST_APPLESS_MAIN(TestThreads)
#include "test_threads.moc"
