// moescope-cli against hostile file systems and closed pipes: a symlink planted
// at the temp name a save used to use ("<target>.tmp-<pid>") is never followed
// (--snapshot, --save-config); --report DIR and --metrics refuse a symlink,
// FIFO or device where they write, before training; `train … | head` keeps
// the run and its snapshot and says that stdout was closed (exit 5).
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_process.hpp"
#include "io/snapshot.hpp"

extern char** environ;

namespace {

QStringList train(const QStringList& more) {
    return QStringList{"train", "--set", "batch_tokens=64", "--set", "train_samples=500", "--quiet"} + more;
}

QByteArray read(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

void write(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(bytes);
}

void expect_one_line_error(const ProcessResult& r, const QString& needle) {
    QVERIFY2(r.finished && r.code == 2, qPrintable(r.describe()));
    const QStringList lines = r.err.split('\n', Qt::SkipEmptyParts);
    QVERIFY2(lines.size() == 1 && lines[0].startsWith("moescope-cli: error: ") && lines[0].contains(needle),
             qPrintable(r.describe()));
    QVERIFY2(r.out.isEmpty(), qPrintable(r.describe()));  // refused before the first step
}

mode_t kind(const QString& p) {
    struct stat st {};
    return ::lstat(p.toLocal8Bit().constData(), &st) == 0 ? st.st_mode & S_IFMT : 0;
}

}  // namespace

class TestCliSafeIo : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    QString path(const QString& name) const { return dir_.filePath(name); }

private slots:
    // bash's exec keeps the pid, so the links sit at exactly the names the old saves opened.
    void plantedTempLinksAreNotFollowed() {
        write(path("outside"), "keep me");
        const QString cmd = QStringLiteral(
            "ln -s outside s.moesnap.tmp-$$ && ln -s outside c.json.tmp-$$ && "
            "exec \"$0\" train --set batch_tokens=64 --set train_samples=500 --quiet --steps 2 "
            "--snapshot s.moesnap --save-config c.json");
        const ProcessResult r = run_process("bash", {"-c", cmd, QStringLiteral(MOESCOPE_CLI)}, 60000, dir_.path());
        QVERIFY2(r.finished && r.code == 0, qPrintable(r.describe()));
        QCOMPARE(read(path("outside")), QByteArray("keep me"));
        QCOMPARE(moescope::load_snapshot(path("s.moesnap").toStdString()).state.steps, 2L);
        QCOMPARE(kind(path("c.json")), mode_t(S_IFREG));
    }

    void reportRefusesLinksAndSpecialFiles() {
        write(path("outside"), "keep me");
        QVERIFY(QDir(dir_.path()).mkpath("rep1"));
        QVERIFY(QFile::link(path("outside"), path("rep1/report.md")));
        expect_one_line_error(run_cli(train({"--steps", "2", "--report", "rep1"}), 60000, dir_.path()),
                              "'rep1/report.md': it is a symbolic link, not a regular file");
        QCOMPARE(read(path("outside")), QByteArray("keep me"));

        QVERIFY(QDir(dir_.path()).mkpath("rep2"));
        QCOMPARE(::mkfifo(path("rep2/metrics.csv").toLocal8Bit().constData(), 0644), 0);
        expect_one_line_error(run_cli(train({"--steps", "2", "--report", "rep2"}), 60000, dir_.path()),
                              "'rep2/metrics.csv': it is a FIFO (named pipe), not a regular file");
        QCOMPARE(kind(path("rep2/metrics.csv")), mode_t(S_IFIFO));

        QVERIFY(QDir(dir_.path()).mkpath("rep3"));
        if (::mknod(path("rep3/metrics.csv").toLocal8Bit().constData(), S_IFCHR | 0666, makedev(1, 3)) != 0)
            QSKIP("mknod is not permitted here");
        expect_one_line_error(run_cli(train({"--steps", "2", "--report", "rep3"}), 60000, dir_.path()),
                              "'rep3/metrics.csv': it is a device, not a regular file");
        QCOMPARE(kind(path("rep3/metrics.csv")), mode_t(S_IFCHR));
    }

