// Interface tests of the phase diagram: hand-made cells fill the map one by
// one with their measure's median over seeds; collapsed cells get a marker,
// cells whose seeds disagree another; the collapse
// boundary is traced between cells on either side of the threshold; the
// current run's star sits on the map only when its values do; the tooltip
// carries the seed spread; the colour bar marks the collapse threshold; a click opens that cell's run; and the sweep
// window runs a tiny sweep in the background, fills the map and can be cancelled.
#include <qcustomplot.h>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "io/sweep_file.hpp"
#include "plots/phase_map.hpp"
#include "test_presets.hpp"
#include "window/sweep_window.hpp"

using namespace moescope;

namespace {

// 3 × 3, aux_weight × router_lr on log axes; collapse threshold 0.75.
SweepSpec handSpec() {
    Config c = test_presets::tiny();
    return make_sweep_spec(c, parse_sweep_axis("aux_weight=1e-3:1e-1:3", true),
                           parse_sweep_axis("router_lr=1e-3:1e-1:3", true), 20, 2);
}

// Load entropy low where aux is small and router LR large (ix < iy), high elsewhere.
SweepCell handCell(const SweepSpec& s, int ix, int iy) {
    SweepCell c{ix, iy, s.x.value(ix), s.y.value(iy), {}};
    for (int k = 0; k < s.seeds; ++k) {
        SweepRun r{s.base.seed + k, {}};
        r.values[kLoadEntropy] = (ix < iy ? 0.4 : 0.95) + 0.02 * k;
        r.values[kMaxUtil] = ix < iy ? 4.0 : 1.2;
        r.values[kTestAcc] = 0.9;
        c.runs.push_back(r);
    }
    return c;
}

}  // namespace

class TestPhaseMap : public QObject {
    Q_OBJECT

private slots:
    void cells_fill_markers_and_boundary();
    void current_run_star();
    void colour_bar_marks_the_threshold();
    void tooltip_and_click_open_the_cell();
    void sweep_window_runs_saves_and_cancels();
};

void TestPhaseMap::cells_fill_markers_and_boundary() {
    PhaseMap map;
    const SweepSpec s = handSpec();
    map.setSpec(s);
    QCOMPARE(map.filledCells(), 0);
    QVERIFY(std::isnan(map.cellValue(0, 0)));
    map.addCell(handCell(s, 0, 0));
    QCOMPARE(map.filledCells(), 1);
    QCOMPARE(map.cellValue(0, 0), 0.96);  // median of seeds 0.95, 0.97
    QCOMPARE(map.contourSegments(), 0);   // one side only
    for (int iy = 0; iy < 3; ++iy)
        for (int ix = 0; ix < 3; ++ix)
            if (ix || iy) map.addCell(handCell(s, ix, iy));
    QCOMPARE(map.filledCells(), 9);
    QCOMPARE(map.collapsedMarkers(), 3);  // (0,1), (0,2), (1,2)
    // The staircase between them: 3 vertical edges (ix|ix+1 in rows 1, 2) ... counted by hand:
    // row 1: (0,1)|(1,1); row 2: (1,2)|(2,2); columns: (0,0)/(0,1), (1,1)/(1,2).
    QCOMPARE(map.contourSegments(), 4);
    QCOMPARE(map.thresholdSegments(), 0);  // load entropy has no second threshold
    map.setMeasure(kMaxUtil);
    QCOMPARE(map.cellValue(0, 2), 4.0);
    QCOMPARE(map.thresholdSegments(), 4);  // max util 3.0 splits the same cells
    QCOMPARE(map.contourSegments(), 4);    // the collapse boundary stays
    map.setMeasure(kLoadEntropy);
    QCOMPARE(map.disputedMarkers(), 0);
    // One seed of two halted: the seeds disagree about collapse, so the cell is
    // marked as disputed, not as collapsed.
    SweepCell halted = handCell(s, 2, 0);
    halted.runs[1].values[kHalted] = 1;
    map.addCell(halted);
    QCOMPARE(map.filledCells(), 9);
    QCOMPARE(map.collapsedMarkers(), 3);
    QCOMPARE(map.disputedMarkers(), 1);
    // A cell whose seeds fall on both sides of the threshold: coloured by its
    // median, marked, and no boundary drawn along its edges (2 of the 4 go).
    SweepCell split = handCell(s, 1, 1);
    split.runs[0].values[kLoadEntropy] = 0.4;
    split.runs[1].values[kLoadEntropy] = 0.9;
    map.addCell(split);
    QCOMPARE(map.cellValue(1, 1), 0.65);
    QCOMPARE(map.disputedMarkers(), 2);
    QCOMPARE(map.contourSegments(), 2);
    QVERIFY(map.cellToolTip(1, 1).contains("disagree"));
}

