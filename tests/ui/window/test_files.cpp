// The window's file side, offscreen: save and load restore the run (history,
// markers, warnings, knobs) and training continues exactly; a bad file leaves
// the current run untouched; a saved run overlays as a ghost; metrics and
// report export; branch and compare; autosave; drag and drop; `moescope FILE`.
#include <qcustomplot.h>
#include <QDir>
#include <QFile>
#include <QMimeData>
#include <QProcess>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include "io/snapshot.hpp"
#include "panels/warnings_panel.hpp"
#include "plots/load_histogram.hpp"
#include "plots/time_plot.hpp"
#include "test_presets.hpp"
#include "train/knobs.hpp"
#include "train/trainer.hpp"
#include "window/main_window.hpp"

using namespace moescope;

namespace {
constexpr int kTimeoutMs = 60000;

using test_presets::small;

// Trains until at least `steps` steps are in the window's history, then pauses.
void train_to(MainWindow& w, long steps) {
    w.setPlaying(true);
    QTRY_VERIFY_WITH_TIMEOUT(w.history().last_step() >= steps, kTimeoutMs);
    w.setPlaying(false);
    QTest::qWait(100);  // the last frame arrives
}

// Every series but the wall-clock one (tokens_per_s) holds the same points.
// Series never given a finite value (test_acc before the first evaluation) are not saved.
bool same_series(const MetricsHistory& a, const MetricsHistory& b, double from_step = -1) {
    auto count = [](const MetricsHistory& h) {
        return std::count_if(h.all_series().begin(), h.all_series().end(),
                             [](const auto& kv) { return kv.second.size() > 0; });
    };
    if (count(a) != count(b)) return false;
    for (const auto& [key, s] : a.all_series()) {
        if (std::get<0>(key) == "tokens_per_s" || s.size() == 0) continue;
        const auto it = b.all_series().find(key);
        if (it == b.all_series().end()) return false;
        std::vector<double> ax, ay, bx, by;
        for (size_t i = 0; i < s.size(); ++i)
            if (s.x()[i] >= from_step) ax.push_back(s.x()[i]), ay.push_back(s.y()[i]);
        for (size_t i = 0; i < it->second.size(); ++i)
            if (it->second.x()[i] >= from_step) bx.push_back(it->second.x()[i]), by.push_back(it->second.y()[i]);
        if (ax != bx || ay != by) {
            size_t i = 0;
            while (i < std::min(ax.size(), bx.size()) && ax[i] == bx[i] && ay[i] == by[i]) ++i;
            qWarning("series %s/%d/%d differs: %zu vs %zu points, first at %zu (step %g: %.17g vs %.17g)",
                     std::get<0>(key).c_str(), std::get<1>(key), std::get<2>(key), ax.size(), bx.size(), i,
                     i < ax.size() ? ax[i] : -1.0, i < ay.size() ? ay[i] : 0.0, i < by.size() ? by[i] : 0.0);
            return false;
        }
    }
    return true;
}

QStringList read_lines(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text)) return {};
    return QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
}
}  // namespace

class TestFiles : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void save_and_load_restore_the_run();
    void loaded_run_continues_exactly();
    void bad_file_leaves_the_run_untouched();
    void saved_run_overlays_as_a_ghost();
    void metrics_export_csv_and_jsonl();
    void report_folder_holds_every_plot();
    void branch_runs_in_lockstep_and_compares();
    void autosave_writes_every_n_steps();
    void dropping_a_snapshot_opens_it();
    void command_line_opens_a_snapshot();

private:
    QTemporaryDir tmp_;
    QString saved_;  // a snapshot written by the first test, used by the later ones
    long saved_step_ = 0;
};

void TestFiles::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("moescope-test"));
    QVERIFY(tmp_.isValid());
}

