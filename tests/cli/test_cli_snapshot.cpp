// Snapshots through the real moescope-cli: train --snapshot, inspect (text and
// --json), train --resume to a total step count with the same result as one
// uninterrupted run, periodic and Ctrl-C saves, one-line errors for bad files
// and structural --set, and Python reading the file with numpy alone. QProcess
// needs the event loop of a QCoreApplication, hence the GUI-less main.
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <signal.h>

#include "io/snapshot.hpp"
#include "monitor/metrics.hpp"

namespace {

struct CliResult {
    int code = -1;
    bool crashed = true;
    QString out, err;
};

// One OpenMP thread: these tests check the interface, not speed, on a loaded 2-core machine.
QProcessEnvironment one_thread() {
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("OMP_NUM_THREADS"), QStringLiteral("1"));
    return env;
}

CliResult finish(QProcess& p, int timeout_ms) {
    CliResult r;
    if (!p.waitForFinished(timeout_ms)) {
        p.kill();
        p.waitForFinished(5000);
    }
    r.code = p.exitCode();
    r.crashed = p.exitStatus() != QProcess::NormalExit;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

CliResult run_cli(const QStringList& args, const QString& cwd, int timeout_ms = 60000) {
    QProcess p;
    p.setProcessEnvironment(one_thread());
    p.setWorkingDirectory(cwd);
    p.start(QStringLiteral(MOESCOPE_CLI), args);
    return finish(p, timeout_ms);
}

QString describe(const CliResult& r) {
    return QStringLiteral("exit %1%2\n--- stdout:\n%3\n--- stderr:\n%4")
        .arg(r.code)
        .arg(r.crashed ? " (crashed)" : "")
        .arg(r.out.right(2000), r.err.right(2000));
}

QJsonObject last_json_line(const QString& out) {
    const QStringList lines = out.split('\n', Qt::SkipEmptyParts);
    return lines.isEmpty() ? QJsonObject{} : QJsonDocument::fromJson(lines.last().toUtf8()).object();
}

// The small default run every test trains: quick on one thread.
QStringList train(const QStringList& more) {
    return QStringList{"train", "--set", "batch_tokens=128", "--quiet"} + more;
}

void expect_one_line_error(const CliResult& r, const QString& needle) {
    QVERIFY2(!r.crashed && r.code == 2, qPrintable(describe(r)));
    const QStringList lines = r.err.split('\n', Qt::SkipEmptyParts);
    QVERIFY2(lines.size() == 1 && lines[0].startsWith("moescope-cli: error: ") && lines[0].contains(needle),
             qPrintable(describe(r)));
}

}  // namespace

class TestCliSnapshot : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

    QString path(const char* name) const { return dir_.filePath(name); }

