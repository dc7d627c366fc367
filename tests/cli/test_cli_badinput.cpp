// moescope-cli against the bad-input battery: --snapshot never replaces a FIFO
// or a symlink; an unwritable --snapshot target fails before
// the first step; a save that fails mid-run still prints the summary; raw-byte
// paths survive a save; empty file names and settings beyond the machine's
// memory are one-line errors; --dry-run prints the memory estimate.
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <sys/stat.h>

#include "io/snapshot.hpp"

namespace {

struct CliResult {
    int code = -1;
    bool crashed = true;
    QString out, err;
};

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

QProcessEnvironment one_thread() {
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("OMP_NUM_THREADS"), QStringLiteral("1"));
    return env;
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

QStringList train(const QStringList& more) {
    return QStringList{"train", "--set", "batch_tokens=64", "--set", "train_samples=500", "--quiet"} + more;
}

void expect_one_line_error(const CliResult& r, const QString& needle) {
    QVERIFY2(!r.crashed && r.code == 2, qPrintable(describe(r)));
    const QStringList lines = r.err.split('\n', Qt::SkipEmptyParts);
    QVERIFY2(lines.size() == 1 && lines[0].startsWith("moescope-cli: error: ") && lines[0].contains(needle),
             qPrintable(describe(r)));
}

QJsonObject last_json_line(const QString& out) {
    const QStringList lines = out.split('\n', Qt::SkipEmptyParts);
    return lines.isEmpty() ? QJsonObject{} : QJsonDocument::fromJson(lines.last().toUtf8()).object();
}

}  // namespace

class TestCliBadInput : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    QString path(const char* name) const { return dir_.filePath(name); }

