// moescope-cli sweep's arguments and outputs, checked before any run: every
// count in range (never wrapped: --seeds 4294967297 was 1), seeds that stay
// valid seeds, an empty --out refused, --out and --png writable and distinct
// from the inputs; and a PNG that cannot be drawn keeps the sweep's results.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include "cli_process.hpp"
#include "io/sweep_file.hpp"

namespace {

QStringList sweep(const QStringList& more) {
    return QStringList{"sweep",   "--quiet",
                       "--x",     "aux_weight=0:1:1",
                       "--y",     "router_lr=0.01:0.1:2",
                       "--set",   "batch_tokens=16",
                       "--set",   "train_samples=100",
                       "--set",   "experts=4",
                       "--set",   "layers=1",
                       "--steps", "2"} +
           more;
}

void expect_refused(const ProcessResult& r, const QString& needle) {
    QVERIFY2(r.finished && r.code == 2, qPrintable(r.describe()));
    const QStringList lines = r.err.split('\n', Qt::SkipEmptyParts);
    QVERIFY2(lines.size() == 1 && lines[0].startsWith("moescope-cli: error: ") && lines[0].contains(needle),
             qPrintable(r.describe()));
    QVERIFY2(r.out.isEmpty(), qPrintable(r.describe()));  // refused before the first run
}

}  // namespace

class TestCliSweepArgs : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

private slots:
    void countsAreRangeChecked_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        QTest::newRow("seeds wrap") << QStringList{"--seeds", "4294967297"}
                                    << "--seeds expects a whole number in [1, 64], got '4294967297'";
        QTest::newRow("steps 1e10") << QStringList{"--steps", "1e10"}
                                    << "--steps expects a whole number in [1, 1000000]";
        QTest::newRow("steps huge") << QStringList{"--steps", "100000000000"}
                                    << "--steps expects a whole number in [1, 1000000], got '100000000000'";
        QTest::newRow("threads wrap") << QStringList{"--threads", "4294967297"}
                                      << "--threads expects a whole number in [1, 4096]";
        QTest::newRow("seed overflow") << QStringList{"--set", "seed=2147483647", "--seeds", "2"}
                                       << "the runs' seeds 2147483647 to 2147483648 leave the seed knob's range";
        QTest::newRow("empty out") << QStringList{"--out", ""} << "--out needs a value, got an empty string";
        QTest::newRow("empty png") << QStringList{"--png", ""} << "--png needs a value, got an empty string";
        QTest::newRow("out dir missing") << QStringList{"--out", "/nonexistent/d/s.moesweep"}
                                         << "cannot save sweep file '/nonexistent/d/s.moesweep': directory "
                                            "'/nonexistent/d' does not exist";
    }
    void countsAreRangeChecked() {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        expect_refused(run_cli(sweep(args), 60000, dir_.path()), message);
    }

    // The cluster commands (docs/sweep.md, "On a cluster"): one line each, nothing run.
    void clusterArgumentsAreChecked() {
        expect_refused(run_cli(sweep({"--emit", "pbs", "x"}), 60000, dir_.path()),
                       "--emit takes 'slurm' and a folder (--emit slurm DIR), got 'pbs'");
        expect_refused(run_cli(sweep({"--emit", "slurm", "c", "--out", "m.moesweep"}), 60000, dir_.path()),
                       "--emit slurm runs nothing, so it writes no --out or --png");
        expect_refused(run_cli(sweep({"--emit", "slurm", "c", "--parallel", "-1"}), 60000, dir_.path()),
                       "--parallel expects a whole number in [0, 1000000], got '-1'");
        expect_refused(run_cli({"sweep", "--cell", "/nonexistent", "0"}, 60000, dir_.path()),
                       "'/nonexistent' is not a sweep folder");
        expect_refused(run_cli({"sweep", "--merge"}, 60000, dir_.path()), "--merge needs the sweep folder");
        const ProcessResult emitted = run_cli(sweep({"--seeds", "1", "--emit", "slurm", "c"}), 60000, dir_.path());
        QVERIFY2(emitted.finished && emitted.code == 0, qPrintable(emitted.describe()));
        QVERIFY(emitted.out.contains("sbatch " + QDir(dir_.filePath("c")).absolutePath() + "/sweep.sbatch"));
        expect_refused(run_cli({"sweep", "--cell", "c", "2"}, 60000, dir_.path()),
                       "the task id expects a whole number in [0, 1], got '2'");
        // Task 1 run here, as an array task would run it: the merge then lacks only task 0.
        const ProcessResult cell = run_cli({"sweep", "--cell", "c", "1"}, 60000, dir_.path());
        QVERIFY2(cell.finished && cell.code == 0, qPrintable(cell.describe()));
        const ProcessResult merged = run_cli({"sweep", "--merge", "c", "--out", "m.moesweep"}, 60000, dir_.path());
        QVERIFY2(merged.finished && merged.code == 4, qPrintable(merged.describe()));
        QVERIFY(merged.out.contains("1 of 2 runs in, 1 of 2 cells complete"));
        QVERIFY(merged.out.contains("sbatch --array=0 "));
        QCOMPARE(moescope::load_sweep(dir_.filePath("m.moesweep").toStdString()).cells.size(), size_t(1));
    }

    void outputOverTheDataIsRefused() {
        QFile f(dir_.filePath("d.csv"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        for (int i = 0; i < 40; ++i)
            f.write(i ? QByteArray::number(i % 3) + "," + QByteArray::number(i % 2) + "\n" : "a,label\n");
        f.close();
        expect_refused(
            run_cli(sweep({"--set", "dataset=csv", "--set", "csv_path=d.csv", "--out", "./d.csv"}), 60000, dir_.path()),
            "--out './d.csv' is the same file as the config's csv_path 'd.csv'");
    }

    // A window binary that fails to draw: the sweep used to be removed with its temp file.
    void aFailedDrawingKeepsTheSweep() {
        const QString bin = dir_.filePath("bin");
        QVERIFY(QDir().mkpath(bin));
        QVERIFY(QFile::copy(MOESCOPE_CLI, bin + "/moescope-cli"));
        QFile fake(bin + "/moescope");
        QVERIFY(fake.open(QIODevice::WriteOnly));
        fake.write("#!/bin/sh\nexit 1\n");
        fake.close();
        QVERIFY(fake.setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner));
        const ProcessResult r = run_process(bin + "/moescope-cli", sweep({"--png", "map.png"}), 60000, dir_.path());
        QVERIFY2(r.finished && r.code == 2, qPrintable(r.describe()));
        QVERIFY2(r.out.contains("cells collapsed"), qPrintable(r.describe()));
        QVERIFY2(r.err.contains("cannot draw 'map.png'") && r.err.contains("the sweep is kept in 'map.png.moesweep'"),
                 qPrintable(r.describe()));
        const moescope::SweepResult kept = moescope::load_sweep(dir_.filePath("map.png.moesweep").toStdString());
        QCOMPARE(kept.cells.size(), size_t(2));
    }
};

QTEST_GUILESS_MAIN(TestCliSweepArgs)
#include "test_cli_sweep_args.moc"
