// A sweep on a real Slurm cluster: the test starts MUNGE, slurmctld and slurmd
// itself (one node, localhost, a slurm.conf in a temporary folder), emits a
// 3×3 grid × 2 seeds as an 18-task job array, submits it with sbatch, cancels
// one task on purpose, merges, checks the merge names the missing task and
// the sbatch line that reruns it, runs that line, merges again and compares
// every run with the same sweep trained locally (bit for bit: the same
// machine, the same run_sweep_cell). It stops the daemons it started.
// Without the daemons (not installed, not root) it says why and is skipped.
#include <unistd.h>

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRandomGenerator>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <cstring>
#include <memory>

#include "cli_process.hpp"
#include "io/sweep_file.hpp"

namespace {

const QStringList kSweep = {"sweep",
                            "--preset",
                            "default",
                            "--x",
                            "aux_weight=0.001:0.1:3",
                            "--log",
                            "--y",
                            "router_lr=0.001:0.01:3",
                            "--log",
                            "--steps",
                            "40",
                            "--seeds",
                            "2"};
constexpr int kTasks = 18;

QString tool(const QString& name) {
    QString p = QStandardPaths::findExecutable(name);
    if (p.isEmpty()) p = QStandardPaths::findExecutable(name, {"/usr/sbin", "/usr/bin", "/sbin", "/bin"});
    return p;
}

bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

class TestSlurmSweep : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    std::unique_ptr<QProcess> munged_, slurmctld_, slurmd_;

    QString path(const QString& name) const { return tmp_.filePath(name); }

    // Every program runs in the test's folder with the test's environment (SLURM_CONF, set below).
    ProcessResult run(const QString& program, const QStringList& args, int timeout_ms = 120000) {
        return run_process(program, args, timeout_ms, tmp_.path());
    }
    ProcessResult cli(const QStringList& args) { return run(QStringLiteral(MOESCOPE_CLI), args, 300000); }

    std::unique_ptr<QProcess> start_daemon(const QString& program, const QStringList& args, const QString& log) {
        auto p = std::make_unique<QProcess>();
        p->setStandardOutputFile(path(log));
        p->setStandardErrorFile(path(log), QIODevice::Append);
        p->start(program, args);
        return p;
    }

    QString log_tail(const QString& name) const {
        QFile f(path(name));
        if (!f.open(QIODevice::ReadOnly)) return {};
        return QString::fromUtf8(f.readAll().right(600));
    }

    // Waits until the job has left the queue (every task finished, failed or was cancelled).
    bool wait_for_job(const QString& job, int timeout_ms) {
        QElapsedTimer t;
        t.start();
        while (t.elapsed() < timeout_ms) {
            const ProcessResult q = run(tool("squeue"), {"-h", "-j", job});
            if (q.code == 0 && q.out.trimmed().isEmpty()) return true;
            QThread::msleep(500);
        }
        return false;
    }

