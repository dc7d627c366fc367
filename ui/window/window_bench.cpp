#include "window/window_bench.hpp"

#include <qcustomplot.h>
#include <QApplication>
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "nn/rng.hpp"
#include "plots/load_heatmap.hpp"
#include "plots/load_histogram.hpp"
#include "plots/plot_grid.hpp"
#include "plots/specialisation_map.hpp"
#include "train/trainer.hpp"
#include "window/lesson_pacer.hpp"
#include "window/main_window.hpp"

using namespace moescope;

namespace {

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// One synthetic step: a slowly drifting load per expert with an occasional
// collapse onto expert 0, so the decimated curves have structure to keep.
void synthesize(StepMetrics& m, long step, Rng& rng, std::vector<double>& drift) {
    m.step = step;
    m.loss = 2.0 * std::exp(-step / 2e5) + 0.05 * rng.uniform();
    m.ce = m.loss * 0.9;
    m.aux = 1.0 + 0.1 * rng.uniform();
    m.zloss = 10 + rng.uniform();
    m.train_acc = 1 - m.loss / 2.2;
    m.test_acc = step % 100 == 0 ? m.train_acc : kNaN;
    m.grad_norm = 1 + rng.uniform();
    m.tokens_per_s = 4000 + 100 * rng.uniform();
    const bool collapsed = (step / 50000) % 4 == 3;
    for (auto& L : m.layers) {
        const int E = int(L.load.size());
        double total = 0;
        for (int e = 0; e < E; ++e) {
            drift[size_t(e)] = std::clamp(drift[size_t(e)] + 0.01 * (rng.uniform() - 0.5), 0.2, 2.0);
            L.load[size_t(e)] = (collapsed && e == 0 ? 20.0 : drift[size_t(e)]) * (0.9 + 0.2 * rng.uniform());
            total += L.load[size_t(e)];
        }
        double h = 0;
        for (auto& l : L.load) {
            l /= total;
            h -= l > 0 ? l * std::log(l) : 0;
        }
        L.load_entropy = h / std::log(double(E));
        L.router_entropy = 0.5 + 0.3 * rng.uniform();
        L.max_util = E * *std::max_element(L.load.begin(), L.load.end());
        L.cv = 0.3 * rng.uniform();
        L.dropped = 0;
        L.dead_experts = collapsed ? E / 2 : 0;
        L.mean_abs_logit = 1 + rng.uniform();
        L.max_abs_logit = 4 + rng.uniform();
        L.churn = step % 20 == 0 ? 0.1 * rng.uniform() : kNaN;
        L.nmi = 0.5;
    }
}

}  // namespace

void fill_synthetic_history(MetricsHistory& h, int layers, int experts, long steps, unsigned long seed) {
    h.reset(layers, experts);
    Rng rng(seed);
    StepMetrics m;
    m.layers.resize(size_t(layers));
    for (auto& L : m.layers) {
        L.load.assign(size_t(experts), 0);
        L.utilization.assign(size_t(experts), 0);
        L.mean_prob.assign(size_t(experts), 1.0 / experts);
        L.classes = 10;
        L.class_expert.assign(size_t(10 * experts), 1);
    }
    std::vector<double> drift(size_t(experts), 1.0);
    std::vector<Intervention> iv;
    for (long s = 1; s <= steps; ++s) {
        synthesize(m, s, rng, drift);
        h.append(m);
        if (s % 10000 == 0) {
            iv.push_back({s, "aux_weight", "0.01", "0.1", "user"});
            h.add_interventions(iv);
            iv.clear();
        }
    }
}

