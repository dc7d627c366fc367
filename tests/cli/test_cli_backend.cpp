// `--backend auto|cpu|cuda` end to end on the real moescope-cli. Holds for
// every build and machine: without CUDA in the binary, without a usable GPU,
// and with one (with or without a CUDA engine to train on). Train's checks are
// on the shape of the answer (exit status, exactly one line, which stream), the
// words every variant shares and the engine the summary names; bench's on the
// outcome the build and the GPU call for.
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

    // auto says in one line which engine it took and why; the summary names the same engine and reason.
    void auto_trains_and_says_which_engine_and_why() {
        const CliResult r = run_cli({"train", "--backend", "auto", "--steps", "2", "--quiet"}, dir_.path());
        QVERIFY2(r.finished, qPrintable(describe(r)));
        QVERIFY2(r.code == 0, qPrintable(describe(r)));
        const QStringList err = lines_of(r.err);
        QVERIFY2(err.size() == 1, qPrintable(describe(r)));
        QVERIFY2(err[0].startsWith("moescope: using ") && err[0].size() > 30, qPrintable(describe(r)));
        const QStringList out = lines_of(r.out);
        QVERIFY2(!out.isEmpty(), qPrintable(describe(r)));
        const QJsonObject summary = QJsonDocument::fromJson(out.last().toUtf8()).object();
        QVERIFY2(summary.value("steps").toInt() == 2, qPrintable(describe(r)));
        QCOMPARE("moescope: " + summary.value("engine_reason").toString(), err[0]);
        const QString engine = summary.value("engine").toString();
        QVERIFY2(engine == (err[0].startsWith("moescope: using the CPU") ? "cpu" : "cuda"), qPrintable(describe(r)));
    }

    void cpu_trains_without_a_backend_line() {
        const CliResult r = run_cli({"train", "--backend", "cpu", "--steps", "1", "--quiet"}, dir_.path());
        QVERIFY2(r.code == 0, qPrintable(describe(r)));
        QVERIFY2(r.err.isEmpty(), qPrintable(describe(r)));
        const QJsonObject summary = QJsonDocument::fromJson(lines_of(r.out).value(0).toUtf8()).object();
        QCOMPARE(summary.value("engine").toString(), QStringLiteral("cpu"));
        QVERIFY2(summary.value("engine_reason").toString().startsWith("using the CPU"), qPrintable(describe(r)));
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

    // bench --backend cuda: one line naming why on a machine without a usable GPU
    // (or a binary without CUDA); with one, the step against the cuBLAS peak, or the
    // peak and why no step was timed when there is no CUDA engine to train on.
    void bench_cuda_gives_the_outcome_this_machine_calls_for() {
        const CliResult r =
            run_cli({"bench", "--backend", "cuda", "--json", "--steps", "2", "--set", "batch_tokens=256"}, dir_.path());
        QVERIFY2(r.finished, qPrintable(describe(r)));
        if (r.code != 0) {
            QCOMPARE(r.code, 2);
            const QStringList err = lines_of(r.err);
            QVERIFY2(err.size() == 1 && kCudaRefusal.match(err[0]).hasMatch(), qPrintable(describe(r)));
            QVERIFY2(!err[0].contains("not implemented"), qPrintable(describe(r)));  // bench has its GPU path
            if (!MOESCOPE_CUDA_BUILT) QVERIFY2(err[0].contains("not built"), qPrintable(describe(r)));
            QVERIFY2(r.out.isEmpty(), qPrintable(describe(r)));
            return;
        }
        QVERIFY2(MOESCOPE_CUDA_BUILT && r.err.isEmpty(), qPrintable(describe(r)));
        const QJsonObject o = QJsonDocument::fromJson(lines_of(r.out).value(0).toUtf8()).object();
        QCOMPARE(o.value("backend").toString(), QStringLiteral("cuda"));
        QVERIFY2(o.value("sgemm_gflops").toDouble() > 0, qPrintable(describe(r)));
        QVERIFY2(!o.value("device").toString().isEmpty(), qPrintable(describe(r)));
        QCOMPARE(o.value("config").toObject().value("batch_tokens").toInt(), 256);
        if (o.contains("training_step")) {  // no CUDA engine registered: says why
            QVERIFY2(o.value("training_step").toString().startsWith("not timed: "), qPrintable(describe(r)));
            return;
        }
        QCOMPARE(o.value("engine").toString(), QStringLiteral("cuda"));
        QVERIFY2(o.value("tokens_per_s").toDouble() > 0, qPrintable(describe(r)));
        const double share = o.value("sgemm_share").toDouble();
        QVERIFY2(share > 0 && share < 2, qPrintable(describe(r)));
    }

    void gpu_scale_is_for_the_gpu_bench() {
        const CliResult r = run_cli({"bench", "--gpu-scale"}, dir_.path());
        QCOMPARE(r.code, 2);
        QCOMPARE(lines_of(r.err),
                 QStringList{"moescope-cli: error: --gpu-scale sizes the GPU bench: use it with --backend cuda"});
    }
};

QTEST_GUILESS_MAIN(TestCliBackend)
#include "test_cli_backend.moc"