    QString submit(const QStringList& args) {
        const ProcessResult r = run(tool("sbatch"), QStringList{"--parsable"} + args);
        if (r.code != 0) qWarning("sbatch failed: %s", qPrintable(r.err));
        return r.out.trimmed().section(';', 0, 0);
    }

private slots:
    void initTestCase() {
        for (const char* t : {"munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo"})
            if (tool(t).isEmpty())
                QSKIP(qPrintable(QString("'%1' is not installed; scripts/test installs slurmctld, slurmd, "
                                         "slurm-client and munge (Debian 12)")
                                     .arg(t)));
        if (geteuid() != 0)
            QSKIP("the local Slurm cluster needs root (slurmd runs jobs as their users); run scripts/test as root");
        QVERIFY(tmp_.isValid());
        for (const char* d : {"munge", "state", "spool"}) QVERIFY(QDir(tmp_.path()).mkpath(d));
        // MUNGE: a random key only this test's daemons share.
        QFile key(path("munge/munge.key"));
        QVERIFY(key.open(QIODevice::WriteOnly));
        QByteArray bytes(1024, 0);
        for (char& b : bytes) b = char(QRandomGenerator::global()->generate() & 0xff);
        key.write(bytes);
        key.close();
        QFile::setPermissions(path("munge/munge.key"), QFileDevice::ReadOwner);
        qputenv("SLURM_CONF", path("slurm.conf").toLocal8Bit());  // for the daemons, sbatch and the tasks
        qputenv("OMP_NUM_THREADS", "1");
        const QString socket = path("munge/munge.socket");
        munged_ = start_daemon(tool("munged"),
                               {"-F", "-f", "--socket=" + socket, "--key-file=" + path("munge/munge.key"),
                                "--pid-file=" + path("munge/munged.pid"), "--seed-file=" + path("munge/seed"),
                                "--log-file=" + path("munged.log")},
                               "munged.out");

        // One node, this host, on ports of its own (a second cluster on the machine keeps its ports).
        char host[256] = "";
        gethostname(host, sizeof host - 1);
        const QString node = QString::fromLocal8Bit(host).section('.', 0, 0);
        const int port = 20000 + int(getpid() % 20000) * 2;
        QFile conf(path("slurm.conf"));
        QVERIFY(conf.open(QIODevice::WriteOnly | QIODevice::Text));
        QTextStream(&conf) << "ClusterName=moescope-test\n"
                           << "SlurmctldHost=" << node << "(127.0.0.1)\n"
                           << "SlurmctldPort=" << port << "\nSlurmdPort=" << port + 1 << "\n"
                           << "SlurmUser=root\nSlurmdUser=root\n"
                           << "AuthType=auth/munge\nCredType=cred/munge\nAuthInfo=socket=" << socket << "\n"
                           << "StateSaveLocation=" << path("state") << "\nSlurmdSpoolDir=" << path("spool") << "\n"
                           << "SlurmctldPidFile=" << path("slurmctld.pid") << "\n"
                           << "SlurmdPidFile=" << path("slurmd.pid") << "\n"
                           << "SlurmctldLogFile=" << path("slurmctld.log") << "\n"
                           << "SlurmdLogFile=" << path("slurmd.log") << "\n"
                           << "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n"
                           << "SelectType=select/cons_tres\nSelectTypeParameters=CR_CPU\n"
                           << "JobAcctGatherType=jobacct_gather/none\nAccountingStorageType=accounting_storage/none\n"
                           << "MpiDefault=none\nReturnToService=2\nSchedulerType=sched/builtin\n"
                           << "InactiveLimit=0\nKillWait=5\nMinJobAge=300\n"
                           << "NodeName=" << node << " NodeAddr=127.0.0.1 CPUs=" << QThread::idealThreadCount()
                           << " State=UNKNOWN\n"
                           << "PartitionName=local Nodes=" << node << " Default=YES MaxTime=INFINITE State=UP\n";
        conf.close();
        QThread::msleep(500);  // munged's socket first
        slurmctld_ = start_daemon(tool("slurmctld"), {"-D", "-c", "-i", "-f", path("slurm.conf")}, "slurmctld.out");
        QThread::msleep(1000);
        slurmd_ = start_daemon(tool("slurmd"), {"-D", "-f", path("slurm.conf"), "-N", node}, "slurmd.out");
        QElapsedTimer t;
        t.start();
        QString state;
        while (t.elapsed() < 60000) {
            state = run(tool("sinfo"), {"-h", "-o", "%t"}).out.trimmed();
            if (state == "idle" || state == "mix") break;
            QThread::msleep(500);
        }
        if (state != "idle" && state != "mix")
            QSKIP(qPrintable("the local Slurm cluster did not come up (node state '" + state +
                             "'); slurmctld: " + log_tail("slurmctld.log") + " slurmd: " + log_tail("slurmd.log") +
                             " munged: " + log_tail("munged.log")));
    }

