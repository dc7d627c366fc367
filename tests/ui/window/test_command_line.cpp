// `moescope --help` and `moescope --version` print and exit 0 on a machine with
// no display at all (no DISPLAY, WAYLAND_DISPLAY or QT_QPA_PLATFORM), where
// creating the window's QApplication would abort: they are answered before it.
#include <QFileInfo>
#include <QProcess>
#include <QtTest>

namespace {

struct Result {
    int code = -1;
    bool crashed = true;
    QString out, err;
};

Result run_without_display(const QStringList& args) {
    const QString exe = QStringLiteral(MOESCOPE_BUILD_DIR) + "/app/moescope";
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const char* var : {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}) env.remove(QString::fromLatin1(var));
    p.setProcessEnvironment(env);
    p.start(exe, args);
    Result r;
    if (!p.waitForStarted(10000) || !p.waitForFinished(30000)) p.kill(), p.waitForFinished(5000);
    r.code = p.exitCode();
    r.crashed = p.exitStatus() != QProcess::NormalExit;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

QString describe(const Result& r) {
    return QStringLiteral("exit %1%2\n--- stdout:\n%3\n--- stderr:\n%4")
        .arg(r.code)
        .arg(r.crashed ? " (crashed)" : "")
        .arg(r.out.left(3000), r.err.left(2000));
}

}  // namespace

class TestCommandLine : public QObject {
    Q_OBJECT

private slots:
    void init() {
        if (!QFileInfo::exists(QStringLiteral(MOESCOPE_BUILD_DIR) + "/app/moescope"))
            QSKIP("the moescope executable is not built");
    }

    void help_works_without_a_display_data() {
        QTest::addColumn<QString>("flag");
        QTest::newRow("--help") << "--help";
        QTest::newRow("-h") << "-h";
    }
    void help_works_without_a_display() {
        QFETCH(QString, flag);
        const Result r = run_without_display({flag});
        QVERIFY2(!r.crashed && r.code == 0, qPrintable(describe(r)));
        QVERIFY2(r.out.contains("Usage: ") && r.out.contains("moescope"), qPrintable(describe(r)));
        for (const char* option : {"--preset", "--config", "--set", "--classroom", "--screenshot", "--version"})
            QVERIFY2(r.out.contains(option), option);
    }

    void version_works_without_a_display() {
        const Result r = run_without_display({"--version"});
        QVERIFY2(!r.crashed && r.code == 0, qPrintable(describe(r)));
        QCOMPARE(r.out.trimmed(), QStringLiteral("moescope " MOESCOPE_PROJECT_VERSION));
    }

    // The other arguments are left alone: --help answers even after a preset.
    void help_after_other_arguments() {
        const Result r = run_without_display({"--preset", "collapse", "--help"});
        QVERIFY2(!r.crashed && r.code == 0 && r.out.contains("Usage: "), qPrintable(describe(r)));
    }
};

QTEST_GUILESS_MAIN(TestCommandLine)
#include "test_command_line.moc"
