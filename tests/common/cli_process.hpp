#pragma once
// Runs a program (moescope-cli by default) for a test and collects its exit
// code and output; a program still running at the deadline is killed.
#include <QProcess>
#include <QString>
#include <QStringList>

struct ProcessResult {
    bool finished = false;
    int code = -1;
    QString out, err;
    QString describe() const {
        return QStringLiteral("exit %1\n--- stdout:\n%2\n--- stderr:\n%3")
            .arg(code)
            .arg(out.right(3000), err.right(3000));
    }
};

inline ProcessResult run_process(const QString& program, const QStringList& args, int timeout_ms = 60000,
                                 const QString& cwd = {}) {
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("OMP_NUM_THREADS"), QStringLiteral("1"));
    p.setProcessEnvironment(env);
    if (!cwd.isEmpty()) p.setWorkingDirectory(cwd);
    p.start(program, args);
    ProcessResult r;
    if (!p.waitForStarted(10000)) return r;
    r.finished = p.waitForFinished(timeout_ms);
    if (!r.finished) {
        p.kill();
        p.waitForFinished(5000);
    }
    r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

inline ProcessResult run_cli(const QStringList& args, int timeout_ms = 60000, const QString& cwd = {}) {
    return run_process(QStringLiteral(MOESCOPE_CLI), args, timeout_ms, cwd);
}
