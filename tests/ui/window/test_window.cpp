// Drives the real window offscreen: training is live, knob changes reach the
// trainer and show as markers, the collapse warning's remedy works, pause
// pauses, and closing mid-run joins the training thread.
#include <omp.h>
#include <qcustomplot.h>
#include <QDir>
#include <QMenuBar>
#include <QMessageBox>
#include <QProcess>
#include <QPushButton>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include "io/sweep_file.hpp"
#include "panels/knob_editor.hpp"
#include "panels/knob_panel.hpp"
#include "panels/warnings_panel.hpp"
#include "plots/load_histogram.hpp"
#include "plots/phase_map.hpp"
#include "plots/time_plot.hpp"
#include "test_presets.hpp"
#include "train/knobs.hpp"
#include "train/sweep.hpp"
#include "window/main_window.hpp"
#include "window/sweep_window.hpp"

using namespace moescope;

namespace {
constexpr int kTimeoutMs = 60000;

using test_presets::small;

const Intervention* find_intervention(const MetricsHistory& h, const std::string& knob_name) {
    for (const auto& iv : h.interventions())
        if (iv.knob == knob_name) return &iv;
    return nullptr;
}
}  // namespace

class TestWindow : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void default_run_fills_the_plots();
    void knob_change_reaches_the_trainer_and_marks_the_plots();
    void collapse_warning_remedy_button_sets_the_knob();
    void pause_stops_and_step_advances_by_one();
    void closing_mid_run_joins_the_thread();
    void toolbar_names_the_openmp_threads();
    void legends_sit_outside_the_axis_rect();
    void sweep_window_opens_from_the_run_menu_and_a_cell_runs_here();
    void sweep_cell_asks_before_replacing_an_unsaved_run();
    void sweep_file_opens_the_map_only();
};

void TestWindow::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);  // QSettings go to a test location
    QCoreApplication::setOrganizationName(QStringLiteral("moescope-test"));
}

void TestWindow::default_run_fills_the_plots() {
    MainWindow w(small("default"));
    w.resize(1500, 940);
    w.show();
    w.setPlaying(true);
    QTRY_VERIFY_WITH_TIMEOUT(w.history().last_step() >= 120, kTimeoutMs);
    w.setPlaying(false);
    // Plots hold data once the replot timer has run.
    QTRY_VERIFY(w.plots().entropy->customPlot()->graph(0)->dataCount() > 50);
    QCOMPARE(w.loadHistogram()->barCount(), 8);
    double total = 0;
    for (int e = 0; e < 8; ++e) total += w.loadHistogram()->barValue(e);
    QVERIFY(std::abs(total - 1.0) < 1e-6);  // load shares of one layer sum to 1
    QTest::qWait(300);
    const QString dir = QStringLiteral(MOESCOPE_BUILD_DIR) + "/screenshots";
    QDir().mkpath(dir);
    QVERIFY(w.grab().save(dir + "/window_default.png"));
    qInfo("steps %ld, longest refresh of all plots %.2f ms", w.stepsDone(), w.maxReplotMs());
}

void TestWindow::knob_change_reaches_the_trainer_and_marks_the_plots() {
    MainWindow w(small("default"));
    w.show();
    w.setPlaying(true);
    QTRY_VERIFY_WITH_TIMEOUT(w.history().last_step() >= 10, kTimeoutMs);
    w.knobPanel()->editor(QStringLiteral("aux_weight"))->editValue(QStringLiteral("0.05"));
    QTRY_VERIFY_WITH_TIMEOUT(find_intervention(w.history(), "aux_weight") != nullptr, kTimeoutMs);
    const Intervention* iv = find_intervention(w.history(), "aux_weight");
    QVERIFY(iv->step >= 10);  // applied between two later steps, not retroactively
    QCOMPARE(iv->old_value, std::string("0.01"));
    QCOMPARE(iv->new_value, std::string("0.05"));
    QCOMPARE(iv->source, std::string("user"));
    QCOMPARE(w.currentConfig().aux_weight, 0.05);
    for (TimePlot* p : w.timePlots()) QTRY_COMPARE(p->markerCount(), 1);
    w.setPlaying(false);
}

void TestWindow::collapse_warning_remedy_button_sets_the_knob() {
    MainWindow w(small("collapse"));
    w.resize(1500, 940);
    w.show();
    w.setPlaying(true);
    WarningsPanel* panel = w.warningsPanel();
    int row = -1;
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            for (int r = 0; r < panel->warningCount(); ++r)
                if (panel->remedyButton(r) && panel->remedyButton(r)->text().contains("aux_weight")) row = r;
            return row >= 0;
        }(),
        kTimeoutMs);
    QTest::qWait(300);
    const QString dir = QStringLiteral(MOESCOPE_BUILD_DIR) + "/screenshots";
    QDir().mkpath(dir);
    QVERIFY(w.grab().save(dir + "/window_collapse.png"));
    panel->remedyButton(row)->click();
    QTRY_VERIFY_WITH_TIMEOUT(find_intervention(w.history(), "aux_weight") != nullptr, kTimeoutMs);
    QCOMPARE(find_intervention(w.history(), "aux_weight")->source, std::string("remedy"));
    QCOMPARE(w.currentConfig().aux_weight, 0.1);
    w.setPlaying(false);
}