void TestFiles::save_and_load_restore_the_run() {
    saved_ = tmp_.filePath(QStringLiteral("collapse.moesnap"));
    MainWindow a(small("collapse"));
    a.resize(1400, 900);
    a.show();
    train_to(a, 20);
    a.applyKnob(QStringLiteral("router_lr"), QStringLiteral("0.05"), QStringLiteral("user"));
    train_to(a, 60);  // the collapse warning is up by now (hysteresis 20)
    QSignalSpy saved(&a, &MainWindow::snapshotSaved);
    QVERIFY(a.saveSnapshot(saved_));
    QTRY_COMPARE_WITH_TIMEOUT(saved.count(), 1, kTimeoutMs);
    QVERIFY2(saved.at(0).at(1).toBool(), qPrintable(saved.at(0).at(2).toString()));
    QCOMPARE(a.runFile(), saved_);
    QVERIFY(a.windowTitle().contains(QStringLiteral("collapse.moesnap")));
    QCOMPARE(a.recentFiles().value(0), QFileInfo(saved_).absoluteFilePath());
    saved_step_ = a.history().last_step();

    MainWindow b(small("default"));
    b.show();
    train_to(b, 5);
    QSignalSpy loaded(&b, &MainWindow::snapshotLoaded);
    QVERIFY2(b.loadSnapshot(saved_), qPrintable(b.lastError()));
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kTimeoutMs);
    // Everything the first window showed is back: every series point, markers, knobs, warnings, latest step.
    QVERIFY(same_series(a.history(), b.history()));
    QCOMPARE(b.history().interventions().size(), a.history().interventions().size());
    QCOMPARE(b.stepsDone(), saved_step_);
    QCOMPARE(b.currentConfig().router_lr, 0.05);
    QCOMPARE(b.currentConfig().name, std::string("collapse"));
    QCOMPARE(b.history().latest().step, saved_step_);
    QCOMPARE(b.history().latest().layers.size(), a.history().latest().layers.size());
    QCOMPARE(b.history().latest().layers[0].class_expert, a.history().latest().layers[0].class_expert);
    QTRY_VERIFY(b.plots().entropy->markerCount() == int(a.history().interventions().size()));
    QTRY_VERIFY(b.plots().entropy->customPlot()->graph(0)->dataCount() > 20);
    double total = 0;
    for (int e = 0; e < 8; ++e) total += b.loadHistogram()->barValue(e);
    QVERIFY(std::abs(total - 1.0) < 1e-6);
    QTRY_VERIFY(b.warningsPanel()->warningCount() > 0);  // the collapse warning came back with the run
    // Opened paused; Play continues from the saved step.
    QCOMPARE(b.stepsDone(), saved_step_);
    train_to(b, saved_step_ + 10);
    QVERIFY(b.history().series("loss")->x().front() == 1);  // one history, not two runs glued
}

void TestFiles::loaded_run_continues_exactly() {
    QVERIFY(!saved_.isEmpty());
    MainWindow w(small("default"));
    w.show();
    QSignalSpy loaded(&w, &MainWindow::snapshotLoaded);
    QVERIFY(w.loadSnapshot(saved_));
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kTimeoutMs);
    for (int i = 0; i < 3; ++i) {
        w.stepOnce();
        QTRY_COMPARE_WITH_TIMEOUT(w.history().last_step(), saved_step_ + i + 1, kTimeoutMs);
    }
    // The same three steps headless from the same file: bit-identical metrics.
    auto t = Trainer::from_state(load_snapshot(saved_.toStdString()).state);
    const DecimatedSeries* loss = w.history().series("loss");
    for (int i = 0; i < 3; ++i) {
        const StepMetrics& m = t->step();
        QCOMPARE(loss->x()[loss->size() - 3 + i], double(m.step));
        QCOMPARE(loss->y()[loss->size() - 3 + i], m.loss);
    }
}

