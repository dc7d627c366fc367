// The window watching a real job's router log, offscreen: a growing file fills
// the plots, the job panel and the warnings (a collapse warning naming the
// job's own flag); File → Watch a run's directory merges Megatron rank files;
// the watched history saves as a history-only snapshot that loads read-only,
// refuses to resume training, and serves as the ghost overlay.
#include <qcustomplot.h>
#include <QAction>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QToolBar>
#include <QtTest>

#include "cli_process.hpp"
#include "io/snapshot.hpp"
#include "io/snapshot_history.hpp"
#include "panels/job_info_panel.hpp"
#include "panels/knob_panel.hpp"
#include "panels/warnings_panel.hpp"
#include "plots/load_heatmap.hpp"
#include "plots/load_histogram.hpp"
#include "plots/time_plot.hpp"
#include "test_presets.hpp"
#include "window/main_window.hpp"

using namespace moescope;

namespace {
constexpr int kTimeoutMs = 30000;
constexpr int kExperts = 8, kLayers = 2;

void append(const QString& path, const QByteArray& text) {
    QFile f(path);
    QVERIFY(f.open(QIODevice::Append));
    QCOMPARE(f.write(text), text.size());
}

QByteArray header() {
    return R"({"format":"moescope-routerlog","version":1,"experts":8,"layers":2,"top_k":2,"framework":"megatron","model":"tiny-moe"})"
           "\n";
}

// Steps [from, to) of both layers: balanced counts, or all on expert 0 (collapsed).
QByteArray steps(long from, long to, bool collapsed) {
    QByteArray out;
    for (long s = from; s < to; ++s)
        for (int l = 0; l < kLayers; ++l) {
            QStringList counts;
            for (int e = 0; e < kExperts; ++e)
                counts << QString::number(collapsed ? (e == 0 ? 512 : 0) : 64 + ((s + e) % 3) - 1);
            out += QStringLiteral(R"({"step":%1,"layer":%2,"counts":[%3],"tokens":256,"router_entropy":%4})"
                                  "\n")
                       .arg(s)
                       .arg(l)
                       .arg(counts.join(','))
                       .arg(collapsed ? 0.05 : 0.95)
                       .toUtf8();
        }
    return out;
}

// Number of points in the first graph of a time plot, and its last key.
std::pair<int, double> curve(TimePlot* p) {
    QCPGraph* g = p->customPlot()->graph(0);
    if (!g || g->data()->isEmpty()) return {0, -1};
    return {g->data()->size(), (g->data()->constEnd() - 1)->key};
}

int warning_row(const WarningsPanel* w, const QString& id_text) {
    for (int r = 0; r < w->warningCount(); ++r)
        if (w->messageAt(r).contains(id_text, Qt::CaseInsensitive)) return r;
    return -1;
}

bool same_history(const MetricsHistory& a, const MetricsHistory& b) {
    if (a.layers() != b.layers() || a.experts() != b.experts()) return false;
    size_t compared = 0;
    for (const auto& [key, s] : a.all_series()) {
        if (s.size() == 0) continue;
        const DecimatedSeries* t = b.series(std::get<0>(key), std::get<1>(key), std::get<2>(key));
        if (!t || t->x() != s.x() || t->y() != s.y()) return false;
        ++compared;
    }
    return compared > 0;
}
}  // namespace