    void arrayMergesToTheLocalSweep() {
        const QString dir = path("sweep");
        // 1. Emit: the definition and the job array, nothing run.
        const ProcessResult emitted = cli(
            kSweep + QStringList{"--emit", "slurm", dir, "--parallel", "2", "--time", "10:00", "--partition", "local"});
        QVERIFY2(emitted.code == 0, qPrintable(emitted.err));
        QFile script(dir + "/sweep.sbatch");
        QVERIFY(script.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(script.readAll());
        QVERIFY(text.contains("#SBATCH --array=0-17%2\n"));
        QVERIFY(text.contains("#SBATCH --partition=local\n"));
        QVERIFY(QDir(dir + "/cells").isEmpty());

        // 2. Submit; cancel task 17 while the %2 limit keeps it pending: it never runs.
        QElapsedTimer wall;
        wall.start();
        const QString job = submit({dir + "/sweep.sbatch"});
        QVERIFY2(!job.isEmpty(), qPrintable(log_tail("slurmctld.log")));
        QCOMPARE(run(tool("scancel"), {job + "_17"}).code, 0);
        QVERIFY2(wait_for_job(job, 300000), "the array did not finish in 5 minutes");
        qInfo("array of %d tasks (one cancelled) took %.1f s", kTasks, wall.elapsed() / 1000.0);

        // 3. Merge: 17 runs in, task 17 missing, and the line that reruns it.
        const ProcessResult partial = cli({"sweep", "--merge", dir, "--out", path("partial.moesweep")});
        qInfo("%s", qPrintable(partial.out));
        QCOMPARE(partial.code, 4);
        QVERIFY2(partial.out.contains("17 of 18 runs in, 8 of 9 cells complete"), qPrintable(partial.out));
        QVERIFY(partial.out.contains("task 17 (cell ix 2, iy 2"));
        const QString rerun = "sbatch --array=17 " + dir + "/sweep.sbatch";
        QVERIFY2(partial.out.contains(rerun), qPrintable(partial.out));
        QCOMPARE(moescope::load_sweep(path("partial.moesweep").toStdString()).cells.size(), size_t(8));
        // A merge is idempotent: the same again gives the same file.
        QCOMPARE(cli({"sweep", "--merge", dir, "--out", path("partial2.moesweep")}).code, 4);
        QFile a(path("partial.moesweep")), b(path("partial2.moesweep"));
        QVERIFY(a.open(QIODevice::ReadOnly) && b.open(QIODevice::ReadOnly));
        QCOMPARE(a.readAll(), b.readAll());

        // 4. Run the line the merge named; merge again: complete.
        const QString again = submit(rerun.split(' ').mid(1));
        QVERIFY(!again.isEmpty());
        QVERIFY(wait_for_job(again, 120000));
        const ProcessResult full = cli({"sweep", "--merge", dir, "--out", path("cluster.moesweep")});
        QVERIFY2(full.code == 0, qPrintable(full.out + full.err));
        QVERIFY(full.out.contains("18 of 18 runs in, 9 of 9 cells complete"));

        // 5. The same sweep trained here: every value of every run the same, bit for bit.
        const ProcessResult local =
            cli(kSweep + QStringList{"--threads", "2", "--quiet", "--out", path("local.moesweep")});
        QVERIFY2(local.code == 0, qPrintable(local.err));
        const auto c = moescope::load_sweep(path("cluster.moesweep").toStdString());
        const auto l = moescope::load_sweep(path("local.moesweep").toStdString());
        QCOMPARE(c.cells.size(), l.cells.size());
        for (size_t i = 0; i < c.cells.size(); ++i) {
            QCOMPARE(c.cells[i].ix, l.cells[i].ix);
            QCOMPARE(c.cells[i].iy, l.cells[i].iy);
            QCOMPARE(c.cells[i].runs.size(), l.cells[i].runs.size());
            for (size_t s = 0; s < c.cells[i].runs.size(); ++s) {
                QCOMPARE(c.cells[i].runs[s].seed, l.cells[i].runs[s].seed);
                for (size_t m = 0; m < c.cells[i].runs[s].values.size(); ++m)
                    QVERIFY2(same(c.cells[i].runs[s].values[m], l.cells[i].runs[s].values[m]),
                             qPrintable(QString("cell %1 seed %2 measure %3: cluster %4, local %5")
                                            .arg(i)
                                            .arg(s)
                                            .arg(m)
                                            .arg(c.cells[i].runs[s].values[m], 0, 'g', 17)
                                            .arg(l.cells[i].runs[s].values[m], 0, 'g', 17)));
            }
        }
    }

    // A task's result that is damaged or from another sweep counts as failed, named, with the rerun line.
    void damagedResultIsFailed() {
        const QString dir = path("sweep");
        if (!QFile::exists(dir + "/cells/3.json")) QSKIP("needs the array of the test before");
        QFile f(dir + "/cells/3.json");
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write("{\"format\": \"moescope-sweep-run\", \"sweep\": \"0000\"}\n");
        f.close();
        const ProcessResult m = cli({"sweep", "--merge", dir});
        QCOMPARE(m.code, 4);
        QVERIFY2(m.out.contains("failed: 1 run(s)") && m.out.contains("belongs to another sweep"), qPrintable(m.out));
        QVERIFY(m.out.contains("sbatch --array=3 " + dir + "/sweep.sbatch"));
    }

    void cleanupTestCase() {
        if (!tool("scancel").isEmpty() && slurmctld_) run(tool("scancel"), {"--user", "root"});
        for (auto* p : {slurmd_.get(), slurmctld_.get(), munged_.get()}) {
            if (!p || p->state() == QProcess::NotRunning) continue;
            p->terminate();
            if (!p->waitForFinished(10000)) {
                p->kill();
                p->waitForFinished(5000);
            }
        }
    }
};

QTEST_GUILESS_MAIN(TestSlurmSweep)
#include "test_slurm_sweep.moc"