// The colour bar carries a line at the threshold where the colour flips, named to its
// left between the map and the bar (issue 23): "collapse" at load entropy 0.75.
void TestPhaseMap::colour_bar_marks_the_threshold() {
    PhaseMap map;
    map.resize(640, 420);
    map.show();
    QVERIFY(QTest::qWaitForWindowExposed(&map));
    const SweepSpec s = handSpec();
    map.setSpec(s);
    for (int iy = 0; iy < 3; ++iy)
        for (int ix = 0; ix < 3; ++ix) map.addCell(handCell(s, ix, iy));
    QCustomPlot* plot = map.customPlot();
    QCPItemLine* mark = map.colourBarMark();
    QCPItemText* label = map.colourBarMarkLabel();
    QVERIFY(mark && label);
    QVERIFY(mark->visible() && label->visible());
    QCOMPARE(s.base.collapse_entropy, 0.75);
    QCOMPARE(mark->start->coords().y(), s.base.collapse_entropy);
    QCOMPARE(mark->end->coords().y(), s.base.collapse_entropy);
    QVERIFY(label->text().startsWith(QStringLiteral("collapse")));
    // On the colour bar's own axis, not the map's.
    QCPAxis* bar_axis = mark->start->valueAxis();
    QVERIFY(bar_axis && bar_axis != plot->yAxis && bar_axis->axisRect() != plot->axisRect());
    QCOMPARE(bar_axis->range().lower, 0.0);
    QCOMPARE(bar_axis->range().upper, 1.0);
    plot->replot(QCustomPlot::rpImmediateRefresh);
    const QRect bar = bar_axis->axisRect()->rect();
    QCOMPARE(mark->start->pixelPosition().y(), bar_axis->coordToPixel(0.75));
    QVERIFY2(mark->start->pixelPosition().x() < bar.left() && mark->end->pixelPosition().x() > bar.right(),
             qPrintable(QStringLiteral("mark %1..%2, bar %3..%4")
                            .arg(mark->start->pixelPosition().x())
                            .arg(mark->end->pixelPosition().x())
                            .arg(bar.left())
                            .arg(bar.right())));
    // The name sits between the map and the bar, over neither.
    QVERIFY2(label->right->pixelPosition().x() <= bar.left() &&
                 label->left->pixelPosition().x() >= plot->axisRect()->rect().right(),
             qPrintable(QStringLiteral("label %1..%2, map ends %3, bar starts %4")
                            .arg(label->left->pixelPosition().x())
                            .arg(label->right->pixelPosition().x())
                            .arg(plot->axisRect()->rect().right())
                            .arg(bar.left())));
    map.setMeasure(kMaxUtil);  // collapse above 3× the fair share
    QCOMPARE(mark->start->coords().y(), s.base.collapse_max_util);
    QVERIFY(label->text().startsWith(QStringLiteral("collapse")));
    map.setMeasure(kTestAcc);  // no threshold: no mark
    QVERIFY(!mark->visible() && !label->visible());
}

void TestPhaseMap::current_run_star() {
    PhaseMap map;
    map.setSpec(handSpec());
    map.setCurrent(0.01, 0.01);
    QVERIFY(map.currentShown());
    map.setCurrent(0.0, 0.01);  // aux 0 is off a log axis
    QVERIFY(!map.currentShown());
    map.setCurrent(0.5, 0.01);  // beyond the last cell
    QVERIFY(!map.currentShown());
}

