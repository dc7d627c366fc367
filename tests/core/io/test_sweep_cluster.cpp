// The cluster side of sweeps without a cluster (tests/slurm runs a real one):
// the task order, the --array ranges, what emit refuses, and a merge of
// results written by hand: complete, missing, failed and foreign ones.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include "error.hpp"
#include "io/sweep_cluster.hpp"
#include "train/config.hpp"

using namespace moescope;

namespace {

SweepSpec small_spec() {
    return make_sweep_spec(load_preset("default"), parse_sweep_axis("aux_weight=0.001:0.1:3", true),
                           parse_sweep_axis("router_lr=0.001:0.01:2", true), 20, 2);
}

SlurmOptions options() {
    SlurmOptions o;
    o.cli = "/opt/moescope/bin/moescope-cli";
    return o;
}

QString read_all(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

template <class F>
QString error_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

}  // namespace

class TestSweepCluster : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;

private slots:
    void tasksFollowTheLocalOrder() {
        const SweepSpec s = small_spec();  // 3 × 2 cells, 2 seeds: 12 runs
        QCOMPARE(s.runs(), 12L);
        const SweepTask t0 = sweep_task(s, 0), t1 = sweep_task(s, 1), t2 = sweep_task(s, 2), t7 = sweep_task(s, 7);
        QCOMPARE((std::array{t0.ix, t0.iy, t0.s}), (std::array{0, 0, 0}));
        QCOMPARE((std::array{t1.ix, t1.iy, t1.s}), (std::array{0, 0, 1}));
        QCOMPARE((std::array{t2.ix, t2.iy, t2.s}), (std::array{1, 0, 0}));
        QCOMPARE((std::array{t7.ix, t7.iy, t7.s}), (std::array{0, 1, 1}));  // cell 3 = (0, 1)
    }

    void arrayRangesAsSlurmWritesThem() {
        QCOMPARE(slurm_array_ranges({}), std::string());
        QCOMPARE(slurm_array_ranges({5}), std::string("5"));
        QCOMPARE(slurm_array_ranges({9, 0, 1, 2, 7, 10, 2}), std::string("0-2,7,9-10"));
    }

    void emitWritesTheScript() {
        const QString dir = tmp_.filePath("a");
        SlurmOptions o = options();
        o.partition = "gpu";
        o.gres = "gpu:1";
        o.parallel = 4;
        o.mem = "2G";
        const std::string script = emit_slurm_sweep(small_spec(), o, dir.toStdString());
        const QString text = read_all(QString::fromStdString(script));
        for (const char* line :
             {"#!/bin/bash\n", "#SBATCH --array=0-11%4\n", "#SBATCH --partition=gpu\n", "#SBATCH --gres=gpu:1\n",
              "#SBATCH --mem=2G\n", "#SBATCH --cpus-per-task=1\n", "#SBATCH --time=1:00:00\n"})
            QVERIFY2(text.contains(line), line);
        QVERIFY(text.contains("exec '/opt/moescope/bin/moescope-cli' sweep --cell '" + QDir(dir).absolutePath() +
                              "' \"${SLURM_ARRAY_TASK_ID:?"));
        QVERIFY(text.contains("--backend auto"));  // a GPU was asked for
        QVERIFY(QDir(dir + "/cells").exists() && QDir(dir + "/logs").exists());
        const ClusterSweep c = load_cluster_sweep(dir.toStdString());
        QCOMPARE(c.spec.runs(), 12L);
        // The same sweep again into its own folder is fine (its cells are kept); another one is refused.
        emit_slurm_sweep(small_spec(), options(), dir.toStdString());
        SweepSpec other = small_spec();
        other.steps = 30;
        QVERIFY(
            error_of([&] { emit_slurm_sweep(other, options(), dir.toStdString()); }).contains("holds another sweep"));
    }

    void emitRefusesWhatSlurmCannotCarry() {
        QVERIFY(error_of([&] {
                    emit_slurm_sweep(small_spec(), options(), tmp_.filePath("with space").toStdString());
                }).contains("cannot carry"));
        QVERIFY(error_of([&] {
                    emit_slurm_sweep(small_spec(), options(), tmp_.filePath("100%").toStdString());
                }).contains("cannot carry"));
        SlurmOptions o = options();
        o.partition = "a b";
        QVERIFY(error_of([&] {
                    emit_slurm_sweep(small_spec(), o, tmp_.filePath("p").toStdString());
                }).contains("--partition"));
        QDir(tmp_.path()).mkpath("busy");
        QFile f(tmp_.filePath("busy/notes.txt"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.close();
        QVERIFY(error_of([&] {
                    emit_slurm_sweep(small_spec(), options(), tmp_.filePath("busy").toStdString());
                }).contains("is not empty"));
        QVERIFY(
            error_of([&] { load_cluster_sweep(tmp_.filePath("busy").toStdString()); }).contains("sweep definition"));
    }

    void mergeSortsCompleteMissingAndFailed() {
        const QString dir = tmp_.filePath("m");
        emit_slurm_sweep(small_spec(), options(), dir.toStdString());
        const ClusterSweep c = load_cluster_sweep(dir.toStdString());
        SweepRun run;
        for (size_t m = 0; m < run.values.size(); ++m) run.values[m] = 0.5 + double(m);
        // Cell (0, 0) complete (tasks 0, 1); task 2 done but its cell lacks task 3; task 4 failed; task 5 foreign.
        for (long u : {0L, 1L, 2L}) {
            run.seed = c.spec.base.seed + sweep_task(c.spec, u).s;
            save_cluster_run(c, u, run, 1.0);
        }
        save_cluster_failure(c, 4, "stopped by SIGTERM before it finished");
        QFile foreign(QString::fromStdString(cluster_cell_path(c, 5)));
        QVERIFY(foreign.open(QIODevice::WriteOnly));
        foreign.write("{\"format\": \"moescope-sweep-run\", \"sweep\": \"ffff\", \"task\": 5}");
        foreign.close();
        const ClusterMerge m = merge_cluster_sweep(c);
        QCOMPARE(m.runs_done, 3L);
        QCOMPARE(m.result.cells.size(), size_t(1));
        QCOMPARE(m.result.cells[0].runs[1].values[3], 3.5);
        QCOMPARE(m.missing, (std::vector<long>{3, 6, 7, 8, 9, 10, 11}));
        QCOMPARE(m.failed.size(), size_t(2));
        QCOMPARE(m.failed[0].first, 4L);
        QVERIFY(QString::fromStdString(m.failed[0].second).contains("SIGTERM"));
        QVERIFY(QString::fromStdString(m.failed[1].second).contains("another sweep"));
        QCOMPARE(m.rerun, "sbatch --array=3-11 " + c.script);
    }
};

QTEST_GUILESS_MAIN(TestSweepCluster)
#include "test_sweep_cluster.moc"