private slots:
    void snapshotRefusesAFifo() {
        QVERIFY(::mkfifo(path("fifo").toLocal8Bit().constData(), 0644) == 0);
        expect_one_line_error(run_cli(train({"--steps", "2", "--snapshot", "fifo"}), dir_.path()),
                              "not a regular file");
        struct stat st {};
        QVERIFY(::lstat(path("fifo").toLocal8Bit().constData(), &st) == 0 && S_ISFIFO(st.st_mode));
        expect_one_line_error(run_cli(train({"--steps", "2", "--snapshot", "."}), dir_.path()), "is a directory");
    }

    // A symlink at --snapshot is refused before training; the file it names is kept.
    void snapshotRefusesASymlink() {
        QVERIFY(QDir(dir_.path()).mkpath("runs"));
        QFile real(path("runs/real.moesnap"));
        QVERIFY(real.open(QIODevice::WriteOnly) && real.write("keep me") == 7);
        real.close();
        QVERIFY(QFile::link("runs/real.moesnap", path("link.moesnap")));
        const CliResult r = run_cli(train({"--steps", "2", "--snapshot", "link.moesnap"}), dir_.path());
        expect_one_line_error(r, "'link.moesnap': it is a symbolic link, not a regular file");
        QVERIFY2(r.out.isEmpty(), qPrintable(describe(r)));  // no step was taken
        QVERIFY(QFileInfo(path("link.moesnap")).isSymLink());
        QCOMPARE(QFileInfo(path("runs/real.moesnap")).size(), 7);
    }

    // 400 steps used to train first and fail at the save, losing the run.
    void unwritableTargetFailsBeforeTraining() {
        const CliResult r = run_cli(train({"--steps", "400", "--snapshot", "missing_dir/s.moesnap"}), dir_.path());
        expect_one_line_error(r, "directory 'missing_dir' does not exist");
        QVERIFY2(r.out.isEmpty(), qPrintable(describe(r)));  // no step was taken
    }

    // The directory vanishes mid-run: the periodic save fails, the run stops, and its summary is printed.
    void failedSaveStillPrintsTheSummary() {
        QVERIFY(QDir(dir_.path()).mkpath("gone"));
        QProcess p;
        p.setProcessEnvironment(one_thread());
        p.setWorkingDirectory(dir_.path());
        p.start(QStringLiteral(MOESCOPE_CLI),
                train({"--steps", "1000000", "--snapshot", "gone/s.moesnap", "--snapshot-every", "5"}));
        QVERIFY(p.waitForStarted(10000));
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(path("gone/s.moesnap")), 60000);
        // Renaming the folder away is atomic; deleting it races with the run's next temp file.
        QVERIFY(QDir(dir_.path()).rename("gone", "moved-away"));
        const CliResult r = finish(p, 60000);
        expect_one_line_error(r, "cannot save snapshot 'gone/s.moesnap'");
        const QJsonObject summary = last_json_line(r.out);
        QVERIFY2(summary.value("steps").toInt() >= 5, qPrintable(describe(r)));
        // The run is kept: saved in the current directory, and the message says where.
        const QRegularExpressionMatch m =
            QRegularExpression("was saved to '(\\./s\\.pid[0-9]+\\.moesnap)' instead").match(r.err);
        QVERIFY2(m.hasMatch(), qPrintable(describe(r)));
        QCOMPARE(moescope::load_snapshot(path(qPrintable(m.captured(1))).toStdString()).state.steps,
                 long(summary.value("steps").toInt()));
    }

    // Raw bytes in a path (any file system allows them) no longer lose the run at save time.
    void rawBytePathsSurviveTheSave() {
        QProcess p;
        p.setProcessEnvironment(one_thread());
        p.setWorkingDirectory(dir_.path());
        p.start("/bin/sh", {"-c",
                            "exec \"$0\" train --set batch_tokens=64 --set train_samples=500 --quiet --steps 2 "
                            "--set csv_path=\"$(printf 'bad\\377name.csv')\" --snapshot bytes.moesnap "
                            "--save-config bytes.json",
                            QStringLiteral(MOESCOPE_CLI)});
        const CliResult r = finish(p, 60000);
        QVERIFY2(!r.crashed && r.code == 0, qPrintable(describe(r)));
        const auto snap = moescope::load_snapshot(path("bytes.moesnap").toStdString());
        QCOMPARE(snap.state.config.csv_path, std::string("bad\xffname.csv"));
        QCOMPARE(moescope::load_config_file(path("bytes.json").toStdString()).csv_path, std::string("bad\xffname.csv"));
        QProcess q;
        q.start("/bin/sh", {"-c", "exec \"$0\" train --steps 1 --set label_column=\"$(printf '\\377')\"",
                            QStringLiteral(MOESCOPE_CLI)});
        expect_one_line_error(finish(q, 60000), "not valid UTF-8");
    }

    void emptyFileNamesAreRefused() {
        for (const char* flag : {"--snapshot", "--config", "--resume", "--metrics", "--save-config"})
            expect_one_line_error(run_cli({"train", flag, ""}, dir_.path()),
                                  QString(flag) + " needs a value, got an empty");
    }

    void memoryBeyondTheMachine() {
        const CliResult big = run_cli({"train", "--set", "train_samples=10000000", "--set", "d_in=4096"}, dir_.path());
        expect_one_line_error(big, "config needs about");
        QVERIFY(big.out.isEmpty());
        const CliResult dry =
            run_cli({"train", "--dry-run", "--set", "experts=256", "--set", "d_ff=32768"}, dir_.path());
        QVERIFY2(!dry.crashed && dry.code == 0, qPrintable(describe(dry)));
        QVERIFY2(dry.out.contains("estimated memory") && dry.out.contains("this machine has"), qPrintable(dry.out));
        const CliResult fits = run_cli({"train", "--dry-run"}, dir_.path());
        QVERIFY2(fits.code == 0 && fits.out.contains(": fits"), qPrintable(describe(fits)));
    }

    void longSetValueIsClipped() {
        const CliResult r = run_cli({"train", "--set", "aux_weight=" + QString(100000, '9') + "x"}, dir_.path());
        expect_one_line_error(r, "aux_weight");
        QVERIFY2(r.err.size() < 400, qPrintable(r.err.left(500)));
    }
};

QTEST_GUILESS_MAIN(TestCliBadInput)
#include "test_cli_badinput.moc"