private slots:
    void initTestCase() {
        const CliResult r = run_cli(train({"--steps", "20", "--snapshot", "s.moesnap"}), dir_.path());
        QVERIFY2(!r.crashed && r.code == 0, qPrintable(describe(r)));
        QCOMPARE(last_json_line(r.out).value("steps").toInt(), 20);
    }

    void inspectShowsStepAndPreset() {
        const CliResult text = run_cli({"inspect", "s.moesnap"}, dir_.path());
        QVERIFY2(!text.crashed && text.code == 0, qPrintable(describe(text)));
        QVERIFY2(text.out.contains(QRegularExpression("step\\s+20\\n")), qPrintable(text.out));
        QVERIFY2(text.out.contains(QRegularExpression("preset\\s+default")), qPrintable(text.out));
        QVERIFY2(text.out.contains("batch_tokens=128"), qPrintable(text.out));  // what differs from the preset

        const CliResult js = run_cli({"inspect", "s.moesnap", "--json"}, dir_.path());
        QVERIFY2(!js.crashed && js.code == 0, qPrintable(describe(js)));
        QJsonParseError e;
        const QJsonObject o = QJsonDocument::fromJson(js.out.toUtf8(), &e).object();
        QVERIFY2(e.error == QJsonParseError::NoError, qPrintable(js.out));
        QCOMPARE(o.value("step").toInt(), 20);
        QCOMPARE(o.value("preset").toString(), QStringLiteral("default"));
        QCOMPARE(o.value("config").toObject().value("model").toObject().value("batch_tokens").toInt(), 128);
    }

    // 20 steps, save, resume to 40 in a new process == 40 steps in one go, bit for bit.
    void resumeEqualsUninterruptedRun() {
        const CliResult full = run_cli(train({"--steps", "40", "--snapshot", "full.moesnap"}), dir_.path());
        QVERIFY2(full.code == 0, qPrintable(describe(full)));
        const CliResult resumed =
            run_cli({"train", "--resume", "s.moesnap", "--steps", "40", "--quiet", "--snapshot", "resumed.moesnap"},
                    dir_.path());
        QVERIFY2(!resumed.crashed && resumed.code == 0, qPrintable(describe(resumed)));
        QCOMPARE(last_json_line(resumed.out).value("steps").toInt(), 40);
        QCOMPARE(last_json_line(resumed.out).value("loss").toDouble(),
                 last_json_line(full.out).value("loss").toDouble());
        const auto a = moescope::load_snapshot(path("full.moesnap").toStdString());
        const auto b = moescope::load_snapshot(path("resumed.moesnap").toStdString());
        QCOMPARE(b.state.steps, 40L);
        QVERIFY(a.state.params == b.state.params && a.state.moment2 == b.state.moment2);
        QCOMPARE(b.history.series("loss")->size(), size_t(40));  // the history continued too
    }

    void badResumeIsOneLineError() {
        QFile::copy(path("s.moesnap"), path("cut.moesnap"));
        QFile cut(path("cut.moesnap"));
        QVERIFY(cut.resize(cut.size() / 2));
        expect_one_line_error(run_cli({"train", "--resume", "cut.moesnap"}, dir_.path()), "cut.moesnap: tensor");
        expect_one_line_error(run_cli({"train", "--resume", "missing.moesnap"}, dir_.path()), "no such file");
        expect_one_line_error(run_cli({"inspect", "cut.moesnap"}, dir_.path()), "cut.moesnap");
        expect_one_line_error(run_cli({"inspect"}, dir_.path()), "needs a snapshot file");
    }

    // A resume already at --steps trains nothing: the summary reports the
    // snapshot's last step (not loss 0 and max_util 0), and says no step ran.
    void resumeWithNothingToTrainReportsTheSnapshot() {
        const CliResult r = run_cli({"train", "--resume", "s.moesnap", "--steps", "20"}, dir_.path());
        QVERIFY2(!r.crashed && r.code == 0, qPrintable(describe(r)));
        QVERIFY2(r.out.contains("no step ran: the run is at step 20 and --steps is 20"), qPrintable(describe(r)));
        const QJsonObject s = last_json_line(r.out);
        const auto snap = moescope::load_snapshot(path("s.moesnap").toStdString());
        const moescope::StepMetrics& latest = snap.history.latest();
        QCOMPARE(latest.step, 20L);
        QCOMPARE(s.value("steps").toInt(), 20);
        QCOMPARE(s.value("loss").toDouble(), latest.loss);
        QCOMPARE(s.value("max_util").toDouble(), moescope::worst_layers(latest).max_util);
        QVERIFY2(s.value("max_util").toDouble() >= 1.0, qPrintable(describe(r)));  // the busiest expert has ≥ its share
        QVERIFY(s.value("tokens_per_s").isNull());
    }

    // A run that never takes a step has no metrics to report: null, not zeros.
    void zeroStepRunReportsNoMetrics() {
        const CliResult r = run_cli(train({"--steps", "0"}), dir_.path());
        QVERIFY2(!r.crashed && r.code == 0, qPrintable(describe(r)));
        const QJsonObject s = last_json_line(r.out);
        QCOMPARE(s.value("steps").toInt(), 0);
        for (const char* key : {"loss", "train_acc", "load_entropy", "max_util", "dead_experts"})
            QVERIFY2(s.value(key).isNull(), key);
        QVERIFY(s.value("test_acc").isDouble());  // evaluated on the untrained model
    }

    void resumeRefusesStructuralKnobs() {
        expect_one_line_error(run_cli({"train", "--resume", "s.moesnap", "--set", "experts=4"}, dir_.path()),
                              "'experts' is structural");
        expect_one_line_error(run_cli({"train", "--resume", "s.moesnap", "--preset", "default"}, dir_.path()),
                              "--resume");
        expect_one_line_error(run_cli({"train", "--snapshot-every", "5"}, dir_.path()), "--snapshot-every needs");
        // A live knob is fine and is logged as an intervention at the snapshot's step.
        const CliResult r = run_cli({"train", "--resume", "s.moesnap", "--steps", "21", "--set", "aux_weight=0.1",
                                     "--quiet", "--snapshot", "live.moesnap"},
                                    dir_.path());
        QVERIFY2(r.code == 0, qPrintable(describe(r)));
        const auto snap = moescope::load_snapshot(path("live.moesnap").toStdString());
        QCOMPARE(snap.state.interventions.size(), size_t(1));
        QCOMPARE(snap.state.interventions[0].step, 20L);
        QCOMPARE(snap.state.config.aux_weight, 0.1);
    }

    // --snapshot-every writes while training; Ctrl-C stops the run and saves where it stopped.
    void periodicAndInterruptSaves() {
        QProcess p;
        p.setProcessEnvironment(one_thread());
        p.setWorkingDirectory(dir_.path());
        p.start(QStringLiteral(MOESCOPE_CLI),
                train({"--steps", "1000000", "--snapshot", "every.moesnap", "--snapshot-every", "5"}));
        QVERIFY(p.waitForStarted(10000));
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(path("every.moesnap")), 60000);
        ::kill(static_cast<pid_t>(p.processId()), SIGINT);
        const CliResult r = finish(p, 60000);
        QVERIFY2(!r.crashed && r.code == 0, qPrintable(describe(r)));
        const QJsonObject summary = last_json_line(r.out);
        QVERIFY(summary.value("interrupted").toBool());
        const auto snap = moescope::load_snapshot(path("every.moesnap").toStdString());
        QCOMPARE(snap.state.steps, long(summary.value("steps").toInt()));
    }

    void pythonReadsItWithNumpy() {
        QString python;
        for (const QString candidate : {"python3", "/usr/bin/python3"}) {
            QProcess probe;
            probe.start(candidate, {"-c", "import numpy"});
            if (probe.waitForFinished(30000) && probe.exitStatus() == QProcess::NormalExit && probe.exitCode() == 0) {
                python = candidate;
                break;
            }
        }
        if (python.isEmpty()) QSKIP("no python3 with numpy");
        QProcess p;
        p.start(python, {QStringLiteral(MOESCOPE_SOURCE_DIR "/tests/python/read_snapshot.py"), path("s.moesnap"),
                         "layer1.experts.W1", "3", "5", "7"});
        QVERIFY(p.waitForFinished(30000));
        QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
        const QJsonObject o = QJsonDocument::fromJson(p.readAllStandardOutput()).object();
        QCOMPARE(o.value("step").toInt(), 20);
        QCOMPARE(o.value("preset").toString(), QStringLiteral("default"));
        QCOMPARE(o.value("last_loss_step").toInt(), 20);
        // W1 is [E, d_ff, d_model] in the file; in memory expert e is columns [e·d_model, (e+1)·d_model).
        const auto snap = moescope::load_snapshot(path("s.moesnap").toStdString());
        const auto& c = snap.state.config;
        QCOMPARE(o.value("shape").toVariant().toList(), QVariantList({c.experts, c.d_ff, c.d_model}));
        const auto layout = moescope::ParamLayout::build(c, snap.state.d_in, snap.state.classes);
        const auto& w1 = layout.tensors[layout.layers[1].W1];
        const long e = 3, i = 5, j = 7;
        QCOMPARE(o.value("value").toDouble(), double(snap.state.params[w1.offset + i + (e * c.d_model + j) * w1.rows]));
    }
};

QTEST_GUILESS_MAIN(TestCliSnapshot)
#include "test_cli_snapshot.moc"
