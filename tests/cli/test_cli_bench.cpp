// `moescope-cli bench` on the CPU end to end, on a tiny config: the JSON names
// every sgemm library measured and the fastest, and carries the roofline
// ratios; --compare-pytorch reports a skip when the interpreter cannot run
// the baseline, and the ratio to what the baseline printed when it can (a
// stand-in interpreter prints a known line). Never asserts timings.
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

#include "cli_process.hpp"

namespace {

const QStringList kTiny = {"bench",
                           "--json",
                           "--no-scaling",
                           "--steps",
                           "2",
                           "--set",
                           "d_model=16",
                           "--set",
                           "d_ff=32",
                           "--set",
                           "experts=4",
                           "--set",
                           "d_in=8",
                           "--set",
                           "batch_tokens=128",
                           "--set",
                           "train_samples=1000"};

QJsonObject run_json(const QStringList& extra, ProcessResult* r) {
    *r = run_cli(kTiny + extra, 120000);
    return QJsonDocument::fromJson(r->out.trimmed().toUtf8()).object();
}

}  // namespace

class TestCliBench : public QObject {
    Q_OBJECT

private slots:
    void json_carries_the_honest_roofline() {
        ProcessResult r;
        const QJsonObject j = run_json({}, &r);
        QVERIFY2(r.finished && r.code == 0 && !j.isEmpty(), qPrintable(r.describe()));
        const QJsonArray libs = j["sgemm_candidates"].toArray();
        QVERIFY2(!libs.isEmpty(), qPrintable(r.describe()));
        QVERIFY(libs[0].toObject()["used_by_model"].toBool());
        bool best_listed = false;
        for (const auto& v : libs) {
            const QJsonObject lib = v.toObject();
            QVERIFY(!lib["name"].toString().isEmpty() && !lib["kernel"].toString().isEmpty());
            QVERIFY(lib["gflops"].toDouble() > 0);
            best_listed |= j["sgemm_best"].toString() == lib["name"].toString() + " (" + lib["kernel"].toString() + ")";
        }
        QVERIFY2(best_listed, qPrintable(r.describe()));
        QVERIFY(j["model_sgemm"].toString().startsWith(libs[0].toObject()["name"].toString()));
        for (const char* key : {"sgemm_gflops", "model_sgemm_gflops", "gemm_efficiency", "step_efficiency",
                                "roofline_tokens_per_s", "tokens_per_s"})
            QVERIFY2(j[key].toDouble() > 0, key);
        QVERIFY(j["environment"].isObject());
        QVERIFY(j["pytorch"].isNull());  // not asked for
    }

    void compare_pytorch_skips_without_torch() {
        qputenv("MOESCOPE_PYTHON", "/nonexistent/python3");
        ProcessResult r;
        const QJsonObject j = run_json({"--compare-pytorch"}, &r);
        qunsetenv("MOESCOPE_PYTHON");
        QVERIFY2(r.finished && r.code == 0, qPrintable(r.describe()));
        const QString why = j["pytorch"].toObject()["skipped"].toString();
        QVERIFY2(why.contains("/nonexistent/python3"), qPrintable(r.describe()));
    }

    void compare_pytorch_reports_the_ratio() {
        // A stand-in interpreter that prints what the baseline script prints.
        QTemporaryDir dir;
        const QString fake = dir.filePath("python3");
        QFile f(fake);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(
            "#!/bin/sh\necho 'warming up'\necho '{\"torch\": \"fake\", \"torch_threads\": 1, \"blas\": \"FakeBLAS\", "
            "\"blas_kernel\": \"K9\", \"blas_threads\": 2, \"coretype_env\": {}, \"ms_per_step\": 100.0, "
            "\"tokens_per_s\": 1234.5}'\n");
        f.close();
        QVERIFY(f.setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner));
        qputenv("MOESCOPE_PYTHON", fake.toUtf8());
        ProcessResult r;
        const QJsonObject j = run_json({"--compare-pytorch"}, &r);
        const ProcessResult human =
            run_cli({"bench", "--no-scaling", "--steps", "1", "--set", "d_model=16", "--set", "d_ff=32", "--set",
                     "experts=4", "--set", "batch_tokens=128", "--compare-pytorch"},
                    120000);
        qunsetenv("MOESCOPE_PYTHON");
        QVERIFY2(r.finished && r.code == 0, qPrintable(r.describe()));
        const QJsonObject p = j["pytorch"].toObject();
        QCOMPARE(p["blas"].toString(), QString("FakeBLAS"));
        QCOMPARE(p["tokens_per_s"].toDouble(), 1234.5);
        const double ratio = j["tokens_per_s"].toDouble() / 1234.5;
        QVERIFY2(std::abs(p["ratio"].toDouble() - ratio) <= 1e-9 * ratio, qPrintable(r.describe()));
        QVERIFY2(human.code == 0 && human.out.contains("1234 tokens/s") &&
                     human.out.contains("FakeBLAS K9, BLAS threads 2") && human.out.contains("vs PyTorch"),
                 qPrintable(human.describe()));
    }

    // bench --presets: one row per shipped preset, with the engine's thread
    // rule (one thread below 1 GFLOP of expert work per step: every preset but
    // the language model's lm) and all six speeds.
    void presets_table_covers_every_preset() {
        const ProcessResult r = run_cli({"bench", "--presets", "--steps", "1", "--json"}, 300000);
        QCOMPARE(r.code, 0);
        const QJsonObject j = QJsonDocument::fromJson(r.out.trimmed().toUtf8()).object();
        const QJsonArray rows = j["presets"].toArray();
        const ProcessResult list = run_cli({"presets"}, 30000);
        QCOMPARE(rows.size(), list.out.trimmed().split('\n').size());
        for (const auto& v : rows) {
            const QJsonObject row = v.toObject();
            const bool small = row["flops_per_step"].toDouble() < 1e9;
            QVERIFY2(small || row["preset"].toString() == "lm", qPrintable(row["preset"].toString()));
            if (small) QCOMPARE(row["threads"].toInt(), 1);
            QVERIFY(row["threads"].toInt() >= 1);
            for (const char* key : {"idle_tokens_per_s", "idle_one_thread", "idle_all_threads", "busy_tokens_per_s",
                                    "busy_one_thread", "busy_all_threads"})
                QVERIFY2(row[key].toDouble() > 0, key);
        }
    }
};

QTEST_APPLESS_MAIN(TestCliBench)
#include "test_cli_bench.moc"