void TestFiles::bad_file_leaves_the_run_untouched() {
    const QString bad = tmp_.filePath(QStringLiteral("bad.moesnap"));
    {
        QFile f(bad);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("this is not a snapshot at all, just some text that is long enough");
    }
    MainWindow w(small("default"));
    w.show();
    train_to(w, 10);
    const long before = w.history().last_step();
    QSignalSpy loaded(&w, &MainWindow::snapshotLoaded);
    QVERIFY(!w.loadSnapshot(bad));
    QVERIFY2(w.lastError().contains(QStringLiteral("bad.moesnap")), qPrintable(w.lastError()));
    QVERIFY(!w.loadSnapshot(tmp_.filePath(QStringLiteral("missing.moesnap"))));
    QVERIFY(!w.compareWith(bad));
    QCOMPARE(w.history().last_step(), before);
    train_to(w, before + 5);  // the run goes on
    QCOMPARE(loaded.count(), 0);
    QCOMPARE(w.currentConfig().name, std::string("default"));
}

void TestFiles::saved_run_overlays_as_a_ghost() {
    QVERIFY(!saved_.isEmpty());
    MainWindow w(small("rescue"));
    w.resize(1400, 900);
    w.show();
    train_to(w, 40);
    QVERIFY2(w.compareWith(saved_), qPrintable(w.lastError()));
    QVERIFY(w.ghostHistory() != nullptr);
    for (TimePlot* p : w.timePlots()) QCOMPARE(p->overlayCount(), 1);
    QTRY_VERIFY(w.plots().entropy->overlayPointCount(0, 0) > 20);
    // Named in the legend.
    QCustomPlot* plot = w.plots().entropy->customPlot();
    bool named = false;
    for (int i = 0; i < plot->graphCount(); ++i)
        named = named || plot->graph(i)->name().contains(QStringLiteral("collapse"));
    QVERIFY(named);
    QTest::qWait(300);
    const QString dir = QStringLiteral(MOESCOPE_BUILD_DIR) + "/screenshots";
    QDir().mkpath(dir);
    QVERIFY(w.grab().save(dir + "/window_compare.png"));
    w.clearComparison();
    for (TimePlot* p : w.timePlots()) QCOMPARE(p->overlayCount(), 0);
}

void TestFiles::metrics_export_csv_and_jsonl() {
    MainWindow w(small("default"));
    w.show();
    train_to(w, 30);
    const long steps = long(w.history().series("loss")->size());
    const QString csv = tmp_.filePath(QStringLiteral("m.csv")), jsonl = tmp_.filePath(QStringLiteral("m.jsonl"));
    QVERIFY2(w.exportMetrics(csv), qPrintable(w.lastError()));
    QVERIFY2(w.exportMetrics(jsonl), qPrintable(w.lastError()));
    const QStringList rows = read_lines(csv);
    QCOMPARE(rows.size(), 1 + steps * w.history().layers());
    const QStringList header = rows[0].split(',');
    QCOMPARE(header.value(0), QStringLiteral("step"));
    QCOMPARE(header.value(1), QStringLiteral("layer"));
    QVERIFY(header.contains(QStringLiteral("load_entropy")));
    QVERIFY(header.contains(QStringLiteral("load_7")));
    // Row of step 1, layer 1: its loss and load entropy are the history's, to 9 digits.
    const QStringList row = rows[2].split(',');
    QCOMPARE(row.value(0), QStringLiteral("1"));
    QCOMPARE(row.value(1), QStringLiteral("1"));
    QVERIFY(std::abs(row.value(header.indexOf("loss")).toDouble() - w.history().series("loss")->y()[0]) < 1e-6);
    QVERIFY(std::abs(row.value(header.indexOf("load_entropy")).toDouble() -
                     w.history().series("load_entropy", 1)->y()[0]) < 1e-6);
    QCOMPARE(read_lines(jsonl).size(), steps);
    QVERIFY(read_lines(jsonl).value(0).startsWith(QStringLiteral("{")));
    // A wrong extension is one clear error.
    QVERIFY(!w.exportMetrics(tmp_.filePath(QStringLiteral("m.txt"))));
    QVERIFY(w.lastError().contains(QStringLiteral(".csv or .jsonl")));
}

