// Interface tests of the sweep window's cluster side (issue 26): "Export for a
// cluster…" writes the form's sweep as a Slurm job array with the options set
// in its dialog and shows the commands that submit and merge it; a refusal
// shows the project's message in the dialog; a merged map that lacks cells
// marks each missing one (hatched, its tooltip says so) and the window says
// how many cells are in.
#include <qcustomplot.h>
#include <QDialogButtonBox>
#include <QFile>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include "io/sweep_cluster.hpp"
#include "io/sweep_file.hpp"
#include "plots/phase_map.hpp"
#include "test_presets.hpp"
#include "window/cluster_export_dialog.hpp"
#include "window/sweep_window.hpp"

using namespace moescope;

namespace {

// 3 × 3 × 2 seeds = 18 runs, aux_weight × router_lr on log axes.
SweepSpec smallSpec() {
    return make_sweep_spec(test_presets::tiny(), parse_sweep_axis("aux_weight=1e-3:1e-1:3", true),
                           parse_sweep_axis("router_lr=1e-3:1e-1:3", true), 20, 2);
}

QString readAll(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

template <class W>
W* field(QObject* dialog, const char* name) {
    W* w = dialog->findChild<W*>(QLatin1String(name));
    if (!w) qFatal("the dialog has no field '%s'", name);
    return w;
}

void clickWrite(ClusterExportDialog* d) {
    for (QAbstractButton* b : d->findChild<QDialogButtonBox*>()->buttons())
        if (b->text() == QStringLiteral("Write")) return QTest::mouseClick(b, Qt::LeftButton);
    qFatal("no Write button");
}

// The map's pixels in a small square around a cell's centre.
QImage cellPatch(PhaseMap& map, int ix, int iy) {
    const QPoint c = map.customPlot()->mapTo(&map, map.cellPixel(ix, iy));
    return map.grab(QRect(c - QPoint(8, 8), QSize(16, 16))).toImage();
}

bool hasColour(const QImage& img, QRgb rgb) {
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x)
            if ((img.pixel(x, y) & 0xffffff) == (rgb & 0xffffff)) return true;
    return false;
}

}  // namespace

class TestSweepCluster : public QObject {
    Q_OBJECT

private slots:
    void export_writes_the_job_array();
    void export_refusals_show_the_message();
    void partial_merge_marks_missing_cells();
};

void TestSweepCluster::export_writes_the_job_array() {
    SweepWindow w(test_presets::tiny());
    w.setSpecFields(smallSpec());
    QPointer<ClusterExportDialog> d = w.exportForCluster();
    QVERIFY(d);
    QVERIFY(d->isVisible());
    // The defaults the brief and sbatch agree on.
    QCOMPARE(field<QLineEdit>(d, "time")->text(), QStringLiteral("1:00:00"));
    QCOMPARE(field<QSpinBox>(d, "cpus")->value(), 1);
    QCOMPARE(field<QSpinBox>(d, "parallel")->value(), 0);

    QTemporaryDir tmp;
    const QString dir = tmp.filePath(QStringLiteral("sweep1"));
    field<QLineEdit>(d, "folder")->setText(dir);
    field<QLineEdit>(d, "partition")->setText(QStringLiteral("debug"));
    field<QLineEdit>(d, "time")->setText(QStringLiteral("0:20:00"));
    field<QSpinBox>(d, "cpus")->setValue(2);
    field<QLineEdit>(d, "mem")->setText(QStringLiteral("2G"));
    field<QLineEdit>(d, "gres")->setText(QStringLiteral("gpu:1"));
    field<QSpinBox>(d, "parallel")->setValue(4);
    clickWrite(d);
    QVERIFY2(d.isNull() || !d->isVisible(), qPrintable(d ? d->error() : QString()));

    QVERIFY(QFile::exists(dir + QStringLiteral("/sweep.moesweep")));
    const QString script = readAll(dir + QStringLiteral("/sweep.sbatch"));
    for (const char* line : {"#SBATCH --array=0-17%4\n", "#SBATCH --partition=debug\n", "#SBATCH --time=0:20:00\n",
                             "#SBATCH --cpus-per-task=2\n", "#SBATCH --mem=2G\n", "#SBATCH --gres=gpu:1\n"})
        QVERIFY2(script.contains(QLatin1String(line)), line);
    QVERIFY(!script.contains(QStringLiteral("--account")));  // left empty: not asked for
    // The tasks run the moescope-cli next to the running binary, on the GPU when one is asked for.
    QVERIFY2(script.contains(
                 QStringLiteral("exec '%1/moescope-cli' sweep --cell").arg(QCoreApplication::applicationDirPath())),
             qPrintable(script));
    QVERIFY(script.contains(QStringLiteral("--backend auto")));
    // The sweep written is the form's, as Start would run it.
    const ClusterSweep c = load_cluster_sweep(dir.toStdString());
    QCOMPARE(c.spec.runs(), 18L);
    QCOMPARE(sweep_to_json(SweepResult{c.spec, {}}).dump(), sweep_to_json(SweepResult{w.spec(), {}}).dump());

    // The commands, selectable, in a box that does not block.
    QMessageBox* box = w.clusterMessage();
    QVERIFY(box);
    QVERIFY(box->isVisible());
    QVERIFY(!box->isModal() || box->windowModality() != Qt::ApplicationModal);
    QVERIFY(box->textInteractionFlags() & Qt::TextSelectableByMouse);
    const QString sbatch = QStringLiteral("sbatch %1/sweep.sbatch").arg(dir);
    const QString merge = QStringLiteral("moescope-cli sweep --merge %1 --out map.moesweep").arg(dir);
    QVERIFY2(box->text().contains(sbatch), qPrintable(box->text()));
    QVERIFY2(box->text().contains(merge), qPrintable(box->text()));
    QVERIFY2(w.status().contains(sbatch), qPrintable(w.status()));
    // No moescope-cli beside the test binary: the box says to point the script at the cluster's.
    QVERIFY2(box->text().contains(QStringLiteral("which is not on this machine")), qPrintable(box->text()));
    box->close();

    // The same sweep into the same folder again: allowed (its cells would be kept). The
    // dialog offers the last export's options again.
    d = w.exportForCluster();
    QCOMPARE(field<QLineEdit>(d, "partition")->text(), QStringLiteral("debug"));
    QCOMPARE(field<QLineEdit>(d, "gres")->text(), QStringLiteral("gpu:1"));
    QCOMPARE(field<QSpinBox>(d, "parallel")->value(), 4);
    field<QLineEdit>(d, "folder")->setText(dir);
    d->accept();
    QVERIFY2(d.isNull() || !d->isVisible(), qPrintable(d ? d->error() : QString()));
}

