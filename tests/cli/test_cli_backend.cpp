// `--backend auto|cpu|cuda` end to end on the real moescope-cli. Holds for
// every build and machine: without CUDA in the binary, without a usable GPU,
// and with one (where training on the GPU is not implemented yet). Train's
// checks are on the shape of the answer (exit status, exactly one line, which
// stream) and the words every variant shares; bench's on the exact outcome the
// build and the GPU found by `train --backend auto` call for.
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

namespace {

struct CliResult {
    bool finished = false;
    int code = -1;
    QString out, err;
};

CliResult run_cli(const QStringList& args, const QString& cwd) {
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("OMP_NUM_THREADS"), QStringLiteral("1"));
    p.setProcessEnvironment(env);
    p.setWorkingDirectory(cwd);
    p.start(QStringLiteral(MOESCOPE_CLI), args);
    CliResult r;
    r.finished = p.waitForStarted(10000) && p.waitForFinished(120000);
    if (!r.finished) p.kill(), p.waitForFinished(5000);
    r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

QString describe(const CliResult& r) {
    return QStringLiteral("exit %1\n--- stdout:\n%2\n--- stderr:\n%3")
        .arg(r.code)
        .arg(r.out.right(2000), r.err.right(2000));
}

QStringList lines_of(const QString& text) { return text.split('\n', Qt::SkipEmptyParts); }

// The three reasons --backend cuda can be refused for training, in any build.
const QRegularExpression kCudaRefusal(
    QStringLiteral("^moescope-cli: error: (the CUDA backend is not built in this binary"
                   "|--backend cuda: no usable GPU: \\S|--backend cuda: training on the GPU is not implemented yet)"));

}  // namespace

class TestCliBackend : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;

private slots:
    void initTestCase() { QVERIFY(dir_.isValid()); }

    void cuda_is_refused_with_one_line_naming_the_reason() {
        const CliResult r = run_cli({"train", "--backend", "cuda", "--steps", "1"}, dir_.path());
        QVERIFY2(r.finished, qPrintable(describe(r)));
        QCOMPARE(r.code, 2);
        const QStringList err = lines_of(r.err);
        QVERIFY2(err.size() == 1, qPrintable(describe(r)));
        QVERIFY2(kCudaRefusal.match(err[0]).hasMatch(), qPrintable(describe(r)));
        QVERIFY2(r.out.isEmpty(), qPrintable(describe(r)));  // refused before training starts
    }

    void auto_trains_on_the_cpu_and_says_why() {
        const CliResult r = run_cli({"train", "--backend", "auto", "--steps", "2", "--quiet"}, dir_.path());
        QVERIFY2(r.finished, qPrintable(describe(r)));
        QVERIFY2(r.code == 0, qPrintable(describe(r)));
        const QStringList err = lines_of(r.err);
        QVERIFY2(err.size() == 1, qPrintable(describe(r)));
        QVERIFY2(err[0].startsWith("moescope: using the CPU: ") && err[0].size() > 30, qPrintable(describe(r)));
        const QStringList out = lines_of(r.out);
        QVERIFY2(!out.isEmpty(), qPrintable(describe(r)));
        const QJsonObject summary = QJsonDocument::fromJson(out.last().toUtf8()).object();
        QVERIFY2(summary.value("steps").toInt() == 2, qPrintable(describe(r)));
    }

    void cpu_trains_without_a_backend_line() {
        const CliResult r = run_cli({"train", "--backend", "cpu", "--steps", "1", "--quiet"}, dir_.path());
        QVERIFY2(r.code == 0, qPrintable(describe(r)));
        QVERIFY2(r.err.isEmpty(), qPrintable(describe(r)));
    }

    void unknown_backend_is_a_usage_error_data() {
        QTest::addColumn<QString>("command");
        QTest::newRow("train") << "train";
        QTest::newRow("bench") << "bench";
    }
    void unknown_backend_is_a_usage_error() {
        QFETCH(QString, command);
        const CliResult r = run_cli({command, "--backend", "tpu"}, dir_.path());
        QVERIFY2(r.finished, qPrintable(describe(r)));
        QCOMPARE(r.code, 2);
        const QStringList err = lines_of(r.err);
        QVERIFY2(err.size() == 1, qPrintable(describe(r)));
        QCOMPARE(err[0], QStringLiteral("moescope-cli: error: --backend expects auto, cpu or cuda, got 'tpu'"));
    }

    // bench has a GPU part (cuBLAS sgemm peak). Which outcome is right follows from
    // how the binary was built and from what `train --backend auto` found:
    // not built → one line saying so; no usable GPU → one line with the same
    // reason; a usable GPU → the cuBLAS figures as JSON.
    void bench_cuda_gives_the_outcome_this_machine_calls_for() {
        const CliResult r = run_cli({"bench", "--backend", "cuda", "--json"}, dir_.path());
        QVERIFY2(r.finished, qPrintable(describe(r)));
        if (!MOESCOPE_CUDA_BUILT) {
            QCOMPARE(r.code, 2);
            QCOMPARE(lines_of(r.err), QStringList{"moescope-cli: error: the CUDA backend is not built in this binary "
                                                  "(configure with -DMOESCOPE_CUDA=ON, or use --backend cpu)"});
            QVERIFY2(r.out.isEmpty(), qPrintable(describe(r)));
            return;
        }
        const CliResult probe = run_cli({"train", "--backend", "auto", "--steps", "0", "--quiet"}, dir_.path());
        const QString why = lines_of(probe.err).value(0);
        const QString no_gpu = QStringLiteral("moescope: using the CPU: no usable GPU: ");
        if (why.startsWith(no_gpu)) {
            QCOMPARE(r.code, 2);
            QCOMPARE(lines_of(r.err),
                     QStringList{"moescope-cli: error: --backend cuda: no usable GPU: " + why.mid(no_gpu.size())});
            QVERIFY2(r.out.isEmpty(), qPrintable(describe(r)));
            return;
        }
        QCOMPARE(why, QStringLiteral("moescope: using the CPU: the CUDA training engine is not available yet"));
        QVERIFY2(r.code == 0 && r.err.isEmpty(), qPrintable(describe(r)));
        const QJsonObject o = QJsonDocument::fromJson(lines_of(r.out).value(0).toUtf8()).object();
        QCOMPARE(o.value("backend").toString(), QStringLiteral("cuda"));
        QVERIFY2(o.value("sgemm_gflops").toDouble() > 0, qPrintable(describe(r)));
        QVERIFY2(o.value("sgemm_gflops_4096").toDouble() > 0, qPrintable(describe(r)));
        QVERIFY2(!o.value("device").toString().isEmpty(), qPrintable(describe(r)));
    }
};

QTEST_GUILESS_MAIN(TestCliBackend)
#include "test_cli_backend.moc"
