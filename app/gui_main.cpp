// moescope: the window. `moescope [FILE.moesnap | FILE.json] [--preset NAME | --config FILE]
// [--set KEY=VALUE]... [--backend auto|cpu|cuda] [--paused] [--screenshot FILE.png --steps N]` (the last pair trains N
// steps, saves a picture of the window and quits: used for the README screenshots).
// `moescope watch PATH [--ep N]` follows a real job's router log read-only (with
// --screenshot: once the log stops growing, saves the window and quits).
// `--sweep FILE.moesweep` also opens a saved sweep in the phase-diagram window (with
// --screenshot: saves that window and quits); `--sweep-png FILE.moesweep OUT.png` draws its map.
// --help and --version are answered before the QApplication exists, so they
// work without a display.
#include <QApplication>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QMessageBox>
#include <QSettings>
#include <QTimer>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>

#include <unistd.h>

#include "backend_choice.hpp"
#include "error.hpp"
#include "io/snapshot.hpp"
#include "io/snapshot_history.hpp"
#include "nn/threads.hpp"
#include "plots/plot_export.hpp"
#include "theme.hpp"
#include "train/config.hpp"
#include "train/knobs.hpp"
#include "window/lesson_pacer.hpp"
#include "window/main_window.hpp"
#include "window/sweep_window.hpp"
#include "window/window_bench.hpp"

