#include "train/sweep_runner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>

#include "monitor/metrics.hpp"
#include "nn/threads.hpp"
#include "train/memory_estimate.hpp"
#include "train/trainer.hpp"

namespace moescope {

namespace {

// Mean over the last `w` values and the worst mean over any `w` consecutive
// values (fewer when the run stopped early). `lowest_is_worst` for entropies.
std::pair<double, double> final_and_worst(const std::vector<double>& v, long w, bool lowest_is_worst) {
    const long n = long(v.size());
    if (n == 0) return {kNaN, kNaN};
    w = std::min(w, n);
    double sum = 0;
    for (long i = 0; i < w; ++i) sum += v[size_t(i)];
    double worst = sum;
    for (long i = w; i < n; ++i) {
        sum += v[size_t(i)] - v[size_t(i - w)];
        worst = lowest_is_worst ? std::min(worst, sum) : std::max(worst, sum);
    }
    return {sum / double(w), worst / double(w)};
}

}  // namespace

bool run_sweep_cell(const SweepSpec& spec, int ix, int iy, int s, SweepRun& out, const std::atomic<bool>* cancel,
                    Backend backend) {
    const Config cfg = sweep_run_config(spec, ix, iy, s);
    Trainer tr(cfg, backend);
    // Per step, at its worst layer: load entropy, max util, dead, dropped, router entropy.
    std::array<std::vector<double>, 5> series;
    for (auto& v : series) v.reserve(size_t(spec.steps));
    while (tr.steps_done() < spec.steps) {
        if (cancel && cancel->load(std::memory_order_relaxed)) return false;
        const WorstLayers w = worst_layers(tr.step());
        if (tr.halted()) break;  // the skipped step's metrics are not finite
        const double row[] = {w.load_entropy, w.max_util, double(w.dead), w.dropped, w.router_entropy};
        for (size_t i = 0; i < series.size(); ++i) series[i].push_back(row[i]);
    }
    SweepRun r;
    r.seed = cfg.seed;
    const long window = sweep_window(spec.steps);
    const SweepMeasureId final_ids[] = {kLoadEntropy, kMaxUtil, kDeadExperts, kDropped, kRouterEntropy};
    for (size_t i = 0; i < series.size(); ++i) {
        const SweepMeasureId id = final_ids[i];
        const auto [last, worst] = final_and_worst(series[i], window, sweep_measures()[size_t(id)].higher_is_healthy);
        r.values[size_t(id)] = last;
        r.values[size_t(id) + 1] = worst;  // every windowed measure is followed by its "_worst" twin
    }
    r.values[kTestAcc] = tr.evaluate();
    r.values[kHalted] = tr.halted() ? 1.0 : 0.0;
    out = r;
    return true;
}

SweepResult run_sweep(const SweepSpec& spec, const SweepOptions& opt) {
    spec.validate();
    SweepResult result;
    result.spec = spec;
    const long total = spec.runs();
    const int threads = int(std::clamp<long>(
        opt.threads > 0 ? opt.threads : long(std::max(1u, std::thread::hardware_concurrency())), 1, total));
    check_sweep_memory(spec, threads);  // before any run starts

    std::mutex lock;  // guards everything below and serialises the callbacks
    std::vector<std::vector<std::optional<SweepRun>>> pending(size_t(spec.cells()));
    SweepProgress progress{0, spec.cells(), 0, total, 0, -1};
    std::exception_ptr error;
    std::atomic<long> next{0};
    std::atomic<bool> stop{false};  // an error in one worker stops the others
    const auto t0 = std::chrono::steady_clock::now();

    auto cancelled = [&] { return stop.load() || (opt.cancel && opt.cancel->load()); };
    // Stores a finished run; hands a cell on once its last seed is in.
    auto record = [&](int ix, int iy, int s, const SweepRun& run) {
        std::lock_guard g(lock);
        const int cell = iy * spec.x.n + ix;
        auto& slots = pending[size_t(cell)];
        if (slots.empty()) slots.resize(size_t(spec.seeds));
        slots[size_t(s)] = run;
        ++progress.runs_done;
        progress.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        progress.eta_s = progress.elapsed_s / double(progress.runs_done) * double(total - progress.runs_done);
        if (std::all_of(slots.begin(), slots.end(), [](const auto& r) { return r.has_value(); })) {
            SweepCell c{ix, iy, spec.x.value(ix), spec.y.value(iy), {}};
            for (auto& r : slots) c.runs.push_back(*r);
            ++progress.cells_done;
            result.cells.push_back(std::move(c));
            if (opt.on_cell) opt.on_cell(result.cells.back(), progress);
        }
        if (opt.on_run) opt.on_run(progress);
    };
    auto worker = [&] {
        threads::cap_this_thread(1);  // one core per worker: the pool is the parallelism
        while (!cancelled()) {
            const long u = next.fetch_add(1);
            if (u >= total) return;
            const SweepTask t = sweep_task(spec, u);
            try {
                SweepRun run;
                if (!run_sweep_cell(spec, t.ix, t.iy, t.s, run, opt.cancel)) return;
                record(t.ix, t.iy, t.s, run);
            } catch (...) {
                std::lock_guard g(lock);
                if (!error) error = std::current_exception();
                stop = true;
                return;
            }
        }
    };
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
    if (error) std::rethrow_exception(error);
    std::sort(result.cells.begin(), result.cells.end(),
              [](const SweepCell& a, const SweepCell& b) { return std::tie(a.iy, a.ix) < std::tie(b.iy, b.ix); });
    return result;
}

}  // namespace moescope
