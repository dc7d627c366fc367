// Thread safety of the knob path, for ThreadSanitizer (scripts/test builds it
// with -DMOESCOPE_SANITIZE=thread): four threads request knob changes through
// Trainer::request_knob (the queue the window's worker feeds) at well over
// 10,000 a second while one thread steps the trainer and publishes frames and
// exported states, and another reads them, for about five seconds (one under
// a plain build). TSan must report nothing; every accepted request must be
// applied and logged exactly as the last value each knob was given.
#include <QtTest>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "train/knobs.hpp"
#include "train/trainer.hpp"

using namespace moescope;

namespace {

Config small() {
    Config c = load_preset("default");
    c.batch_tokens = 32;
    c.train_samples = 500;
    c.test_samples = 100;
    c.d_model = 16;
    c.d_ff = 16;
    c.experts = 4;
    c.eval_every = 10;
    return c;
}

// What the worker hands the window: the newest metrics and, now and then, a full state.
struct Mailbox {
    std::mutex m;
    StepMetrics frame;
    std::shared_ptr<const TrainerState> state;
};

#if defined(__SANITIZE_THREAD__)
constexpr auto kDuration = std::chrono::seconds(5);
#else
constexpr auto kDuration = std::chrono::seconds(1);
#endif
// The storm runs for kDuration and at least until this many knob requests and
// training steps were made (a count, not a rate: a loaded machine only makes the test longer), but
// never past kLongest.
constexpr long kMinRequests = 10000, kMinSteps = 5;
constexpr auto kLongest = std::chrono::seconds(60);

}  // namespace

class TestKnobStorm : public QObject {
    Q_OBJECT

private slots:
    void knobStormWhileStepping() {
        Trainer tr(small());
        Mailbox box;
        std::atomic<bool> stop{false};
        std::atomic<long> requests{0}, refused{0}, frames_read{0};
        const char* const knobs[] = {"aux_weight", "lr", "router_lr", "temperature", "noise_std", "hysteresis"};
        const char* const values[] = {"0.01", "0.001", "0.002", "1.5", "0.1", "7"};

        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&, t] {
                long i = 0;
                while (!stop.load(std::memory_order_relaxed)) {
                    const int k = static_cast<int>((i + t) % 6);
                    try {
                        // Every 16th request is bad: refused at once, never queued.
                        tr.request_knob(knobs[k], i % 16 == 0 ? "-5" : values[k], "storm");
                    } catch (const ConfigError&) {
                        refused.fetch_add(1, std::memory_order_relaxed);
                    }
                    requests.fetch_add(1, std::memory_order_relaxed);
                    ++i;
                }
            });
        threads.emplace_back([&] {  // the window: reads frames and serialises states
            while (!stop.load(std::memory_order_relaxed)) {
                std::shared_ptr<const TrainerState> st;
                {
                    std::lock_guard lock(box.m);
                    st = box.state;
                    if (box.frame.layers.size() > 0) frames_read.fetch_add(1, std::memory_order_relaxed);
                }
                if (st) (void)config_to_json(st->config).dump();
                std::this_thread::yield();
            }
        });

        const auto t0 = std::chrono::steady_clock::now();
        long steps = 0;
        auto storming = [&] {
            const auto elapsed = std::chrono::steady_clock::now() - t0;
            const bool enough = requests.load() >= kMinRequests && steps >= kMinSteps;
            return elapsed < kDuration || (!enough && elapsed < kLongest);
        };
        while (storming()) {
            const StepMetrics& m = tr.step();
            ++steps;
            std::lock_guard lock(box.m);
            box.frame = m;
            if (steps % 20 == 0) box.state = std::make_shared<const TrainerState>(tr.export_state());
        }
        stop = true;
        for (auto& th : threads) th.join();
        tr.step();  // applies what was queued after the last step

        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        qInfo("%ld knob requests (%.0f/s, %ld refused), %ld steps, %ld frames read", requests.load(),
              requests.load() / seconds, refused.load(), steps, frames_read.load());
        QVERIFY2(requests.load() >= kMinRequests, "the storm made too few knob requests to test anything");
        QVERIFY(refused.load() > 0 && steps >= kMinSteps && frames_read.load() > 0);
        QVERIFY(!tr.halted());
        // Every knob ends at the one value the storm gave it, and the log holds only real changes.
        for (int k = 0; k < 6; ++k)
            QCOMPARE(knob(knobs[k]).get_text(tr.config()), knob(knobs[k]).get_text([&] {
                Config c = small();
                knob(knobs[k]).set_text(c, values[k]);
                return c;
            }()));
        for (const Intervention& iv : tr.interventions()) QVERIFY(iv.old_value != iv.new_value);
    }
};

QTEST_APPLESS_MAIN(TestKnobStorm)
#include "test_knob_storm.moc"
