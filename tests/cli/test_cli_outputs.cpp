// moescope-cli train's outputs against its inputs and a full disk: an output
// that is the same file as an input (the data, the config, the resumed
// snapshot) or as another output is refused before anything is written; an
// output that fails mid-run (a full file system under --metrics or --report)
// costs that output only: the snapshot and the summary are still written.
#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <unistd.h>

#include "cli_process.hpp"
#include "io/snapshot.hpp"
#include "io/snapshot_history.hpp"

namespace {

// A small, fast model: the tests are about files, not learning.
QStringList train(const QStringList& more) {
    return QStringList{"train", "--quiet",   "--set", "batch_tokens=64", "--set", "train_samples=500",
                       "--set", "experts=4", "--set", "layers=1",        "--set", "d_model=16",
                       "--set", "d_ff=16"} +
           more;
}

QByteArray digest(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256) : "";
}

void write_file(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(bytes);
}

void expect_refused(const ProcessResult& r, const QString& needle) {
    QVERIFY2(r.finished && r.code == 2, qPrintable(r.describe()));
    const QStringList lines = r.err.split('\n', Qt::SkipEmptyParts);
    QVERIFY2(lines.size() == 1 && lines[0].startsWith("moescope-cli: error: ") && lines[0].contains(needle),
             qPrintable(r.describe()));
    QVERIFY2(r.out.isEmpty(), qPrintable(r.describe()));  // no step ran, no summary
}

QJsonObject last_json_line(const QString& out) {
    const QStringList lines = out.split('\n', Qt::SkipEmptyParts);
    return lines.isEmpty() ? QJsonObject{} : QJsonDocument::fromJson(lines.last().toUtf8()).object();
}

}  // namespace

class TestCliOutputs : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    QString path(const QString& name) const { return dir_.filePath(name); }

