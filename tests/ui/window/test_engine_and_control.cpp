// The window's engine box and a lesson script's control run, offscreen: an
// engine this machine cannot run is refused with its reason and the CPU keeps
// training; changing engine moves the running training without a restart; a
// script entry with "control" forks the control branch at its step (after the
// script stop), with the old knob value in the branch, the new one in the main
// run, and both named in the plots' legends. The training thread runs five nice
// levels below the GUI thread.
#include <qcustomplot.h>
#include <QDir>
#include <QFile>
#include <QSignalSpy>
#include <QStatusBar>
#include <QtTest>

#include "plots/time_plot.hpp"
#include "test_presets.hpp"
#include "train/knobs.hpp"
#include "window/lesson_pacer.hpp"
#include "window/main_window.hpp"

using namespace moescope;

namespace {
constexpr int kTimeoutMs = 60000;

void train_to(MainWindow& w, long steps) {
    w.setPlaying(true);
    QTRY_VERIFY_WITH_TIMEOUT(w.history().last_step() >= steps, kTimeoutMs);
    w.setPlaying(false);
    QTest::qWait(100);  // the last frame arrives
}

// Plays until the run pauses itself at the script stop `step`.
void play_to_stop(MainWindow& w, long step) {
    w.setPlaying(true);
    QTRY_VERIFY2_WITH_TIMEOUT(w.stepsDone() == step && !w.session().isPlaying(),
                              qPrintable(QStringLiteral("at step %1, playing %2, stops %3, branched %4")
                                             .arg(w.stepsDone())
                                             .arg(w.session().isPlaying())
                                             .arg(w.pacer()->stopsAction()->isChecked())
                                             .arg(w.isBranched())),
                              kTimeoutMs);
}

const QString kNoGpu = QStringLiteral("no usable GPU: none in this test");

std::vector<EngineOption> options_without_gpu() {
    std::vector<EngineOption> o = EngineChooser::defaultOptions();
    o.push_back({Backend::Cuda, QStringLiteral("CUDA"), false, kNoGpu});
    return o;
}

QStringList legend_names(TimePlot* plot) {
    QStringList names;
    QCustomPlot* p = plot->customPlot();
    for (int i = 0; i < p->graphCount(); ++i)
        if (p->legend->hasItemWithPlottable(p->graph(i))) names << p->graph(i)->name();
    return names;
}
}  // namespace

class TestEngineAndControl : public QObject {
    Q_OBJECT

private slots:
    void unavailable_engine_is_refused_with_its_reason();
    void changing_engine_keeps_the_run();
    void scripted_control_branch_forks_at_its_step();
    void training_thread_yields_to_the_window();
};

void TestEngineAndControl::unavailable_engine_is_refused_with_its_reason() {
    MainWindow w(test_presets::tiny());
    w.setEngineOptions(options_without_gpu(), Backend::Cuda);  // asked for on the command line
    QVERIFY2(w.statusBar()->currentMessage().contains(kNoGpu), qPrintable(w.statusBar()->currentMessage()));
    EngineChooser* box = w.engineChooser();
    QCOMPARE(box->chosen(), Backend::Cpu);
    QCOMPARE(box->count(), 3);
    QVERIFY(box->itemText(2).contains(QStringLiteral("not available")));
    QCOMPARE(box->itemData(2, Qt::ToolTipRole).toString(), kNoGpu);
    QSignalSpy refused(box, &EngineChooser::refused);
    emit box->activated(2);  // the user picks CUDA
    QCOMPARE(refused.count(), 1);
    QCOMPARE(box->currentIndex(), 1);  // back on CPU
    QVERIFY2(w.lastError().contains(kNoGpu), qPrintable(w.lastError()));
    train_to(w, 5);  // and the CPU trains
    QCOMPARE(w.session().engineName(), QStringLiteral("cpu"));
    QVERIFY2(
        w.backendText().startsWith(QStringLiteral("CPU · ")) && w.backendText().endsWith(w.session().engineReason()),
        qPrintable(w.backendText()));
}

// A thread's nice value from /proc (field 19 of stat, after the parenthesised name).
static int nice_of(const QString& stat_path) {
    QFile f(stat_path);
    if (!f.open(QIODevice::ReadOnly)) return -100;
    const QByteArray text = f.readAll();
    const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
    return fields.size() > 16 ? fields[16].toInt() : -100;  // field 19 is the 17th after the name
}