class TestWatch : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QVERIFY(dir_.isValid());
    }

    // The heart of it: the plots, the job panel and the warnings follow the file as it grows.
    void growing_file_fills_the_window() {
        const QString log = dir_.filePath(QStringLiteral("grow.jsonl"));
        append(log, header());
        MainWindow w(test_presets::tiny());
        w.resize(1300, 900);
        w.show();
        QVERIFY(w.watchRun(log));
        QVERIFY(w.isReadOnly());
        QVERIFY(w.runLabel().startsWith(QStringLiteral("watching ")));
        QVERIFY(w.runLabel().contains(QStringLiteral("grow.jsonl")));
        QVERIFY(w.jobInfoPanel()->isVisible());
        QVERIFY(!w.knobPanel()->isVisible());

        // Nothing trains: Play is refused, the knobs and steps do nothing.
        w.setPlaying(true);
        QVERIFY(!w.session().isPlaying());

        append(log, steps(0, 20, false));
        QTRY_COMPARE_WITH_TIMEOUT(w.history().last_step(), 19L, kTimeoutMs);
        QCOMPARE(w.history().layers(), kLayers);
        QCOMPARE(w.history().experts(), kExperts);
        JobInfoPanel* job = w.jobInfoPanel();
        QTRY_COMPARE_WITH_TIMEOUT(job->value(QStringLiteral("Last step")), QStringLiteral("19"), kTimeoutMs);
        QCOMPARE(job->value(QStringLiteral("Layers")), QStringLiteral("2"));
        QCOMPARE(job->value(QStringLiteral("Experts")), QStringLiteral("8"));
        QCOMPARE(job->value(QStringLiteral("Format")), QStringLiteral("moescope router log"));
        QCOMPARE(job->value(QStringLiteral("Framework")), QStringLiteral("megatron"));
        QCOMPARE(job->value(QStringLiteral("Model")), QStringLiteral("tiny-moe"));
        QCOMPARE(job->value(QStringLiteral("Top-k")), QStringLiteral("2"));
        QCOMPARE(job->value(QStringLiteral("Bad lines skipped")), QStringLiteral("0"));
        QTRY_COMPARE_WITH_TIMEOUT(curve(w.plots().entropy).second, 19.0, kTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(w.loadHistogram()->barCount(), kExperts, kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(std::abs(w.loadHistogram()->barValue(0) - 1.0 / kExperts) < 0.01, kTimeoutMs);
        QCOMPARE(warning_row(w.warningsPanel(), QStringLiteral("collaps")), -1);

        // A bad line is skipped and counted; then routing collapses onto expert 0.
        append(log, "{\"step\": \"oops\"}\n");
        append(log, steps(20, 120, true));
        QTRY_COMPARE_WITH_TIMEOUT(w.history().last_step(), 119L, kTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(job->value(QStringLiteral("Last step")), QStringLiteral("119"), kTimeoutMs);
        QCOMPARE(job->value(QStringLiteral("Bad lines skipped")), QStringLiteral("1"));
        QVERIFY2(job->problem().contains(QStringLiteral("grow.jsonl:")), qPrintable(job->problem()));
        QTRY_COMPARE_WITH_TIMEOUT(curve(w.plots().entropy).second, 119.0, kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(w.loadHistogram()->barValue(0) > 0.9, kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(w.plots().heatmap->stepBins() > 0, kTimeoutMs);
        QVERIFY(w.plots().heatmap->cell(0, w.plots().heatmap->stepBins() - 1) > 0.9);
        QTRY_VERIFY_WITH_TIMEOUT(warning_row(w.warningsPanel(), QStringLiteral("collaps")) >= 0, kTimeoutMs);
        // This log carries neither an aux loss nor a z-loss: no loss plot of any kind.
        QVERIFY(w.plots().loss->isHidden());
        QVERIFY(w.plots().router_loss->isHidden());
        const int row = warning_row(w.warningsPanel(), QStringLiteral("collaps"));
        // The remedy names the job's own flag and offers no moescope knob button.
        QVERIFY(w.warningsPanel()->remedyButton(row) == nullptr);
        bool names_flag = false;
        for (const Warning& wn : w.session().jobWarnings())
            names_flag = names_flag || wn.remedy.text.find("--moe-aux-loss-coeff") != std::string::npos;
        QVERIFY(names_flag);

        // Choosing a preset leaves the watched run and trains again.
        w.selectPreset(QStringLiteral("default"));
        QVERIFY(!w.isReadOnly());
        QVERIFY(w.knobPanel()->isVisible());
    }

    // The engineer's view of a job (issue 23): the window opens on the layer in trouble
    // (it showed the last, healthy one), a click on a warning shows its layer, the
    // toolbar hides what does nothing for a watched job, and the toolbar's step is
    // the Job panel's last step.
    void watched_job_opens_on_the_worst_layer() {
        const QString log = dir_.filePath(QStringLiteral("worst.jsonl"));
        append(log, header());
        QByteArray lines;
        for (long s = 0; s < 80; ++s)
            for (int l = 0; l < kLayers; ++l) {
                QStringList counts;
                for (int e = 0; e < kExperts; ++e)
                    counts << QString::number(l == 0 && s >= 10 ? (e == 0 ? 512 : 0) : 64 + ((s + e) % 3) - 1);
                lines += QStringLiteral(R"({"step":%1,"layer":%2,"counts":[%3],"tokens":256})"
                                        "\n")
                             .arg(s)
                             .arg(l)
                             .arg(counts.join(','))
                             .toUtf8();
            }
        append(log, lines);
        MainWindow w(test_presets::tiny());
        w.resize(1300, 900);
        w.show();
        auto* layer_box = w.findChild<QComboBox*>(QStringLiteral("layer_box"));
        auto* preset_box = w.findChild<QComboBox*>(QStringLiteral("preset_box"));
        QVERIFY(layer_box && preset_box);
        // Whether the toolbar shows the preset box (in the overflow "»" when narrow, but there).
        auto* bar = w.findChild<QToolBar*>(QStringLiteral("run_toolbar"));
        auto preset_shown = [bar, preset_box] {
            for (QAction* a : bar->actions())
                if (bar->widgetForAction(a) == preset_box) return a->isVisible();
            return false;
        };
        QVERIFY(preset_shown());
        QVERIFY(w.watchRun(log));
        QTRY_COMPARE_WITH_TIMEOUT(w.history().last_step(), 79L, kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(warning_row(w.warningsPanel(), QStringLiteral("collaps")) >= 0, kTimeoutMs);
        QCOMPARE(layer_box->count(), kLayers);
        QTRY_COMPARE_WITH_TIMEOUT(layer_box->currentIndex(), 0, kTimeoutMs);  // L0 collapsed, L1 healthy
        QVERIFY(!preset_shown());
        QTRY_COMPARE_WITH_TIMEOUT(w.jobInfoPanel()->value(QStringLiteral("Last step")), QStringLiteral("79"),
                                  kTimeoutMs);
        auto* step = w.findChild<QLabel*>(QStringLiteral("step_counter"));
        QVERIFY(step);
        QCOMPARE(step->text(), QStringLiteral("step 79"));

        // The user's choice stands; a click on a warning shows its layer.
        layer_box->setCurrentIndex(1);
        emit layer_box->activated(1);
        QTest::qWait(300);
        QCOMPARE(layer_box->currentIndex(), 1);
        QTableWidget* table = w.warningsPanel()->table();
        const int row = warning_row(w.warningsPanel(), QStringLiteral("collaps"));
        const QRect cell = table->visualRect(table->model()->index(row, WarningsPanel::MessageColumn));
        QTest::mouseClick(table->viewport(), Qt::LeftButton, {}, cell.center());
        QCOMPARE(layer_box->currentIndex(), 0);
        QVERIFY(w.windowTitle().size() > 0);

        w.selectPreset(QStringLiteral("default"));  // training again: the toolbar items come back
        QVERIFY(preset_shown());
    }

    // A job that logs its aux loss and z-loss gets them plotted on the layer shown, in the
    // loss plot's place (issue 23: the loss plot was empty, ticks 7.5e-7 to 1.5e-6), on a
    // log axis that spans them; they follow the layer box; the report exports the plot.
    void watched_job_plots_its_router_losses() {
        const QString log = dir_.filePath(QStringLiteral("losses.jsonl"));
        append(log, header());
        QByteArray lines;
        for (long s = 0; s < 30; ++s)
            for (int l = 0; l < kLayers; ++l)
                lines += QStringLiteral(R"({"step":%1,"layer":%2,"counts":[64,64,64,64,64,64,64,64],"tokens":256,)"
                                        R"("aux_loss":%3,"z_loss":%4})"
                                        "\n")
                             .arg(s)
                             .arg(l)
                             .arg(1.0 + 0.5 * l)
                             .arg(40.0 * (l + 1))
                             .toUtf8();
        append(log, lines);
        MainWindow w(test_presets::tiny());
        w.resize(1300, 900);
        w.show();
        QVERIFY(w.watchRun(log));
        TimePlot* losses = w.plots().router_loss;
        QTRY_COMPARE_WITH_TIMEOUT(w.history().last_step(), 29L, kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(!losses->isHidden(), kTimeoutMs);
        QVERIFY(losses->isVisible());
        QVERIFY(w.plots().loss->isHidden());
        QCOMPARE(losses->graphCount(), 2);
        QTRY_COMPARE_WITH_TIMEOUT(losses->customPlot()->graph(0)->dataCount(), 30, kTimeoutMs);
        QCOMPARE(losses->customPlot()->graph(1)->dataCount(), 30);
        auto* layer_box = w.findChild<QComboBox*>(QStringLiteral("layer_box"));
        QVERIFY(layer_box);
        const int layer = layer_box->currentIndex();
        QCOMPARE(losses->layer(), layer);
        QCOMPARE(losses->customPlot()->graph(0)->data()->at(0)->value, 1.0 + 0.5 * layer);
        QCOMPARE(losses->customPlot()->graph(1)->data()->at(0)->value, 40.0 * (layer + 1));
        // One axis spans both, from the aux loss to the z-loss.
        const QCPRange range = losses->customPlot()->yAxis->range();
        QVERIFY2(range.lower <= 1.0 && range.upper >= 80.0,
                 qPrintable(QStringLiteral("%1 … %2").arg(range.lower).arg(range.upper)));
        layer_box->setCurrentIndex(1 - layer);
        QTRY_COMPARE_WITH_TIMEOUT(losses->customPlot()->graph(1)->data()->at(0)->value, 40.0 * (2 - layer), kTimeoutMs);
        QStringList named;
        for (const auto& [name, plot] : w.plotGrid()->namedPlots()) named << name;
        QVERIFY2(named.contains(QStringLiteral("router_losses")), qPrintable(named.join(' ')));

        w.selectPreset(QStringLiteral("default"));  // training again: the training run's loss plot
        QVERIFY(losses->isHidden());
        QVERIFY(!w.plots().loss->isHidden());
    }

    // Watching at once, while the window's first training run is still being built on
    // its thread: that run's news, arriving later, must not take the watched history over.
    void watch_right_after_start_keeps_the_log() {
        const QString log = dir_.filePath(QStringLiteral("early.jsonl"));
        append(log, header());
        append(log, steps(0, 10, false));
        MainWindow w(test_presets::small("default"));  // its dataset takes a while to build
        QVERIFY(w.watchRun(log));
        QTRY_COMPARE_WITH_TIMEOUT(w.history().last_step(), 9L, kTimeoutMs);
        QTest::qWait(1500);  // the training run is built by now
        QCOMPARE(w.history().last_step(), 9L);
        QCOMPARE(w.history().layers(), kLayers);
        QVERIFY(w.isReadOnly());
        QVERIFY(w.runLabel().startsWith(QStringLiteral("watching ")));
    }

    // File → Watch a run's directory, through the real file dialog: Megatron rank
    // files of two data-parallel replicas are summed.
    void watch_directory_action_merges_megatron_ranks() {
        const QString run = dir_.filePath(QStringLiteral("megatron_run"));
        QVERIFY(QDir().mkpath(run + QStringLiteral("/tokens_per_expert")));
        for (int rank = 0; rank < 2; ++rank) {
            QByteArray text;
            for (long it = 1; it <= 5; ++it)
                for (int layer = 0; layer < 2; ++layer)
                    text +=
                        QStringLiteral(
                            R"({"iter": %1, "block": "decoder", "layer": %2, "tpe": [[%3, 10, 20, 30], [%3, 10, 20, 30]]})"
                            "\n")
                            .arg(it)
                            .arg(layer)
                            .arg(rank == 0 ? 40 : 0)
                            .toUtf8();
            append(run + QStringLiteral("/tokens_per_expert/rank%1.jsonl").arg(rank), text);
        }
        MainWindow w(test_presets::tiny());
        w.show();
        QAction* action = w.findChild<QAction*>(QStringLiteral("watch_directory_action"));
        QVERIFY(action);
        QVERIFY(action->isEnabled());
        bool chose = false;
        QTimer::singleShot(200, &w, [&] {
            auto* dialog = qobject_cast<QFileDialog*>(QApplication::activeModalWidget());
            if (!dialog) return;
            // What a user types into the dialog's name field.
            auto* name = dialog->findChild<QLineEdit*>(QStringLiteral("fileNameEdit"));
            if (!name) return;
            name->setText(run);
            chose = true;
            static_cast<QDialog*>(dialog)->accept();
        });
        action->trigger();
        QVERIFY(chose);
        QVERIFY(w.isReadOnly());
        QVERIFY2(w.runLabel().contains(QStringLiteral("megatron_run")), qPrintable(w.runLabel()));
        JobInfoPanel* job = w.jobInfoPanel();
        // The last step completes when the writers are done: 4 of 5 are in while they may still write.
        QTRY_VERIFY_WITH_TIMEOUT(w.history().last_step() >= 4, kTimeoutMs);
        QCOMPARE(w.history().experts(), 4);
        QCOMPARE(w.history().layers(), 2);
        QTRY_COMPARE_WITH_TIMEOUT(job->value(QStringLiteral("Format")), QStringLiteral("Megatron tokens-per-expert"),
                                  kTimeoutMs);
        QCOMPARE(job->value(QStringLiteral("Ranks")), QStringLiteral("2"));
        QCOMPARE(job->value(QStringLiteral("Framework")), QStringLiteral("megatron"));
        // Summed over replicas and micro-batches: 80 + 0, 40, 80, 120 of 320 assignments.
        const StepMetrics& m = w.history().latest();
        QCOMPARE(m.layers.size(), size_t(2));
        QCOMPARE(m.layers[0].load[0], 80.0 / 320.0);
        QCOMPARE(m.layers[0].load[3], 120.0 / 320.0);
    }

    // Save the watched history: the file holds history only, reads back equal,
    // refuses to resume (core and CLI), opens read-only, and serves as a ghost.
    void history_snapshot_round_trip() {
        const QString log = dir_.filePath(QStringLiteral("saved.jsonl"));
        append(log, header());
        append(log, steps(0, 30, false));
        append(log, steps(30, 90, true));
        const QString snap = dir_.filePath(QStringLiteral("watched.moesnap"));
        std::vector<Warning> raised;
        {
            MainWindow w(test_presets::tiny());
            w.show();
            QVERIFY(w.watchRun(log));
            QTRY_COMPARE_WITH_TIMEOUT(w.history().last_step(), 89L, kTimeoutMs);  // the whole log
            QTRY_VERIFY_WITH_TIMEOUT(!w.session().jobWarnings().empty(), kTimeoutMs);
            raised = w.session().jobWarnings();
            QSignalSpy saved(&w, &MainWindow::snapshotSaved);
            QVERIFY(w.saveSnapshot(snap));
            QTRY_COMPARE_WITH_TIMEOUT(saved.count(), 1, kTimeoutMs);
            QVERIFY2(saved.at(0).at(1).toBool(), qPrintable(saved.at(0).at(2).toString()));

            const SavedHistory back = load_history_snapshot(snap.toStdString());
            QVERIFY(back.history_only);
            QVERIFY(same_history(w.history(), back.history));
            QCOMPARE(back.step, w.history().last_step());
            QCOMPARE(back.job.experts, kExperts);
            QCOMPARE(back.job.layers, kLayers);
            QCOMPARE(back.job.framework, std::string("megatron"));
            QCOMPARE(back.job.source, log.toStdString());
            QCOMPARE(back.warnings.size(), raised.size());
            QCOMPARE(back.warnings.front().remedy.text, raised.front().remedy.text);
            QCOMPARE(back.history.latest().step, w.history().last_step());
            QCOMPARE(QString::fromStdString(snapshot_kind(snap.toStdString())), QStringLiteral("history"));
        }

        // Training cannot resume from it: one clear message, in the core and the CLI.
        try {
            load_snapshot(snap.toStdString());
            QFAIL("a history-only snapshot loaded as a run");
        } catch (const DataError& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("training cannot resume")), e.what());
        }
        const ProcessResult r = run_cli({QStringLiteral("train"), QStringLiteral("--resume"), snap,
                                         QStringLiteral("--steps"), QStringLiteral("5")});
        QVERIFY2(r.finished && r.code != 0, qPrintable(r.describe()));
        QVERIFY2(r.err.contains(QStringLiteral("training cannot resume")), qPrintable(r.describe()));
        QVERIFY2(!r.err.contains(QStringLiteral("internal")), qPrintable(r.describe()));
        // inspect describes it.
        const ProcessResult i = run_cli({QStringLiteral("inspect"), snap});
        QVERIFY2(i.finished && i.code == 0, qPrintable(i.describe()));
        QVERIFY2(i.out.contains(QStringLiteral("history only")) && i.out.contains(QStringLiteral("E=8 L=2")),
                 qPrintable(i.describe()));

        // Opening it in the window shows it read-only, with its warnings.
        MainWindow v(test_presets::tiny());
        v.show();
        QSignalSpy opened(&v, &MainWindow::snapshotLoaded);
        QVERIFY(v.loadSnapshot(snap));
        QCOMPARE(opened.count(), 1);
        QVERIFY(v.isReadOnly());
        QCOMPARE(v.session().source(), RunSession::Source::Saved);
        QCOMPARE(v.history().experts(), kExperts);
        QVERIFY(v.history().last_step() >= 88);
        v.setPlaying(true);
        QVERIFY(!v.session().isPlaying());
        QVERIFY(warning_row(v.warningsPanel(), QStringLiteral("collaps")) >= 0);
        QCOMPARE(v.jobInfoPanel()->value(QStringLiteral("Experts")), QStringLiteral("8"));
        QTRY_VERIFY_WITH_TIMEOUT(curve(v.plots().entropy).first > 0, kTimeoutMs);

        // As the ghost of a moescope run: its curves are drawn over the run's.
        MainWindow t(test_presets::tiny());
        t.show();
        QVERIFY(t.compareWith(snap));
        QVERIFY(t.ghostHistory() != nullptr);
        QVERIFY(same_history(*t.ghostHistory(), v.history()));
        QCOMPARE(t.plots().entropy->overlayCount(), 1);
        t.setPlaying(true);
        QTRY_VERIFY_WITH_TIMEOUT(t.history().last_step() >= 3, kTimeoutMs);
        t.setPlaying(false);
        QTRY_VERIFY_WITH_TIMEOUT(t.plots().entropy->overlayPointCount(0, 0) > 0, kTimeoutMs);

        // And of another watched job.
        QVERIFY(v.watchRun(log));
        QVERIFY(v.compareWith(snap));
        QCOMPARE(v.plots().entropy->overlayCount(), 1);
        QTRY_VERIFY_WITH_TIMEOUT(v.plots().entropy->overlayPointCount(0, 0) > 0, kTimeoutMs);
    }

    // A damaged history-only file is one clear error, the current run untouched.
    void bad_history_snapshot_is_refused() {
        const QString snap = dir_.filePath(QStringLiteral("bad.moesnap"));
        const QString log = dir_.filePath(QStringLiteral("small.jsonl"));
        append(log, header());
        append(log, steps(0, 5, false));
        JobInfo job;
        job.source = log.toStdString();
        job.layers = kLayers;
        job.experts = kExperts;
        MetricsHistory h;
        h.reset(kLayers, kExperts);
        save_history_snapshot(snap.toStdString(), job, h, {});
        QVERIFY(load_history_snapshot(snap.toStdString()).history_only);
        // A history that does not fit the job is not written.
        job.experts = 4;
        QVERIFY_THROWS_EXCEPTION(DataError, save_history_snapshot(snap.toStdString(), job, h, {}));
        QFile f(snap);
        QVERIFY(f.open(QIODevice::ReadWrite));
        QByteArray bytes = f.readAll();
        // The job's metadata is JSON text inside the header's JSON: its quotes are escaped.
        QVERIFY(bytes.contains(R"(\"experts\":8)"));
        bytes.replace(R"(\"experts\":8)", R"(\"experts\":0)");
        f.seek(0);
        f.write(bytes);
        f.close();
        try {
            load_history_snapshot(snap.toStdString());
            QFAIL("a damaged history snapshot loaded");
        } catch (const DataError& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("job experts")), e.what());
        }
        MainWindow w(test_presets::tiny());
        QVERIFY(!w.loadSnapshot(snap));
        QVERIFY(!w.isReadOnly());
        QVERIFY(!w.watchRun(dir_.filePath(QStringLiteral("no-such.jsonl"))));
        QVERIFY(w.lastError().contains(QStringLiteral("nothing to watch")));
        QVERIFY(!w.isReadOnly());
    }

    // `moescope watch PATH`: a missing path is one line and exit 2; with --screenshot the
    // window reads the log to its end and saves a picture of it.
    void command_line_watch() {
        const QString gui = QStringLiteral(MOESCOPE_BUILD_DIR "/app/moescope");
        const ProcessResult missing = run_process(gui, {QStringLiteral("watch"), dir_.filePath("none.jsonl")});
        QVERIFY2(missing.finished && missing.code == 2, qPrintable(missing.describe()));
        QVERIFY2(missing.err.contains(QStringLiteral("nothing to watch")), qPrintable(missing.describe()));
        const ProcessResult no_path = run_process(gui, {QStringLiteral("watch")});
        QVERIFY2(no_path.finished && no_path.code == 2 && no_path.err.contains(QStringLiteral("watch needs one PATH")),
                 qPrintable(no_path.describe()));

        const QString log = dir_.filePath(QStringLiteral("cli.jsonl"));
        append(log, header());
        append(log, steps(0, 40, false));
        const QString png = dir_.filePath(QStringLiteral("watch.png"));
        const ProcessResult shot =
            run_process(gui, {QStringLiteral("watch"), log, QStringLiteral("--screenshot"), png}, kTimeoutMs);
        QVERIFY2(shot.finished && shot.code == 0, qPrintable(shot.describe()));
        QVERIFY2(shot.out.contains(QStringLiteral("at step 39")), qPrintable(shot.describe()));
        QVERIFY(QImage(png).width() > 100);

        // `moescope FILE.moesnap` opens a history-only snapshot read-only (it has no config to train).
        const QString snap = dir_.filePath(QStringLiteral("cli.moesnap"));
        JobInfo job;
        job.source = log.toStdString();
        job.layers = kLayers;
        job.experts = kExperts;
        MetricsHistory h;
        h.reset(kLayers, kExperts);
        save_history_snapshot(snap.toStdString(), job, h, {});
        const QString png2 = dir_.filePath(QStringLiteral("saved.png"));
        const ProcessResult open = run_process(gui, {snap, QStringLiteral("--screenshot"), png2}, kTimeoutMs);
        QVERIFY2(open.finished && open.code == 0 && open.out.contains(QStringLiteral("saved ")),
                 qPrintable(open.describe()));
        QVERIFY(QImage(png2).width() > 100);
    }

private:
    QTemporaryDir dir_;
};

QTEST_MAIN(TestWatch)
#include "test_watch.moc"