void TestFiles::report_folder_holds_every_plot() {
    MainWindow w(small("default"));
    w.resize(1400, 900);
    w.show();
    train_to(w, 30);
    QTest::qWait(200);
    const QString dir = tmp_.filePath(QStringLiteral("report"));
    QVERIFY2(w.exportReport(dir), qPrintable(w.lastError()));
    for (const char* name : {"expert_load", "load_heatmap", "entropy", "loss_accuracy", "balance", "specialisation"})
        for (const char* ext : {".png", ".pdf"}) {
            const QFileInfo f(dir + "/" + name + ext);
            QVERIFY2(f.exists() && f.size() > 1000, qPrintable(f.filePath()));
        }
    QVERIFY(QFileInfo::exists(dir + "/metrics.csv"));
    QVERIFY(read_lines(dir + "/report.md").join('\n').contains(QStringLiteral("![entropy](entropy.png)")));
    QCOMPARE(load_config_file((dir + "/config.json").toStdString()).name, std::string("default"));
}

void TestFiles::branch_runs_in_lockstep_and_compares() {
    MainWindow w(small("collapse"));
    w.resize(1400, 900);
    w.show();
    train_to(w, 20);
    QSignalSpy changed(&w, &MainWindow::branchChanged);
    w.branchRun();
    QTRY_COMPARE_WITH_TIMEOUT(changed.count(), 1, kTimeoutMs);
    QVERIFY(w.isBranched());
    QCOMPARE(w.knobTarget(), int(TrainingWorker::Branch));
    // The per-expert plots follow the knobs' target, and say so.
    QVERIFY2(w.loadHistogram()->titleText().endsWith(QStringLiteral("branch")),
             qPrintable(w.loadHistogram()->titleText()));
    const long fork = w.history().last_step();
    // No change yet: the branch is the same run, bit for bit.
    train_to(w, fork + 15);
    QVERIFY(w.branchHistory()->last_step() == w.history().last_step());
    QVERIFY(same_series(w.history(), *w.branchHistory()));
    // Rescue the branch only: its curves leave the main run's.
    w.applyKnob(QStringLiteral("aux_weight"), QStringLiteral("0.1"), QStringLiteral("user"));
    train_to(w, fork + 120);
    QCOMPARE(w.branchConfig().aux_weight, 0.1);
    QCOMPARE(w.currentConfig().aux_weight, 0.0);
    QCOMPARE(w.branchHistory()->interventions().back().knob, std::string("aux_weight"));
    for (const auto& iv : w.history().interventions()) QVERIFY(iv.knob != "aux_weight");
    const double main_entropy = w.history().latest().layers[0].load_entropy;
    const double branch_entropy = w.branchHistory()->latest().layers[0].load_entropy;
    QVERIFY2(branch_entropy > main_entropy,
             qPrintable(QStringLiteral("%1 vs %2").arg(branch_entropy).arg(main_entropy)));
    QCOMPARE(w.plots().entropy->overlayCount(), 1);
    QCustomPlot* plot = w.plots().entropy->customPlot();
    bool named = false;
    for (int i = 0; i < plot->graphCount(); ++i)
        named = named || plot->graph(i)->name().contains(QStringLiteral("aux_weight"));
    QVERIFY(named);
    QTest::qWait(300);
    QVERIFY(w.grab().save(QStringLiteral(MOESCOPE_BUILD_DIR) + "/screenshots/window_branch.png"));
    // Saving while branched keeps both runs (it used to write the knob target's run only,
    // silently dropping the other): the named file holds the main run, the branch goes beside it.
    const QString both = tmp_.filePath(QStringLiteral("both.moesnap"));
    QSignalSpy saved(&w, &MainWindow::snapshotSaved);
    QVERIFY(w.saveSnapshot(both));
    QTRY_COMPARE_WITH_TIMEOUT(saved.count(), 2, kTimeoutMs);
    QCOMPARE(saved.at(0).at(0).toString(), both);
    QCOMPARE(saved.at(1).at(0).toString(), tmp_.filePath(QStringLiteral("both-branch.moesnap")));
    QVERIFY(saved.at(1).at(1).toBool());
    QCOMPARE(w.runFile(), both);
    QCOMPARE(load_snapshot(both.toStdString()).state.config.aux_weight, 0.0);
    QCOMPARE(load_snapshot(saved.at(1).at(0).toString().toStdString()).state.config.aux_weight, 0.1);
    QVERIFY2(w.statusText().contains(QStringLiteral("branch")), qPrintable(w.statusText()));
    // Keep the branch: it becomes the main run, history and knobs included.
    w.endBranch(true);
    QTRY_COMPARE_WITH_TIMEOUT(changed.count(), 2, kTimeoutMs);
    QVERIFY(!w.isBranched());
    QCOMPARE(w.loadHistogram()->titleText(), QStringLiteral("Load per expert"));
    QCOMPARE(w.currentConfig().aux_weight, 0.1);
    QCOMPARE(w.history().interventions().back().knob, std::string("aux_weight"));
    const long at = w.history().last_step();
    train_to(w, at + 5);
}