void TestSweepCluster::export_refusals_show_the_message() {
    SweepWindow w(test_presets::tiny());
    w.setSpecFields(smallSpec());
    QTemporaryDir tmp;
    // A folder that holds another sweep (more steps) is refused, and left as it was.
    const QString other = tmp.filePath(QStringLiteral("other"));
    SweepSpec longer = smallSpec();
    longer.steps = 40;
    emit_slurm_sweep(longer, SlurmOptions{}, other.toStdString());
    const QString before = readAll(other + QStringLiteral("/sweep.moesweep"));

    QPointer<ClusterExportDialog> d = w.exportForCluster();
    QVERIFY(d);
    field<QLineEdit>(d, "folder")->setText(other);
    clickWrite(d);
    QVERIFY(d && d->isVisible());  // stays open: the entries are not lost
    QVERIFY2(d->error().contains(QStringLiteral("holds another sweep")), qPrintable(d->error()));
    QVERIFY2(d->error().contains(other), qPrintable(d->error()));
    QVERIFY(!w.clusterMessage());
    QCOMPARE(readAll(other + QStringLiteral("/sweep.moesweep")), before);

    // No folder; an option that cannot go on an #SBATCH line; a path Slurm cannot take.
    const QString fresh = tmp.filePath(QStringLiteral("fresh"));
    field<QLineEdit>(d, "folder")->clear();
    d->accept();
    QVERIFY2(d->error().contains(QStringLiteral("choose a folder")), qPrintable(d->error()));
    field<QLineEdit>(d, "folder")->setText(fresh);
    field<QLineEdit>(d, "partition")->setText(QStringLiteral("gpu$x"));
    d->accept();
    QVERIFY2(d->error().startsWith(QStringLiteral("--partition 'gpu$x' must be one word")), qPrintable(d->error()));
    field<QLineEdit>(d, "partition")->clear();
    field<QLineEdit>(d, "folder")->setText(tmp.filePath(QStringLiteral("50%")));
    d->accept();
    QVERIFY2(d->error().contains(QStringLiteral("an sbatch script cannot carry")), qPrintable(d->error()));
    QVERIFY(!QFile::exists(fresh));
    // Fixed, it writes and the message clears.
    field<QLineEdit>(d, "folder")->setText(fresh);
    d->accept();
    QVERIFY(QFile::exists(fresh + QStringLiteral("/sweep.sbatch")));
    QVERIFY(w.clusterMessage());

    // A bad form opens no dialog: its error is in the status line, as for Start.
    SweepSpec bad = smallSpec();
    bad.x.lo = 0;
    w.setSpecFields(bad);
    QVERIFY(!w.exportForCluster());
    QVERIFY2(w.status().contains(QStringLiteral("log axis needs lo > 0")), qPrintable(w.status()));
}