    // A FIFO as --metrics used to wait for a reader forever.
    void metricsRefusesAFifoAndALink() {
        QCOMPARE(::mkfifo(path("m.csv").toLocal8Bit().constData(), 0644), 0);
        expect_one_line_error(run_cli(train({"--steps", "2", "--metrics", "m.csv"}), 30000, dir_.path()),
                              "'m.csv': it is a FIFO (named pipe), not a regular file");
        write(path("outside"), "keep me");
        QVERIFY(QFile::link(path("outside"), path("m.jsonl")));
        expect_one_line_error(run_cli(train({"--steps", "2", "--metrics", "m.jsonl"}), 30000, dir_.path()),
                              "'m.jsonl': it is a symbolic link, not a regular file");
        QCOMPARE(read(path("outside")), QByteArray("keep me"));
    }

    // Two runs save to the same file: the first to finish writes it whole; the
    // second finds another process's file there, keeps it, saves its own run
    // beside it and says so. Ctrl-C ends each run (and saves it) in a set
    // order once both have started, so the outcome does not depend on timing.
    void twoRunsOnOneSnapshot() {
        QProcess a, b;
        for (QProcess* p : {&a, &b}) {
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            env.insert("OMP_NUM_THREADS", "1");
            p->setProcessEnvironment(env);
            p->setWorkingDirectory(dir_.path());
            p->start(QStringLiteral(MOESCOPE_CLI),
                     QStringList{"train", "--set", "batch_tokens=64", "--set", "train_samples=500", "--steps",
                                 "100000000", "--every", "1", "--snapshot", "same.moesnap"});
            QVERIFY(p->waitForStarted(10000));
        }
        // A progress line means the run is past its start, where it noted that no file was there.
        QByteArray out_a, out_b;
        QTRY_VERIFY_WITH_TIMEOUT((out_a += a.readAllStandardOutput()).contains("step ") &&
                                     (out_b += b.readAllStandardOutput()).contains("step "),
                                 60000);
        QVERIFY(!QFile::exists(path("same.moesnap")));
        ::kill(pid_t(a.processId()), SIGINT);
        QVERIFY(a.waitForFinished(60000));
        QCOMPARE(a.exitCode(), 0);
        const long steps_a = moescope::load_snapshot(path("same.moesnap").toStdString()).state.steps;
        ::kill(pid_t(b.processId()), SIGINT);
        QVERIFY(b.waitForFinished(60000));
        const QString err = QString::fromUtf8(b.readAllStandardError());
        QCOMPARE(b.exitCode(), 2);
        const QRegularExpressionMatch m =
            QRegularExpression(
                "another process saved a file there.*was saved to '(same\\.pid[0-9]+\\.moesnap)' instead")
                .match(err);
        QVERIFY2(m.hasMatch() && err.count('\n') == 1, qPrintable(err));
        QCOMPARE(moescope::load_snapshot(path("same.moesnap").toStdString()).state.steps, steps_a);  // kept whole
        QVERIFY(moescope::load_snapshot(path(m.captured(1)).toStdString()).state.steps > 0);
    }

    // stdout is a pipe whose reader is gone before the run starts (what `| head`
    // leaves once head has its lines): 80 progress lines overflow stdio's buffer
    // mid-run, where SIGPIPE used to kill the run before its save.
    void closedPipeKeepsTheRun() {
        int fds[2];
        QCOMPARE(::pipe(fds), 0);
        ::close(fds[0]);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
        const QString err_file = path("stderr.txt");
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_file.toLocal8Bit().constData(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const QByteArray snap = path("piped.moesnap").toLocal8Bit();
        std::vector<QByteArray> args = {MOESCOPE_CLI,        "train",   "--set", "batch_tokens=64", "--set",
                                        "train_samples=500", "--steps", "80",    "--every",         "1",
                                        "--snapshot",        snap};
        std::vector<char*> argv;
        for (QByteArray& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::setenv("OMP_NUM_THREADS", "1", 1);
        pid_t pid = -1;
        QCOMPARE(posix_spawn(&pid, MOESCOPE_CLI, &actions, nullptr, argv.data(), environ), 0);
        posix_spawn_file_actions_destroy(&actions);
        ::close(fds[1]);
        int status = 0;
        QCOMPARE(::waitpid(pid, &status, 0), pid);
        const QString err = QString::fromUtf8(read(err_file));
        QVERIFY2(WIFEXITED(status),
                 qPrintable(QString("killed by signal %1; stderr: %2").arg(WTERMSIG(status)).arg(err)));
        QCOMPARE(WEXITSTATUS(status), 5);
        QVERIFY2(err.contains("standard output was closed") && err.count('\n') == 1, qPrintable(err));
        QCOMPARE(moescope::load_snapshot(snap.toStdString()).state.steps, 80L);
    }
};

QTEST_MAIN(TestCliSafeIo)
#include "test_cli_safe_io.moc"