WindowOverhead measure_window_overhead(const Config& cfg, long steps, int rounds) {
    std::vector<double> headless, windowed;
    for (int r = 0; r < rounds; ++r) {
        {
            Trainer tr(cfg);
            tr.step();  // warm-up, as the window's rate is measured from its first step
            const auto t0 = std::chrono::steady_clock::now();
            for (long s = 1; s < steps; ++s) tr.step();
            headless.push_back((steps - 1) /
                               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        {
            MainWindow w(cfg);
            w.pacer()->holdSpeed(0, false);  // a lesson preset measured at full speed, without stops
            w.resize(1500, 940);
            w.show();
            w.setPlaying(true);
            while (w.stepsDone() < 1) QApplication::processEvents(QEventLoop::WaitForMoreEvents, 5);
            const long first = w.stepsDone();
            QElapsedTimer t;
            t.start();
            while (w.stepsDone() < steps) QApplication::processEvents(QEventLoop::WaitForMoreEvents, 5);
            windowed.push_back((w.stepsDone() - first) / (t.nsecsElapsed() / 1e9));
            w.close();
        }
    }
    return {median(headless), median(windowed)};
}

ReplotLatency measure_replot_latency(int layers, int experts, long steps, int frames) {
    ReplotLatency out;
    MetricsHistory h;
    QElapsedTimer fill;
    fill.start();
    fill_synthetic_history(h, layers, experts, steps);
    out.fill_seconds = fill.nsecsElapsed() / 1e9;
    out.history_bytes = h.memory_bytes();

    PlotGrid grid;           // the window's own plots and layout
    grid.resize(1150, 860);  // the plot area of a 1500 × 940 window
    grid.show();
    grid.setHistories(&h, &h);
    grid.setLayer(layers - 1);

    Rng rng(7);
    std::vector<double> drift(size_t(experts), 1.0);
    StepMetrics m = h.latest();
    const Plots& p = grid.plots();
    const std::vector<std::pair<std::string, std::function<void()>>> refreshers = {
        {"load per expert", [&] { p.load->refresh(); }},          {"load over time", [&] { p.heatmap->refresh(); }},
        {"specialisation", [&] { p.specialisation->refresh(); }}, {"entropy", [&] { p.entropy->refresh(); }},
        {"loss and accuracy", [&] { p.loss->refresh(); }},        {"balance", [&] { p.balance->refresh(); }}};
    const std::vector<QCustomPlot*> order = {p.load->customPlot(),           p.heatmap->customPlot(),
                                             p.specialisation->customPlot(), p.entropy->customPlot(),
                                             p.loss->customPlot(),           p.balance->customPlot()};
    out.max_plot_ms.assign(refreshers.size(), {});
    for (size_t i = 0; i < refreshers.size(); ++i) out.max_plot_ms[i].first = refreshers[i].first;
    std::vector<double> frame_ms;
    for (int f = 0; f <= frames; ++f) {
        synthesize(m, steps + f + 1, rng, drift);
        h.append(m);
        double frame = 0;
        for (size_t i = 0; i < refreshers.size(); ++i) {
            QElapsedTimer t;
            t.start();
            refreshers[i].second();
            order[i]->replot(QCustomPlot::rpImmediateRefresh);
            const double ms = t.nsecsElapsed() / 1e6;
            frame += ms;
            if (f > 0) out.max_plot_ms[i].second = std::max(out.max_plot_ms[i].second, ms);
        }
        if (f > 0) frame_ms.push_back(frame);  // the first frame builds everything once
    }
    out.max_frame_ms = *std::max_element(frame_ms.begin(), frame_ms.end());
    out.median_frame_ms = median(frame_ms);
    return out;
}

namespace {

// The log's lines, one string per step (all its layers), built before the clock starts:
// a collapse onto expert 0 in the second half, so the monitor has work to do.
std::vector<std::string> router_log_steps(long steps, int layers, int experts) {
    Rng rng(3);
    std::vector<std::string> out;
    out.reserve(size_t(steps));
    const long tokens = 4096;
    for (long s = 0; s < steps; ++s) {
        std::string text;
        for (int l = 0; l < layers; ++l) {
            const bool collapsed = s > steps / 2;
            text += "{\"step\":" + std::to_string(s) + ",\"layer\":" + std::to_string(l) + ",\"counts\":[";
            long left = 2 * tokens;
            for (int e = 0; e < experts; ++e) {
                long c =
                    e + 1 == experts
                        ? left
                        : long((collapsed && e == 0 ? 0.6 : 1.0 / experts) * 2 * tokens * (0.8 + 0.4 * rng.uniform()));
                c = std::clamp(c, 0L, left);
                left -= c;
                text += std::to_string(c) + (e + 1 == experts ? "]" : ",");
            }
            char tail[96];
            std::snprintf(tail, sizeof tail, ",\"router_entropy\":%.4f,\"tokens\":%ld}\n",
                          collapsed ? 0.3 : 0.9 + 0.05 * rng.uniform(), tokens);
            text += tail;
        }
        out.push_back(std::move(text));
    }
    return out;
}

}  // namespace

WatchThroughput measure_watch_throughput(long steps, int layers, int experts, double pace) {
    using clock = std::chrono::steady_clock;
    WatchThroughput out;
    out.records = steps * layers;
    const std::vector<std::string> lines = router_log_steps(steps, layers, experts);
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("router.jsonl")).toStdString();
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return out;
    std::fprintf(f,
                 "{\"format\":\"moescope-routerlog\",\"version\":1,\"experts\":%d,\"layers\":%d,\"top_k\":2,"
                 "\"framework\":\"megatron\",\"model\":\"bench\"}\n",
                 experts, layers);
    std::fflush(f);

    MainWindow w(load_preset("default"));
    w.resize(1500, 940);
    w.show();
    w.watchRun(dir.filePath(QStringLiteral("router.jsonl")));
    QApplication::processEvents();

    // written[s]: when step s was flushed, in ns since t0 (-1 before)
    auto written = std::make_unique<std::atomic<int64_t>[]>(size_t(steps));
    for (long s = 0; s < steps; ++s) written[size_t(s)] = -1;
    const auto t0 = clock::now();
    auto since_t0 = [t0] { return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - t0).count(); };
    std::vector<double> lags, intervals;
    long shown = -1;
    int64_t last_shown_ns = 0;
    QObject::connect(w.plotGrid(), &PlotGrid::refreshed, &w, [&] {
        const long last = w.history().last_step();
        if (last <= shown || last < 0) return;
        const int64_t now = since_t0();
        const int64_t oldest = written[size_t(shown + 1)].load();
        if (oldest >= 0) lags.push_back((now - oldest) / 1e6);
        shown = last;
        last_shown_ns = now;
        intervals.push_back(w.plotGrid()->replotIntervalMs());
        out.max_replot_interval_ms = std::max(out.max_replot_interval_ms, intervals.back());
    });
    std::atomic<int64_t> write_ns{-1};
    std::thread writer([&] {
        for (long s = 0; s < steps; ++s) {
            if (pace > 0)  // step s is due at s·layers/pace seconds
                std::this_thread::sleep_until(t0 + std::chrono::nanoseconds(int64_t(1e9 * double(s * layers) / pace)));
            std::fwrite(lines[size_t(s)].data(), 1, lines[size_t(s)].size(), f);
            std::fflush(f);
            written[size_t(s)] = since_t0();
        }
        write_ns = since_t0();
    });
    QElapsedTimer limit;
    limit.start();
    while (shown < steps - 1 && limit.elapsed() < 120000) QApplication::processEvents(QEventLoop::WaitForMoreEvents, 5);
    writer.join();
    std::fclose(f);
    out.complete = shown == steps - 1;
    out.write_s = write_ns / 1e9;
    out.records_per_s = last_shown_ns > 0 ? out.records / (last_shown_ns / 1e9) : 0;
    out.median_lag_ms = median(lags);
    out.median_replot_interval_ms = median(intervals);
    out.max_lag_ms = lags.empty() ? 0 : *std::max_element(lags.begin(), lags.end());
    w.close();
    return out;
}