void TestWindow::pause_stops_and_step_advances_by_one() {
    MainWindow w(small("default"));
    w.show();
    w.setPlaying(true);
    QTRY_VERIFY_WITH_TIMEOUT(w.stepsDone() >= 5, kTimeoutMs);
    w.setPlaying(false);
    QTest::qWait(300);  // the last frame of the running slice arrives
    const long paused_at = w.stepsDone();
    QTest::qWait(500);
    QCOMPARE(w.stepsDone(), paused_at);
    w.stepOnce();
    QTRY_COMPARE_WITH_TIMEOUT(w.stepsDone(), paused_at + 1, kTimeoutMs);
    QTest::qWait(200);
    QCOMPARE(w.stepsDone(), paused_at + 1);
}

void TestWindow::closing_mid_run_joins_the_thread() {
    auto* w = new MainWindow(small("default"));
    w->show();
    w->setPlaying(true);
    QTRY_VERIFY_WITH_TIMEOUT(w->stepsDone() >= 5, kTimeoutMs);
    QVERIFY(w->isTrainingThreadRunning());
    QVERIFY(w->close());
    QVERIFY(!w->isTrainingThreadRunning());
    delete w;
}

void TestWindow::toolbar_names_the_openmp_threads() {
    // The engine trains with OpenMP's team size, which OMP_NUM_THREADS sets (ctest
    // sets 1), not with every core of the machine.
    MainWindow w(small("default"));
    const int threads = omp_get_max_threads();
    QTRY_VERIFY(!w.backendText().isEmpty());  // once the run has its engine
    // The engine, its threads, and why this engine: "CPU · 1 thread · using the CPU: ..."
    QVERIFY2(w.backendText().startsWith(
                 (threads == 1 ? QStringLiteral("CPU · 1 thread") : QStringLiteral("CPU · %1 threads").arg(threads)) +
                 QStringLiteral(" · using the CPU")),
             qPrintable(w.backendText()));
    if (qgetenv("OMP_NUM_THREADS") == "3") return;  // the child run below
    // Once more in a child with a count no machine's core count is likely to match.
    QProcess child;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("OMP_NUM_THREADS"), QStringLiteral("3"));
    child.setProcessEnvironment(env);
    child.setProcessChannelMode(QProcess::MergedChannels);
    child.start(QCoreApplication::applicationFilePath(), {QStringLiteral("toolbar_names_the_openmp_threads")});
    QVERIFY(child.waitForFinished(kTimeoutMs));
    QVERIFY2(child.exitCode() == 0, child.readAll().constData());
}

// Every plot's legend sits outside its axis rect, at the default size and in
// classroom mode, so no legend covers a curve or a bar.
void TestWindow::legends_sit_outside_the_axis_rect() {
    MainWindow w(small("default"));
    w.resize(1500, 940);
    w.show();
    w.setPlaying(true);
    QTRY_VERIFY_WITH_TIMEOUT(w.history().last_step() >= 20, kTimeoutMs);
    w.setPlaying(false);
    for (bool classroom : {false, true}) {
        w.setClassroom(classroom);
        if (classroom) w.showNormal(), w.resize(1500, 940);  // the cramped case: classroom fonts at 1500 × 940
        QTest::qWait(300);
        const Plots& p = w.plots();
        const std::pair<const char*, QCustomPlot*> with_legends[] = {{"load", p.load->customPlot()},
                                                                     {"entropy", p.entropy->customPlot()},
                                                                     {"loss", p.loss->customPlot()},
                                                                     {"balance", p.balance->customPlot()}};
        for (const auto& [name, plot] : with_legends) {
            plot->replot(QCustomPlot::rpImmediateRefresh);
            QVERIFY2(plot->legend->visible() && plot->legend->itemCount() > 0, name);
            const QRect data = plot->axisRect()->rect(), legend = plot->legend->outerRect();
            const QString where = QStringLiteral("%1, classroom %2: legend (%3) over data (%4)")
                                      .arg(name)
                                      .arg(classroom)
                                      .arg(QDebug::toString(legend), QDebug::toString(data));
            QVERIFY2(!data.intersects(legend), qPrintable(where));
            QVERIFY2(data.height() > 60, qPrintable(where));  // the legend leaves the plot room for data
        }
    }
    w.setClassroom(false);
}