namespace {

struct Options {
    QCommandLineOption preset{QStringLiteral("preset"), QStringLiteral("Built-in preset to start with."),
                              QStringLiteral("name")};
    QCommandLineOption config{QStringLiteral("config"), QStringLiteral("Config JSON to start with."),
                              QStringLiteral("file")};
    QCommandLineOption set{QStringLiteral("set"), QStringLiteral("Override a knob (repeatable)."),
                           QStringLiteral("key=value")};
    QCommandLineOption backend{QStringLiteral("backend"),
                               QStringLiteral("Engine to train on: auto (the GPU when usable), cpu or cuda."),
                               QStringLiteral("auto|cpu|cuda"), QStringLiteral("auto")};
    QCommandLineOption paused{QStringLiteral("paused"), QStringLiteral("Open paused instead of training at once.")};
    QCommandLineOption shot{
        QStringLiteral("screenshot"),
        QStringLiteral("Train (with watch: read the log to its end), save a PNG of the window, quit."),
        QStringLiteral("file")};
    QCommandLineOption steps{QStringLiteral("steps"),
                             QStringLiteral("Steps before --screenshot; steps written by --bench-watch."),
                             QStringLiteral("n"), QStringLiteral("300")};
    QCommandLineOption bench_window{
        QStringLiteral("bench-window"),
        QStringLiteral("Measure training steps/s with the window open vs headless, and quit.")};
    QCommandLineOption bench_latency{QStringLiteral("bench-latency"),
                                     QStringLiteral("Measure the longest plot frame on a synthetic history of 64 "
                                                    "experts × 4 layers × 1,000,000 steps, and quit.")};
    QCommandLineOption bench_watch{
        QStringLiteral("bench-watch"),
        QStringLiteral("Measure the records/s the window keeps up with while a writer appends a router log "
                       "(--steps N steps of 8 layers x 64 experts, default 20000), and quit.")};
    QCommandLineOption ep{QStringLiteral("ep"),
                          QStringLiteral("With watch: expert-parallel size of a Megatron job (default: from the "
                                         "log's header, else 1)."),
                          QStringLiteral("n"), QStringLiteral("0")};
    QCommandLineOption classroom{QStringLiteral("classroom"),
                                 QStringLiteral("Classroom mode: large fonts, lesson text, advanced knobs hidden.")};
    QCommandLineOption sweep{QStringLiteral("sweep"), QStringLiteral("Open a saved sweep in the phase-diagram window."),
                             QStringLiteral("file")};
    QCommandLineOption sweep_png{QStringLiteral("sweep-png"),
                                 QStringLiteral("Draw a saved sweep's map to the PNG named after it, and quit."),
                                 QStringLiteral("file")};
};

void describe(QCommandLineParser& cli, const Options& o) {
    QCoreApplication::setOrganizationName(QStringLiteral("moescope"));
    QCoreApplication::setApplicationName(QStringLiteral("moescope"));
    QCoreApplication::setApplicationVersion(QStringLiteral(MOESCOPE_VERSION));
    cli.setApplicationDescription(QStringLiteral("Watch a Mixture-of-Experts network route tokens while it trains."));
    cli.addHelpOption();
    cli.addVersionOption();
    cli.addOptions({o.preset, o.config, o.set, o.backend, o.paused, o.shot, o.steps, o.bench_window, o.bench_latency,
                    o.bench_watch, o.ep, o.classroom, o.sweep, o.sweep_png});
    cli.addPositionalArgument(QStringLiteral("file"),
                              QStringLiteral("A snapshot (.moesnap) to continue (a watched job's history-only "
                                             "snapshot opens read-only), or a config (.json) to start."),
                              QStringLiteral("[file]"));
    cli.addPositionalArgument(QStringLiteral("watch PATH"),
                              QStringLiteral("Watch a real training job, read-only: PATH is its router log (moescope "
                                             "or Megatron format) or a directory of rank*.jsonl files; the plots "
                                             "fill as it grows (docs/integrations.md)."),
                              QStringLiteral("| watch PATH"));
}

// The window's engine box: what this build and this machine can train on, and why not.
std::vector<EngineOption> engine_options() {
    using moescope::Backend;
    const moescope::GpuInfo gpu = moescope::gpu_info();
    const QString gpu_text = gpu.usable ? QStringLiteral("%1, %2 GiB")
                                              .arg(QString::fromStdString(gpu.name))
                                              .arg(double(gpu.memory) / (1 << 30), 0, 'f', 0)
                                        : QStringLiteral("no usable GPU: %1").arg(QString::fromStdString(gpu.reason));
    return {{Backend::Auto, QStringLiteral("auto"), true,
             QStringLiteral("the GPU when usable, else the CPU; now: ") + gpu_text},
            {Backend::Cpu, QStringLiteral("CPU"), true, QStringLiteral("the CPU engine (OpenMP)")},
            {Backend::Cuda, QStringLiteral("CUDA"), gpu.usable, gpu_text}};
}

// Launched from a desktop (no terminal for stderr, a real screen), an error about the
// file or config also shows in the window, which opens with the usual preset; from a
// terminal, a script or the offscreen platform it stays one line and exit code 2.
bool errors_in_window(const QCommandLineParser& cli, const Options& o) {
    const QString platform = QGuiApplication::platformName();
    if (isatty(STDERR_FILENO) || platform == QLatin1String("offscreen") || platform == QLatin1String("minimal"))
        return false;
    for (const QCommandLineOption* scripted :
         {&o.shot, &o.bench_window, &o.bench_latency, &o.bench_watch, &o.sweep_png})
        if (cli.isSet(*scripted)) return false;
    return true;
}

moescope::Config usual_preset() {
    try {
        return moescope::load_preset(
            QSettings().value(theme::kSettingsPreset, QStringLiteral("default")).toString().toStdString());
    } catch (const std::exception&) {
        return moescope::load_preset("default");
    }
}

// --help and --version print text and quit: they must work without a display,
// where creating the QApplication would abort.
bool asks_help_or_version(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        for (const char* flag : {"-h", "-?", "--help", "--help-all", "-v", "--version"})
            if (std::strcmp(argv[i], flag) == 0) return true;
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    moescope::threads::ensure_passive_wait(argv);
    moescope::register_cuda_engine();
    // A closed stdout (`moescope … | head`) must not kill the window before it saves.
    std::signal(SIGPIPE, SIG_IGN);
    const Options o;
    if (asks_help_or_version(argc, argv)) {
        QCoreApplication core(argc, argv);
        QCommandLineParser cli;
        describe(cli, o);
        cli.process(core);  // prints the help or the version and exits 0 (or 1 on a bad option)
        return 0;
    }
    QApplication app(argc, argv);
    QGuiApplication::setDesktopFileName(QStringLiteral("moescope"));  // matches resources/moescope.desktop
    QCommandLineParser cli;
    describe(cli, o);
    cli.process(app);
    const QStringList files = cli.positionalArguments();
    if (cli.isSet(o.sweep_png)) return renderSweepPng(cli.value(o.sweep_png), files.value(0));
    bool watch = !files.isEmpty() && files.first() == QLatin1String("watch");
    if (watch && files.size() != 2) {
        std::cerr << "moescope: error: watch needs one PATH: a router log file or a directory of rank files\n";
        return 2;
    }
    if (!watch && files.size() > 1) {
        std::cerr << "moescope: error: give one file to open, not " << files.size() << "\n";
        return 2;
    }
    const QString file = files.isEmpty() ? QString() : files.last();
    bool open_snapshot = !watch && !file.isEmpty() && !file.endsWith(QStringLiteral(".json"), Qt::CaseInsensitive);
    // A watched job's history has no config to train with: the window keeps the usual preset beside it.
    bool open_history = open_snapshot && moescope::snapshot_kind(file.toStdString()) == moescope::kSnapshotKindHistory;
    bool ok_ep = false;
    const int ep = cli.value(o.ep).toInt(&ok_ep);
    if (!ok_ep || ep < 0 || ep > 65536) {
        std::cerr << "moescope: error: --ep expects a whole number in [0, 65536], got '"
                  << cli.value(o.ep).toStdString() << "'\n";
        return 2;
    }

    moescope::Config cfg;
    moescope::Backend backend = moescope::Backend::Auto;
    QString startup_error;
    try {
        backend = moescope::parse_backend(cli.value(o.backend).toStdString());
        if (watch && !QFileInfo::exists(file))
            throw moescope::ConfigError("nothing to watch at '" + file.toStdString() + "': no such file or directory");
        if (open_history) {
            moescope::load_history_snapshot(file.toStdString());  // a bad file is one clear line here too
            cfg = moescope::load_preset("default");
        } else if (open_snapshot) {
            // Checked here so a bad file is one clear line, not a window with an error.
            if (cli.isSet(o.set) || cli.isSet(o.config) || cli.isSet(o.preset))
                throw moescope::ConfigError("a snapshot brings its own config: use the knob panel after opening it");
            cfg = moescope::load_snapshot(file.toStdString()).state.config;
        } else if ((!file.isEmpty() && !watch) || cli.isSet(o.config))
            cfg = moescope::load_config_file((file.isEmpty() ? cli.value(o.config) : file).toStdString());
        else {
            const QString name = cli.isSet(o.preset)
                                     ? cli.value(o.preset)
                                     : QSettings().value(theme::kSettingsPreset, QStringLiteral("default")).toString();
            cfg = moescope::load_preset(name.toStdString());
        }
        for (const QString& kv : cli.values(o.set)) {
            const auto eq = kv.indexOf('=');
            if (eq <= 0) throw moescope::ConfigError("--set expects KEY=VALUE, got '" + kv.toStdString() + "'");
            moescope::knob(kv.left(eq).toStdString()).set_text(cfg, kv.mid(eq + 1).toStdString());
        }
        cfg.validate();
    } catch (const std::exception& e) {
        std::cerr << "moescope: error: " << e.what() << "\n";
        if (!errors_in_window(cli, o)) return 2;
        startup_error = QString::fromUtf8(e.what());
        cfg = usual_preset();
        watch = open_snapshot = open_history = false;
    }

    if (cli.isSet(o.bench_latency)) {
        const ReplotLatency r = measure_replot_latency(4, 64, 1000000, 60);
        std::printf(
            "window latency: 64 experts x 4 layers, 1,000,000 steps of history (filled in %.1f s)\n"
            "  history memory     %.1f MB   (target <= 150 MB)\n"
            "  longest frame      %.2f ms   (every plot: data rebuild + replot; target <= 16 ms)\n"
            "  median frame       %.2f ms\n",
            r.fill_seconds, r.history_bytes / 1e6, r.max_frame_ms, r.median_frame_ms);
        for (const auto& [plot, ms] : r.max_plot_ms) std::printf("    %-18s %.2f ms\n", plot.c_str(), ms);
        return 0;
    }
    if (cli.isSet(o.bench_watch)) {
        const long steps = cli.isSet(o.steps) ? cli.value(o.steps).toLong() : 20000;
        const int layers = 8, experts = 64;
        const double pace = 10000;
        const WatchThroughput burst = measure_watch_throughput(steps, layers, experts);
        const WatchThroughput paced = measure_watch_throughput(steps / 4, layers, experts, pace);
        std::printf(
            "watch throughput: %d layers x %d experts, one record = one layer of one step\n"
            "  burst: %ld records appended in %.2f s by one writer thread\n"
            "    window kept up     %.0f records/s   (target >= 10,000; first write -> last step in the plots)%s\n"
            "  steady %.0f records/s: %ld records\n"
            "    lag write -> plot  median %.0f ms, max %.0f ms   (oldest step new in each plot refresh)%s\n"
            "    plot frame period  median %.0f ms, up to %.0f ms   (adapts to the plots' cost, 33-250 ms)\n",
            layers, experts, burst.records, burst.write_s, burst.records_per_s,
            burst.complete ? "" : "   INCOMPLETE: not every step reached the plots in 120 s", pace, paced.records,
            paced.median_lag_ms, paced.max_lag_ms, paced.complete ? "" : "   INCOMPLETE",
            paced.median_replot_interval_ms, paced.max_replot_interval_ms);
        return burst.complete && paced.complete ? 0 : 1;
    }
    if (cli.isSet(o.bench_window)) {
        const long n = cli.isSet(o.steps) ? cli.value(o.steps).toLong() : 600;
        const WindowOverhead w = measure_window_overhead(cfg, n, 3);
        std::printf(
            "window overhead on preset %s, %ld steps, median of 3 alternating rounds\n"
            "  headless           %.1f steps/s\n"
            "  window open        %.1f steps/s\n"
            "  ratio              %.1f %%   (target >= 95 %%)\n",
            cfg.name.c_str(), n, w.headless_steps_per_s, w.window_steps_per_s, 100 * w.ratio());
        return 0;
    }

    MainWindow window(cfg);
    window.setEngineOptions(engine_options(), backend);
    // A screenshot is taken at full speed; a lesson still pauses at its stops (a stop is worth a picture).
    if (cli.isSet(o.shot)) window.pacer()->holdSpeed(0, true);
    window.placeOnScreen({1500, 940});
    // `--sweep FILE` opens the map only: the main window shows (and trains) a cell's run when one is clicked.
    if (!cli.isSet(o.sweep) || !startup_error.isEmpty()) window.show();
    if (cli.isSet(o.classroom)) window.setClassroom(true);
    if (!startup_error.isEmpty()) {
        window.showStartupError(startup_error);  // opens paused: read the error first
        return app.exec();
    }
    // A scripted picture quits without asking about the steps it trained.
    if (cli.isSet(o.shot)) window.setDialogAnswers({[](const QString&) { return int(QMessageBox::Discard); }, {}});
    if (cli.isSet(o.sweep)) {
        SweepWindow* sweeps = window.openSweepFile(cli.value(o.sweep));
        if (!sweeps) {
            std::cerr << "moescope: error: " << window.lastError().toStdString() << "\n";
            return 2;
        }
        if (cli.isSet(o.shot)) {
            const QString path = cli.value(o.shot);
            QTimer::singleShot(500, sweeps, [sweeps, path] {
                std::cout << (savePixmapFile(sweeps->grab(), path) ? "saved " : "could not save ") << path.toStdString()
                          << "\n";
                QApplication::quit();
            });
            return app.exec();
        }
    }
    if (watch) {
        window.watchRun(file, ep);
        if (cli.isSet(o.shot)) {
            // The log has stopped growing for a second: every step is in the plots.
            const QString path = cli.value(o.shot);
            auto* poll = new QTimer(&window);
            auto last = std::make_shared<std::pair<long, int>>(-1, 0);  // (last step, quiet polls)
            QObject::connect(poll, &QTimer::timeout, &window, [&window, poll, last, path] {
                const long step = window.history().last_step();
                last->second = step == last->first && step > 0 ? last->second + 1 : 0;
                last->first = step;
                if (last->second < 10) return;
                poll->stop();
                const bool ok = savePixmapFile(window.grab(), path);
                std::cout << (ok ? "saved " : "could not save ") << path.toStdString() << " at step " << step << "\n";
                window.close();
            });
            poll->start(100);
        }
        return app.exec();
    }
    if (open_snapshot)
        window.loadSnapshot(file);  // opens paused at the saved step (a history-only one read-only)
    else if (!cli.isSet(o.paused) && !cli.isSet(o.sweep) &&  // with --sweep only a clicked cell's run trains
             (!MainWindow::opensPaused(cfg) || cli.isSet(o.shot)))
        window.setPlaying(true);
    if (cli.isSet(o.shot) && open_history) {  // nothing to train: the saved history as it opened
        const QString path = cli.value(o.shot);
        QTimer::singleShot(500, &window, [&window, path] {
            const bool ok = savePixmapFile(window.grab(), path);
            std::cout << (ok ? "saved " : "could not save ") << path.toStdString() << " at step "
                      << window.history().last_step() << "\n";
            window.close();
        });
    } else if (cli.isSet(o.shot)) {
        const long target = cli.value(o.steps).toLong();
        const QString path = cli.value(o.shot);
        auto* poll = new QTimer(&window);
        auto* clock = new QElapsedTimer;
        auto first_step = std::make_shared<long>(-1);
        QObject::connect(poll, &QTimer::timeout, &window, [&window, poll, clock, first_step, target, path] {
            // Wall-clock rate from the first step on: what the window costs training, dataset set-up excluded.
            if (*first_step < 0 && window.stepsDone() > 0) *first_step = window.stepsDone(), clock->start();
            if (window.stepsDone() < target) return;
            poll->stop();
            window.setPlaying(false);
            const double rate = (window.stepsDone() - *first_step) / (clock->nsecsElapsed() / 1e9);
            delete clock;
            QTimer::singleShot(300, &window, [&window, path, rate] {
                const bool ok = savePixmapFile(window.grab(), path);
                std::cout << (ok ? "saved " : "could not save ") << path.toStdString() << " after "
                          << window.stepsDone() << " steps; " << rate
                          << " steps/s with the window open; longest plot refresh " << window.maxReplotMs() << " ms\n";
                window.close();
            });
        });
        poll->start(20);
    }
    return app.exec();
}