void TestEngineAndControl::training_thread_yields_to_the_window() {
    MainWindow w(test_presets::tiny());
    train_to(w, 3);
    QString training;
    for (const QString& tid : QDir(QStringLiteral("/proc/self/task")).entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        QFile comm(QStringLiteral("/proc/self/task/%1/comm").arg(tid));
        if (comm.open(QIODevice::ReadOnly) && comm.readAll().startsWith("moescope-train"))
            training = QStringLiteral("/proc/self/task/%1/stat").arg(tid);
    }
    if (training.isEmpty()) QSKIP("no /proc/self/task with thread names here");
    const int gui = nice_of(QStringLiteral("/proc/self/stat"));
    QCOMPARE(nice_of(training), std::min(19, gui + RunSession::kTrainingNiceSteps));
}

void TestEngineAndControl::changing_engine_keeps_the_run() {
    MainWindow w(test_presets::tiny());
    w.setEngineOptions(options_without_gpu(), Backend::Cpu);
    train_to(w, 10);
    const long before = w.history().last_step();
    QSignalSpy engine(&w.session(), &RunSession::engineChanged);
    emit w.engineChooser()->activated(0);  // auto
    QTRY_COMPARE_WITH_TIMEOUT(engine.count(), 1, kTimeoutMs);
    QCOMPARE(w.engineChooser()->chosen(), Backend::Auto);
    QVERIFY(!engine.first().at(1).toString().isEmpty());  // the reason auto took this engine
    QVERIFY2(w.backendText().endsWith(engine.first().at(1).toString()), qPrintable(w.backendText()));
    train_to(w, before + 5);  // the same run goes on from where it was, not a new one
    QVERIFY(w.history().series("loss")->x().front() <= 1);
    QCOMPARE(w.stepsDone(), w.history().last_step());
}

void TestEngineAndControl::scripted_control_branch_forks_at_its_step() {
    Config c = test_presets::tiny();
    c.lesson_steps = 40;
    c.aux_weight = 0;
    c.router_lr = 0.1;
    c.script = {{10, "aux_weight", "0.3", true}, {20, "aux_weight", "0.5"}, {20, "router_lr", "0.05"}};
    MainWindow w(c);
    w.pacer()->holdSpeed(0, true);  // full speed, pausing at the script's stops as a lesson does
    QTRY_VERIFY_WITH_TIMEOUT(w.pacer()->stopsAction()->isChecked(), kTimeoutMs);  // the run is adopted: stops on
    // The script stop at step 10 comes first: nothing is forked before the change is due.
    play_to_stop(w, 10);
    QVERIFY(!w.isBranched());
    // Play on: the control leaves at step 10, before the change it controls for.
    play_to_stop(w, 20);
    QVERIFY(w.isBranched() && w.session().isControlBranch());
    QCOMPARE(w.session().branchStep(), 10L);
    QCOMPARE(w.knobTarget(), int(TrainingWorker::Main));  // the knobs stay on the lesson's run
    QCOMPARE(w.currentConfig().aux_weight, 0.3);
    QCOMPARE(w.branchConfig().aux_weight, 0.0);
    train_to(w, 30);
    QCOMPARE(w.currentConfig().aux_weight, 0.5);
    QCOMPARE(w.branchConfig().aux_weight, 0.0);  // the control keeps the old value
    QCOMPARE(w.branchConfig().router_lr, 0.05);  // and gets the script's other changes
    QCOMPARE(w.branchHistory()->last_step(), w.history().last_step());
    for (const auto& iv : w.branchHistory()->interventions()) QVERIFY(iv.knob != "aux_weight");
    long scripted = 0;
    for (const auto& iv : w.history().interventions()) scripted += iv.knob == "aux_weight" && iv.source == "script";
    QCOMPARE(scripted, 2L);
    const QStringList names = legend_names(w.plots().entropy);
    QVERIFY2(names.contains(QStringLiteral("control: aux_weight 0")) &&
                 names.contains(QStringLiteral("lesson: aux_weight 0.5")),
             qPrintable(names.join(QStringLiteral(" | "))));
}

QTEST_MAIN(TestEngineAndControl)
#include "test_engine_and_control.moc"