void TestFiles::autosave_writes_every_n_steps() {
    MainWindow w(small("default"));
    w.show();
    QSignalSpy saved(&w, &MainWindow::snapshotSaved);
    QVERIFY(w.saveSnapshot(tmp_.filePath(QStringLiteral("auto.moesnap"))));  // autosaves go next to it
    QTRY_COMPARE_WITH_TIMEOUT(saved.count(), 1, kTimeoutMs);
    w.applyKnob(QStringLiteral("autosave_every"), QStringLiteral("25"), QStringLiteral("user"));
    train_to(w, 60);
    QCOMPARE(w.autosavePath(), tmp_.filePath(QStringLiteral("auto.autosave.moesnap")));
    QTRY_VERIFY_WITH_TIMEOUT(saved.count() >= 3, kTimeoutMs);
    const Snapshot snap = load_snapshot(w.autosavePath().toStdString());
    QVERIFY2(snap.state.steps >= 50 && snap.state.steps % 25 == 0, qPrintable(QString::number(snap.state.steps)));
    // Housekeeping is not a training intervention: no marker for it.
    for (const auto& iv : w.history().interventions()) QVERIFY(iv.knob != "autosave_every");
}

void TestFiles::dropping_a_snapshot_opens_it() {
    QVERIFY(!saved_.isEmpty());
    MainWindow w(small("default"));
    w.show();
    QSignalSpy loaded(&w, &MainWindow::snapshotLoaded);
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(saved_)});
    QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &drop);
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kTimeoutMs);
    QCOMPARE(w.currentConfig().name, std::string("collapse"));
}

void TestFiles::command_line_opens_a_snapshot() {
    QVERIFY(!saved_.isEmpty());
    const QString exe = QStringLiteral(MOESCOPE_BUILD_DIR) + "/app/moescope";
    if (!QFileInfo::exists(exe)) QSKIP("the moescope executable is not built");
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    const QString shot = tmp_.filePath(QStringLiteral("opened.png"));
    p.start(exe, {saved_, QStringLiteral("--screenshot"), shot, QStringLiteral("--steps"), QStringLiteral("0")});
    QVERIFY(p.waitForFinished(kTimeoutMs));
    QVERIFY2(p.exitCode() == 0, p.readAll().constData());
    QVERIFY(QFileInfo::exists(shot));
    // A bad file: one line naming it, exit 2, no window.
    p.start(exe, {tmp_.filePath(QStringLiteral("bad.moesnap"))});
    QVERIFY(p.waitForFinished(kTimeoutMs));
    const QString out = QString::fromUtf8(p.readAll());
    QCOMPARE(p.exitCode(), 2);
    QVERIFY2(out.contains(QStringLiteral("bad.moesnap")) && out.count(QStringLiteral("moescope:")) == 1,
             qPrintable(out));
}

QTEST_MAIN(TestFiles)
#include "test_files.moc"