// A partial cluster run merged (as `moescope-cli sweep --merge` does) and opened.
void TestSweepCluster::partial_merge_marks_missing_cells() {
    QTemporaryDir tmp;
    const std::string dir = tmp.filePath(QStringLiteral("cluster")).toStdString();
    emit_slurm_sweep(smallSpec(), SlurmOptions{}, dir);
    const ClusterSweep c = load_cluster_sweep(dir);
    // Every task in but both seeds of (1, 1) and one of (2, 0): 7 of 9 cells complete.
    for (long u = 0; u < c.spec.runs(); ++u) {
        const SweepTask t = sweep_task(c.spec, u);
        if ((t.ix == 1 && t.iy == 1) || (t.ix == 2 && t.iy == 0 && t.s == 1)) continue;
        SweepRun r{c.spec.base.seed + t.s, {}};
        r.values.fill(kNaN);
        r.values[kLoadEntropy] = t.ix >= t.iy ? 0.95 : 0.4;
        r.values[kHalted] = 0;
        save_cluster_run(c, u, r, 1.0);
    }
    const ClusterMerge m = merge_cluster_sweep(c);
    QCOMPARE(m.result.cells.size(), size_t(7));
    const QString path = tmp.filePath(QStringLiteral("map.moesweep"));
    save_sweep(m.result, path.toStdString());

    SweepWindow w(test_presets::tiny());
    w.resize(1000, 640);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QVERIFY(w.openSweep(path));
    PhaseMap& map = *w.map();
    QCOMPARE(map.filledCells(), 7);
    QCOMPARE(map.missingCells(), 2);
    QVERIFY(map.isMissing(1, 1));
    QVERIFY(map.isMissing(2, 0));
    QVERIFY(!map.isMissing(0, 0));
    QVERIFY(!map.isMissing(3, 0));  // off the grid
    const QString tip = map.cellToolTip(1, 1);
    QVERIFY2(tip.contains(QStringLiteral("not run yet (missing from the merge")), qPrintable(tip));
    QVERIFY2(tip.startsWith(QStringLiteral("aux_weight = 0.01, router_lr = 0.01")), qPrintable(tip));
    QVERIFY2(w.status().contains(QStringLiteral("7 of 9 cells")), qPrintable(w.status()));
    QVERIFY2(w.status().contains(QStringLiteral("2 hatched cells")), qPrintable(w.status()));
    QVERIFY2(w.windowTitle().contains(QStringLiteral("map.moesweep (7 of 9 cells)")), qPrintable(w.windowTitle()));

    // Drawn: the missing cell is hatched grey, a finished one is not.
    map.customPlot()->replot(QCustomPlot::rpImmediateRefresh);
    const QImage missing = cellPatch(map, 1, 1), finished = cellPatch(map, 0, 0);
    QVERIFY(hasColour(missing, qRgb(236, 236, 236)) && hasColour(missing, qRgb(175, 175, 175)));
    QVERIFY(!hasColour(finished, qRgb(175, 175, 175)));
    // While a sweep runs, its cells to come are pending, not missing: blank.
    map.setSpec(c.spec);
    map.customPlot()->replot(QCustomPlot::rpImmediateRefresh);
    QCOMPARE(map.missingCells(), 0);
    QVERIFY(!map.isMissing(1, 1));
    QVERIFY(map.cellToolTip(1, 1).isEmpty());
    QVERIFY(!hasColour(cellPatch(map, 1, 1), qRgb(175, 175, 175)));

    // A complete map has none, and says so.
    SweepResult full = m.result;
    for (auto [ix, iy] : {std::pair{1, 1}, std::pair{2, 0}})
        full.cells.push_back({ix, iy, c.spec.x.value(ix), c.spec.y.value(iy), m.result.cells[0].runs});
    save_sweep(full, path.toStdString());
    QVERIFY(w.openSweep(path));
    QCOMPARE(map.missingCells(), 0);
    QVERIFY2(w.status().endsWith(QStringLiteral("9 of 9 cells.")), qPrintable(w.status()));
}

QTEST_MAIN(TestSweepCluster)
#include "test_sweep_cluster.moc"
