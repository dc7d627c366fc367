// `moescope-cli train --report DIR`: the core report after a CLI run, the same
// files the window writes (less the plot images); DIR is created when missing,
// and a DIR that is a file is refused before any training.
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

namespace {

struct Result {
    int code = -1;
    QString out, err;
};

Result run_cli(const QStringList& args) {
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("OMP_NUM_THREADS"), QStringLiteral("1"));
    p.setProcessEnvironment(env);
    p.start(QStringLiteral(MOESCOPE_CLI), args);
    if (!p.waitForFinished(120000)) p.kill(), p.waitForFinished(5000);
    return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
}

QString read(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

}  // namespace

class TestCliReport : public QObject {
    Q_OBJECT

private slots:
    void trainWritesTheReport() {
        QTemporaryDir tmp;
        const QString dir = tmp.filePath("reports/first");
        const Result r = run_cli({"train", "--preset", "default", "--steps", "12", "--quiet", "--set",
                                  "batch_tokens=32", "--set", "aux_weight=0.05", "--report", dir});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(QFile::exists(dir + "/config.json"));
        const QStringList rows = read(dir + "/metrics.csv").split('\n', Qt::SkipEmptyParts);
        QVERIFY2(rows.size() > 12, qPrintable(QString::number(rows.size())));  // header + 12 steps × layers
        QVERIFY(rows[0].startsWith("step,layer"));
        const QString md = read(dir + "/report.md");
        QVERIFY(md.startsWith("# moescope report: default"));
        QVERIFY2(md.contains("at step 12"), qPrintable(md));
        QVERIFY(md.contains("| layer | load entropy |"));
        QVERIFY(md.contains("## Knob changes"));
    }

    void aFileInTheWayIsRefusedBeforeTraining() {
        QTemporaryDir tmp;
        const QString file = tmp.filePath("taken");
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("x");
        f.close();
        const Result r = run_cli({"train", "--steps", "100000", "--quiet", "--report", file});
        QCOMPARE(r.code, 2);
        QCOMPARE(r.err.count('\n'), 1);
        QVERIFY2(r.err.contains("moescope-cli: error:") && r.err.contains(file) && r.err.contains("not a folder"),
                 qPrintable(r.err));
        QVERIFY(r.out.isEmpty());  // refused before the first step: no summary
        QCOMPARE(read(file), QString("x"));
    }
};

QTEST_MAIN(TestCliReport)
#include "test_cli_report.moc"
