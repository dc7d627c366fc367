// Ctrl-C and SIGTERM through the real moescope-cli. An interrupted `train`
// once corrupted the heap in about a third of tries: a signal handler ran in
// the middle of oneDNN's JIT sgemm (docs/testing.md). Signals now go to a
// thread of their own (app/cli_signals.hpp); these tests interrupt a run at
// many points of its training and check every run ends cleanly with its save.
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <signal.h>

#include "io/snapshot.hpp"

namespace {

QProcessEnvironment one_thread() {
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("OMP_NUM_THREADS"), QStringLiteral("1"));
    return env;
}

QJsonObject last_json_line(const QString& out) {
    const QStringList lines = out.trimmed().split('\n');
    return lines.isEmpty() ? QJsonObject() : QJsonDocument::fromJson(lines.last().toUtf8()).object();
}

// Starts train, waits for its header line (signals are taken from there on),
// lets it train for `ms`, sends `sig`, and waits for it to end.
struct Interrupted {
    bool crashed = true;
    int code = -1;
    QString out, err;
};

Interrupted interrupt_train(const QString& dir, const QStringList& extra, int ms, int sig) {
    QProcess p;
    p.setProcessEnvironment(one_thread());
    p.setWorkingDirectory(dir);
    p.start(QStringLiteral(MOESCOPE_CLI),
            QStringList{"train", "--preset", "default", "--steps", "100000000", "--every", "100000000"} + extra);
    Interrupted r;
    if (!p.waitForStarted(10000)) return r;
    QByteArray out;
    QElapsedTimer t;
    t.start();
    while (!out.contains("moescope: ") && t.elapsed() < 60000 && p.state() == QProcess::Running) {
        p.waitForReadyRead(100);
        out += p.readAllStandardOutput();
    }
    QThread::msleep(static_cast<unsigned long>(ms));
    ::kill(static_cast<pid_t>(p.processId()), sig);
    if (!p.waitForFinished(60000)) {
        p.kill();
        p.waitForFinished(5000);
    }
    r.crashed = p.exitStatus() != QProcess::NormalExit;
    r.code = p.exitCode();
    r.out = QString::fromUtf8(out + p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

QString describe(const Interrupted& r) {
    return QStringLiteral("exit %1%2\n--- stdout:\n%3\n--- stderr:\n%4")
        .arg(r.code)
        .arg(r.crashed ? " (crashed)" : "")
        .arg(r.out.right(1500), r.err.right(1500));
}

}  // namespace

class TestCliSignals : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

private slots:
    // Ten interrupts spread over the first second of training, where the old
    // handler crashed one run in three: every run ends with exit 0 and says
    // it was interrupted.
    void ctrlCAnywhereEndsCleanly_data() {
        QTest::addColumn<int>("ms");
        for (int ms : {0, 40, 90, 150, 230, 320, 420, 530, 650, 800}) QTest::addRow("%d ms", ms) << ms;
    }
    void ctrlCAnywhereEndsCleanly() {
        QFETCH(int, ms);
        const Interrupted r = interrupt_train(dir_.path(), {}, ms, SIGINT);
        QVERIFY2(!r.crashed && r.code == 0, qPrintable(describe(r)));
        QVERIFY2(last_json_line(r.out).value("interrupted").toBool(), qPrintable(describe(r)));
    }

    // SIGTERM (a kill, a Slurm time limit) stops a run the way Ctrl-C does: the snapshot is written.
    void sigtermSavesTheRun() {
        const QString snap = dir_.filePath("term.moesnap");
        const Interrupted r = interrupt_train(dir_.path(), {"--snapshot", snap}, 300, SIGTERM);
        QVERIFY2(!r.crashed && r.code == 0, qPrintable(describe(r)));
        const QJsonObject summary = last_json_line(r.out);
        QVERIFY(summary.value("interrupted").toBool());
        QVERIFY(QFile::exists(snap));
        QCOMPARE(moescope::load_snapshot(snap.toStdString()).state.steps, long(summary.value("steps").toInt()));
    }

    // A command with no clean stop (bench) still ends on Ctrl-C as any program does: killed by
    // the signal, not left running with the signal blocked.
    void unclaimedCommandEndsOnCtrlC() {
        QProcess p;
        p.setProcessEnvironment(one_thread());
        p.start(QStringLiteral(MOESCOPE_CLI), {"bench", "--no-scaling", "--steps", "100000"});
        QVERIFY(p.waitForStarted(10000));
        QThread::msleep(500);
        ::kill(static_cast<pid_t>(p.processId()), SIGINT);
        QVERIFY(p.waitForFinished(30000));
        QCOMPARE(p.exitStatus(), QProcess::CrashExit);
    }
};

QTEST_GUILESS_MAIN(TestCliSignals)
#include "test_cli_signals.moc"