// Run → Phase diagram opens the sweep window on the current config; a clicked
// cell's config (openRun) becomes the main window's run.
void TestWindow::sweep_window_opens_from_the_run_menu_and_a_cell_runs_here() {
    MainWindow w(small("default"));
    w.show();
    bool in_menu = false;
    for (QAction* a : w.menuBar()->actions())
        if (a->menu())
            for (QAction* item : a->menu()->actions())
                in_menu |= item->text().contains(QStringLiteral("Phase diagram"));
    QVERIFY(in_menu);
    SweepWindow* sweeps = w.openSweepWindow();
    QVERIFY(sweeps && sweeps->isVisible());
    QCOMPARE(w.openSweepWindow(), sweeps);  // one window, raised again
    moescope::Config cell = small("collapse");
    cell.aux_weight = 0.3;
    emit sweeps->openRun(cell);
    QTRY_COMPARE_WITH_TIMEOUT(w.session().config().aux_weight, 0.3, kTimeoutMs);
    QCOMPARE(w.session().config().name, cell.name);
}

// A clicked cell used to replace a run with unsaved steps without a word: it now
// asks as Open does (Cancel keeps the run), and the opened run's window shows.
void TestWindow::sweep_cell_asks_before_replacing_an_unsaved_run() {
    MainWindow w(small("default"));
    w.show();
    w.setPlaying(true);
    QTRY_VERIFY_WITH_TIMEOUT(w.stepsDone() >= 5, kTimeoutMs);
    w.setPlaying(false);
    QTRY_VERIFY_WITH_TIMEOUT(w.hasUnsavedSteps(), kTimeoutMs);
    QStringList asked;
    int answer = QMessageBox::Cancel;
    w.setDialogAnswers({[&](const QString& q) {
                            asked << q;
                            return answer;
                        },
                        {}});
    SweepWindow* sweeps = w.openSweepWindow();
    moescope::Config cell = small("collapse");
    cell.aux_weight = 0.3;
    emit sweeps->openRun(cell);
    QCOMPARE(asked.size(), 1);
    QVERIFY2(asked[0].contains(QStringLiteral("open the sweep's run")), qPrintable(asked[0]));
    QTest::qWait(200);
    QCOMPARE(w.session().config().name, std::string("default"));  // cancelled: the run stays
    answer = QMessageBox::Discard;
    w.hide();
    emit sweeps->openRun(cell);
    QCOMPARE(asked.size(), 2);
    QTRY_COMPARE_WITH_TIMEOUT(w.session().config().aux_weight, 0.3, kTimeoutMs);
    QVERIFY(w.isVisible());
}

// `moescope --sweep FILE` used to train the last preset behind the map: the map
// opens, the main window stays hidden and untrained until a cell is clicked.
void TestWindow::sweep_file_opens_the_map_only() {
    QTemporaryDir dir;
    moescope::SweepResult r;
    r.spec = make_sweep_spec(small("default"), parse_sweep_axis("aux_weight=1e-3:1e-1:2", true),
                             parse_sweep_axis("router_lr=1e-3:1e-1:2", true), 20, 1);
    for (int iy = 0; iy < 2; ++iy)
        for (int ix = 0; ix < 2; ++ix) {
            moescope::SweepCell c{ix, iy, r.spec.x.value(ix), r.spec.y.value(iy), {}};
            moescope::SweepRun run{r.spec.base.seed, {}};
            run.values.fill(0.9);
            c.runs.push_back(run);
            r.cells.push_back(c);
        }
    const QString path = dir.filePath(QStringLiteral("s.moesweep"));
    save_sweep(r, path.toStdString());

    MainWindow w(small("default"));  // as gui_main makes it with --sweep: not shown, not playing
    QVERIFY(!w.openSweepFile(dir.filePath(QStringLiteral("none.moesweep"))));
    QVERIFY(!w.lastError().isEmpty());
    SweepWindow* sweeps = w.openSweepFile(path);
    QVERIFY2(sweeps, qPrintable(w.lastError()));
    QVERIFY(sweeps->isVisible());
    QCOMPARE(sweeps->map()->filledCells(), 4);
    QTest::qWait(300);
    QVERIFY(!w.isVisible());
    QCOMPARE(w.stepsDone(), 0L);
    emit sweeps->openRun(sweep_run_config(r.spec, 1, 0, 0));
    QTRY_COMPARE_WITH_TIMEOUT(w.session().config().aux_weight, r.spec.x.value(1), kTimeoutMs);
    QVERIFY(w.isVisible());
}

QTEST_MAIN(TestWindow)
#include "test_window.moc"
