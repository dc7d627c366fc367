#pragma once
// Runs a PyTorch reference script of tests/python on JSON input and returns its
// JSON output. Debian's /usr/bin/python3 is used: python3-torch lives there (a
// pyenv or venv python3 on PATH may lack it). QSKIPs (from the calling test
// function: call it as `QJsonObject out; QVERIFY(run_python_reference(...))`)
// when Python or torch is missing.
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QtTest>

namespace moescope::test {

// Fills `out` and returns true; on a skip or failure returns false after QSKIP/QFAIL-style reporting
// through `why` ("skip: ..." or the script's error).
inline bool run_python_reference(const char* script, const QJsonObject& in, QJsonObject& out, QString& why) {
    QProcess p;
    p.start("/usr/bin/python3", {QStringLiteral(MOESCOPE_SOURCE_DIR "/tests/python/") + script});
    if (!p.waitForStarted(10000)) {
        why = "skip: no /usr/bin/python3";
        return false;
    }
    p.write(QJsonDocument(in).toJson(QJsonDocument::Compact));
    p.closeWriteChannel();
    if (!p.waitForFinished(120000)) {
        why = QStringLiteral("%1 did not finish in 120 s").arg(script);
        return false;
    }
    const QByteArray err = p.readAllStandardError();
    if (p.exitCode() != 0) {
        why = err.contains("No module named") ? "skip: no python3-torch or python3-numpy" : QString::fromUtf8(err);
        return false;
    }
    out = QJsonDocument::fromJson(p.readAllStandardOutput()).object();
    return true;
}

}  // namespace moescope::test

// In a test function: runs the script, QSKIPs when Python or torch is missing, fails on any other error.
#define RUN_PYTHON_REFERENCE(script, in, out)                                 \
    do {                                                                      \
        QString why_;                                                         \
        if (!::moescope::test::run_python_reference(script, in, out, why_)) { \
            if (why_.startsWith("skip: ")) QSKIP(qPrintable(why_.mid(6)));    \
            QFAIL(qPrintable(why_));                                          \
        }                                                                     \
    } while (0)