void TestPhaseMap::tooltip_and_click_open_the_cell() {
    PhaseMap map;
    const SweepSpec s = handSpec();
    map.setSpec(s);
    map.addCell(handCell(s, 1, 2));
    map.resize(600, 500);
    map.show();
    QVERIFY(QTest::qWaitForWindowExposed(&map));
    map.customPlot()->replot();
    const QString tip = map.cellToolTip(1, 2);
    QVERIFY2(tip.contains("aux_weight = 0.01, router_lr = 0.1"), qPrintable(tip));
    QVERIFY2(tip.contains("collapsed"), qPrintable(tip));
    QVERIFY2(tip.contains("load entropy: 0.41  (median; seeds 0.4 … 0.42)"), qPrintable(tip));
    QVERIFY(map.cellToolTip(0, 0).isEmpty());

    QSignalSpy spy(&map, &PhaseMap::openRun);
    QTest::mouseClick(map.customPlot(), Qt::LeftButton, {}, map.cellPixel(0, 0));
    QCOMPARE(spy.count(), 0);  // not run yet: nothing to open
    QTest::mouseClick(map.customPlot(), Qt::LeftButton, {}, map.cellPixel(1, 2));
    QCOMPARE(spy.count(), 1);
    const auto cfg = spy.at(0).at(0).value<Config>();
    QCOMPARE(cfg.aux_weight, s.x.value(1));
    QCOMPARE(cfg.router_lr, s.y.value(2));
    QCOMPARE(cfg.seed, s.base.seed);
    QCOMPARE(cfg.d_model, 16);
}

void TestPhaseMap::sweep_window_runs_saves_and_cancels() {
    Config base = handSpec().base;
    base.script.push_back({5, "aux_weight", "0.5"});  // dropped for the sweep
    SweepWindow w(base);
    SweepSpec s = handSpec();
    s.x.n = 2;
    s.y.n = 2;
    s.seeds = 1;
    w.setSpecFields(s);
    QVERIFY(w.spec().base.script.empty());
    QSignalSpy done(&w, &SweepWindow::sweepFinished);
    QVERIFY(w.start());
    QVERIFY(w.isRunning());
    QVERIFY(!w.start());  // one at a time
    QVERIFY(done.wait(60000));
    QCOMPARE(done.at(0).at(0).toBool(), false);
    QCOMPARE(w.map()->filledCells(), 4);
    QVERIFY2(w.status().startsWith("Done: 4 of 4 cells"), qPrintable(w.status()));

    QTemporaryDir dir;
    const QString path = dir.filePath("s.moesweep");
    QVERIFY(w.saveSweep(path));
    SweepWindow other(base);
    QVERIFY(other.openSweep(path));
    QCOMPARE(other.map()->filledCells(), 4);
    QCOMPARE(other.map()->cellValue(1, 1), w.map()->cellValue(1, 1));
    QVERIFY(!other.openSweep(dir.filePath("none.moesweep")));
    QVERIFY2(other.status().contains("no such file"), qPrintable(other.status()));

    // A bad form is a message, not a crash.
    s.x.lo = 0;
    other.setSpecFields(s);
    QVERIFY(!other.start());
    QVERIFY2(other.status().contains("log axis needs lo > 0"), qPrintable(other.status()));

    // Cancel: a long sweep stops soon, keeping what finished.
    s.x.lo = 1e-3;
    s.x.n = 8;
    s.y.n = 8;
    s.steps = 400;
    w.setSpecFields(s);
    QVERIFY(w.start());
    w.cancel();
    QVERIFY(done.wait(60000));
    QCOMPARE(done.at(1).at(0).toBool(), true);
    QVERIFY(w.map()->filledCells() < 64);
    QVERIFY2(w.status().startsWith("Cancelled"), qPrintable(w.status()));
}

QTEST_MAIN(TestPhaseMap)
#include "test_phase_map.moc"