private slots:
    void initTestCase() {
        QByteArray csv = "a,b,label\n";
        for (int i = 0; i < 40; ++i)
            csv += QByteArray::number(i % 7) + "," + QByteArray::number(i % 5) + "," + QByteArray::number(i % 2) + "\n";
        write_file(path("data.csv"), csv);
    }

    // The four cases of the issue: each used to train and then overwrite the input (or the other output).
    void metricsOverTheDataIsRefused() {
        const QByteArray before = digest(path("data.csv"));
        const QStringList data = {"--set", "dataset=csv", "--set", "csv_path=data.csv"};
        expect_refused(run_cli(train(data + QStringList{"--steps", "2", "--metrics", "data.csv"}), 60000, dir_.path()),
                       "--metrics 'data.csv' is the same file as the config's csv_path 'data.csv'");
        // Another name of the same file: a hard link, and a path through "./".
        QVERIFY(QFile::link(path("data.csv"), path("soft.csv")));
        QVERIFY(::link(path("data.csv").toLocal8Bit().constData(), path("hard.csv").toLocal8Bit().constData()) == 0);
        expect_refused(run_cli(train(data + QStringList{"--steps", "2", "--metrics", "hard.csv"}), 60000, dir_.path()),
                       "--metrics 'hard.csv' is the same file as the config's csv_path 'data.csv'");
        expect_refused(run_cli(train({"--set", "dataset=csv", "--set", "csv_path=soft.csv", "--steps", "2",
                                      "--snapshot", "./data.csv"}),
                               60000, dir_.path()),
                       "--snapshot './data.csv' is the same file as the config's csv_path 'soft.csv'");
        QCOMPARE(digest(path("data.csv")), before);
    }

    void snapshotOverTheConfigIsRefused() {
        const ProcessResult saved = run_cli(train({"--steps", "0", "--save-config", "c.json"}), 60000, dir_.path());
        QVERIFY2(saved.code == 0, qPrintable(saved.describe()));
        const QByteArray before = digest(path("c.json"));
        expect_refused(run_cli({"train", "--quiet", "--config", "c.json", "--steps", "2", "--snapshot", "c.json"},
                               60000, dir_.path()),
                       "--snapshot 'c.json' is the same file as --config 'c.json'");
        QCOMPARE(digest(path("c.json")), before);
    }

    void twoOutputsOnOneFileAreRefused() {
        expect_refused(
            run_cli(train({"--steps", "2", "--metrics", "x.csv", "--save-config", "x.csv"}), 60000, dir_.path()),
            "--metrics 'x.csv' and --save-config 'x.csv' are the same file");
        QVERIFY(!QFile::exists(path("x.csv")));
        expect_refused(
            run_cli(train({"--steps", "2", "--report", "rep", "--metrics", "rep/metrics.csv"}), 60000, dir_.path()),
            "--metrics 'rep/metrics.csv' and --report's metrics.csv");
    }

    // Continuing a run into its own snapshot stays allowed; writing metrics over it does not.
    void resumeIntoItsOwnSnapshot() {
        QVERIFY(run_cli(train({"--steps", "2", "--snapshot", "r.moesnap"}), 60000, dir_.path()).code == 0);
        const ProcessResult same =
            run_cli({"train", "--quiet", "--resume", "r.moesnap", "--steps", "3", "--snapshot", "r.moesnap"}, 60000,
                    dir_.path());
        QVERIFY2(same.code == 0, qPrintable(same.describe()));
        QCOMPARE(moescope::load_snapshot(path("r.moesnap").toStdString()).state.steps, 3L);
        expect_refused(run_cli({"train", "--quiet", "--resume", "r.moesnap", "--steps", "4", "--metrics", "r.moesnap"},
                               60000, dir_.path()),
                       "--metrics 'r.moesnap' is the same file as --resume 'r.moesnap'");
        QCOMPARE(moescope::load_snapshot(path("r.moesnap").toStdString()).state.steps, 3L);
    }

    // A full file system under --metrics and --report, the snapshot on a normal disk: before, the
    // metrics write's error ended the run at once (exit 2, no snapshot, no summary).
    void fullDiskKeepsTheRun() {
        if (QStandardPaths::findExecutable("unshare").isEmpty()) QSKIP("no unshare(1) to mount a small tmpfs");
        QVERIFY(QDir(dir_.path()).mkpath("full"));
        // A user and mount namespace of its own: an 8 KB tmpfs at full/, seen by this command only.
        const ProcessResult probe =
            run_process("unshare", {"-rm", "sh", "-c", "mount -t tmpfs -o size=8k tmpfs full"}, 20000, dir_.path());
        if (probe.code != 0) QSKIP(qPrintable("cannot mount a tmpfs in a user namespace here: " + probe.err.trimmed()));
        const QString cmd = "mount -t tmpfs -o size=8k tmpfs full && exec \"$0\" \"$@\"";
        const ProcessResult r = run_process(
            "unshare",
            QStringList{"-rm", "sh", "-c", cmd, MOESCOPE_CLI} +
                train({"--steps", "200", "--metrics", "full/m.csv", "--report", "full/rep", "--snapshot", "s.moesnap"}),
            120000, dir_.path());
        QVERIFY2(r.finished && r.code == 2, qPrintable(r.describe()));
        QCOMPARE(last_json_line(r.out).value("steps").toInt(), 200);
        QCOMPARE(moescope::load_snapshot(path("s.moesnap").toStdString()).state.steps, 200L);
        const QStringList lines = r.err.split('\n', Qt::SkipEmptyParts);
        QVERIFY2(lines.size() == 2, qPrintable(r.describe()));
        QVERIFY2(lines[0].contains("metrics file 'full/m.csv'") && lines[0].contains("the run went on without it"),
                 qPrintable(r.describe()));
        QVERIFY2(lines[1].contains("report folder 'full/rep'"), qPrintable(r.describe()));
    }

    // Paths that are no UTF-8 (any file system allows them): JSON output used to end in the JSON
    // library's "invalid UTF-8 byte" error with the result lost. They come out as {"hex": ...}.
    void rawBytePathsInJsonOutput() {
        const QString sh =
            "d=\"$(printf 'data\\377.csv')\"; r=\"$(printf 'r\\377.moesnap')\"; cp data.csv \"$d\" && "
            "\"$0\" train --quiet --steps 2 --set batch_tokens=64 --set experts=4 --set layers=1 --set d_model=16 "
            "--set d_ff=16 --set dataset=csv --set csv_path=\"$d\" --snapshot \"$r\" && "
            "\"$0\" inspect \"$r\" --json";
        const ProcessResult r = run_process("/bin/sh", {"-c", sh, MOESCOPE_CLI}, 60000, dir_.path());
        QVERIFY2(r.finished && r.code == 0, qPrintable(r.describe()));
        const QStringList lines = r.out.split('\n', Qt::SkipEmptyParts);
        QVERIFY2(lines.size() == 2, qPrintable(r.describe()));
        QCOMPARE(QJsonDocument::fromJson(lines[0].toUtf8()).object().value("steps").toInt(), 2);  // the summary
        const QJsonObject inspect = QJsonDocument::fromJson(lines[1].toUtf8()).object();
        QCOMPARE(inspect.value("file").toObject().value("hex").toString(), QString("72ff2e6d6f65736e6170"));
        QCOMPARE(inspect.value("changed_knobs").toObject().value("csv_path").toObject().value("hex").toString(),
                 QString("64617461ff2e637376"));

        // A watched job's history-only snapshot under such a name.
        moescope::JobInfo job;
        job.source = "job\xff.jsonl";
        job.layers = 1, job.experts = 4;
        MetricsHistory h;
        h.reset(1, 4);
        moescope::save_history_snapshot(path("h").toStdString() + "\xff.moesnap", job, h, {});
        const ProcessResult hr =
            run_process("/bin/sh", {"-c", "exec \"$0\" inspect \"$(printf 'h\\377.moesnap')\" --json", MOESCOPE_CLI},
                        60000, dir_.path());
        QVERIFY2(hr.finished && hr.code == 0, qPrintable(hr.describe()));
        const QJsonObject history = QJsonDocument::fromJson(hr.out.toUtf8()).object();
        QCOMPARE(history.value("file").toObject().value("hex").toString(), QString("68ff2e6d6f65736e6170"));
        QCOMPARE(history.value("kind").toString(), QString("history"));
        // QTemporaryDir cannot name these files to remove them.
        for (const char* name : {"/data\xff.csv", "/r\xff.moesnap", "/h\xff.moesnap"})
            QCOMPARE(::unlink((dir_.path().toStdString() + name).c_str()), 0);
    }
};

QTEST_GUILESS_MAIN(TestCliOutputs)
#include "test_cli_outputs.moc"
