// moescope-cli watch and export-knobs end to end. A tiny PyTorch MoE
// (tests/python/collapse_job.py, Debian's python3-torch) is made to collapse
// at step 40 while it logs through integrations/python/moescope_log.py;
// `watch` follows the growing file and must raise the collapse warning after
// that step, with the job's own flag as the remedy. Without torch the
// PyTorch case is skipped, not passed.
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cstdio>

#include "cli_process.hpp"

namespace {

const QString kPython = QStringLiteral("/usr/bin/python3");

bool have_torch() { return QFile::exists(kPython) && run_process(kPython, {"-c", "import torch"}, 60000).code == 0; }

QJsonObject last_json_line(const QString& out) {
    const QStringList lines = out.trimmed().split('\n');
    return QJsonDocument::fromJson(lines.isEmpty() ? QByteArray() : lines.last().toUtf8()).object();
}

// A log whose layer 0 collapses onto expert 0 from step `from` on.
void write_collapsing_log(const QString& path, int steps, int from) {
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(R"({"format":"moescope-routerlog","version":1,"experts":4,"layers":1,"top_k":1,"framework":"megatron"})"
            "\n");
    for (int s = 1; s <= steps; ++s)
        f.write(QStringLiteral("{\"step\":%1,\"layer\":0,\"counts\":%2}\n")
                    .arg(s)
                    .arg(s < from ? "[25,25,25,25]" : "[97,1,1,1]")
                    .toUtf8());
}

// A Megatron job, DP 1 × EP 2, 16 experts (8 per rank): healthy, or collapsed onto experts 0 and 1.
void write_megatron_job(const QString& dir, bool collapsed) {
    QDir().mkpath(dir + "/tokens_per_expert");
    for (int rank = 0; rank < 2; ++rank) {
        QFile f(dir + QStringLiteral("/tokens_per_expert/rank%1.jsonl").arg(rank));
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        for (int it = 1; it <= 120; ++it) {
            const bool bad = collapsed && it > 20;
            const char* local = !bad        ? "[[32,32,32,32,32,32,32,32]]"
                                : rank == 0 ? "[[128,128,0,0,0,0,0,0]]"
                                            : "[[0,0,0,0,0,0,0,0]]";
            f.write(QStringLiteral("{\"iter\":%1,\"block\":\"decoder\",\"layer\":0,\"tpe\":%2}\n")
                        .arg(it)
                        .arg(local)
                        .toUtf8());
        }
    }
}

}  // namespace

class TestCliWatch : public QObject {
    Q_OBJECT

private slots:
    void pytorchJobCollapsesAndWatchSaysSoLive() {
        if (!have_torch()) QSKIP("no /usr/bin/python3 with torch (Debian package python3-torch)");
        QTemporaryDir dir;
        const QString log = dir.filePath("router.jsonl");
        QFile(log).open(QIODevice::WriteOnly);  // the watcher starts before the job writes
        QProcess watch;
        watch.start(QStringLiteral(MOESCOPE_CLI), {"watch", log, "--poll-ms", "50", "--every", "1000"});
        QVERIFY(watch.waitForStarted(10000));
        const ProcessResult job = run_process(
            kPython, {QStringLiteral(MOESCOPE_SOURCE_DIR "/tests/python/collapse_job.py"), log, "--sleep", "0.01"},
            300000);
        QVERIFY2(job.code == 0, qPrintable(job.describe()));
        QTest::qWait(1000);  // one more poll reads the last lines
        watch.terminate();   // SIGTERM: the watcher stops, reads to the end and prints its summary
        QVERIFY(watch.waitForFinished(20000));
        const QString out = QString::fromUtf8(watch.readAllStandardOutput());
        QCOMPARE(watch.exitCode(), 0);
        const QJsonObject summary = last_json_line(out);
        QCOMPARE(summary["steps"].toInt(), 120);
        QCOMPARE(summary["bad_lines"].toInt(), 0);
        int collapse_step = -1;
        for (const auto& w : summary["warnings_raised"].toArray())
            if (w.toObject()["id"] == "collapse" && collapse_step < 0)
                collapse_step = w.toObject()["first_step"].toInt();
        // collapse is forced from step 40 on; the monitor needs its streak to confirm it
        QVERIFY2(collapse_step >= 40 && collapse_step <= 110, qPrintable(out));
        QVERIFY2(out.contains("router_aux_loss_coef"), qPrintable(out));  // the job says it is Hugging Face
    }

    // The logger writes a diverging router's NaN as null in one host copy per
    // call; the watch reads every step, counts the non-finite records and
    // raises a critical non_finite warning (it dropped each such step, and
    // check_logits synced once per layer).
    void loggerNaNIsReadCountedAndCritical() {
        if (!have_torch()) QSKIP("no /usr/bin/python3 with torch (Debian package python3-torch)");
        QTemporaryDir dir;
        const QString log = dir.filePath("router.jsonl");
        const ProcessResult job =
            run_process(kPython, {QStringLiteral(MOESCOPE_SOURCE_DIR "/tests/python/logger_checks.py"), log}, 120000);
        QVERIFY2(job.code == 0, qPrintable(job.describe()));
        const ProcessResult r = run_cli({"watch", log, "--once", "--fail-on", "critical"});
        QVERIFY2(r.code == 4 && r.out.contains("critical non_finite"), qPrintable(r.describe()));
        const QJsonObject s = last_json_line(r.out);
        QCOMPARE(s["steps"].toInt(), 6);
        QCOMPARE(s["bad_lines"].toInt(), 0);
        QCOMPARE(s["non_finite_records"].toInt(), 3);
    }

    void onceReadsToTheEndAndFailOnSetsTheExitCode() {
        QTemporaryDir dir;
        const QString log = dir.filePath("job.jsonl");
        write_collapsing_log(log, 120, 40);
        const ProcessResult r = run_cli({"watch", log, "--once", "--fail-on", "warning"});
        QVERIFY2(r.code == 4, qPrintable(r.describe()));
        QVERIFY2(r.out.contains("--moe-aux-loss-coeff"), qPrintable(r.out));  // Megatron's own flag
        const QJsonObject s = last_json_line(r.out);
        QCOMPARE(s["last_step"].toInt(), 120);
        QCOMPARE(s["warnings_active"].toArray().first().toString(), QStringLiteral("collapse"));
        // healthy log: no warning, exit 0 even with --fail-on
        write_collapsing_log(log, 60, 1000);
        const ProcessResult ok = run_cli({"watch", log, "--once", "--fail-on", "critical"});
        QVERIFY2(ok.code == 0, qPrintable(ok.describe()));
    }

    // The README's pipeline line fails on a collapsed job (14 of 16 experts
    // dead: critical) and passes on a healthy one. It exited 0 on both: no
    // watched warning was ever critical.
    void readmePipelineFailsOnACollapsedJob() {
        QTemporaryDir dir;
        write_megatron_job(dir.path(), true);
        const ProcessResult bad = run_cli({"watch", dir.path(), "--ep", "2", "--once", "--fail-on", "critical"});
        QVERIFY2(bad.code == 4, qPrintable(bad.describe()));
        QVERIFY2(bad.out.contains("critical dead_experts") || bad.out.contains("critical collapse"),
                 qPrintable(bad.out));
        QCOMPARE(last_json_line(bad.out)["experts"].toInt(), 16);
        write_megatron_job(dir.path(), false);
        const ProcessResult ok = run_cli({"watch", dir.path(), "--ep", "2", "--once", "--fail-on", "critical"});
        QVERIFY2(ok.code == 0, qPrintable(ok.describe()));
    }

    // A pipeline must not pass on no data: an empty directory, files that are not logs, an empty file.
    void noDataFailsUnderFailOn() {
        QTemporaryDir dir;
        QDir().mkpath(dir.filePath("empty"));
        QDir().mkpath(dir.filePath("other"));
        QFile(dir.filePath("other/notes.txt")).open(QIODevice::WriteOnly);
        QFile(dir.filePath("zero.jsonl")).open(QIODevice::WriteOnly);
        for (const QString& p : {dir.filePath("empty"), dir.filePath("other"), dir.filePath("zero.jsonl")}) {
            const ProcessResult r = run_cli({"watch", p, "--once", "--fail-on", "critical"});
            QVERIFY2(r.code == 4 && r.err.contains("no router records"), qPrintable(p + "\n" + r.describe()));
        }
    }

    // A wrong --ep is said: 3 does not divide 4 ranks; the default 1 on several rank files is a stated assumption.
    void expertParallelSizeIsCheckedAgainstTheRanks() {
        QTemporaryDir dir;
        for (int rank = 0; rank < 4; ++rank) {
            QFile f(dir.filePath(QStringLiteral("rank%1.jsonl").arg(rank)));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(R"({"iter":1,"layer":0,"tpe":[[5,5]]})"
                    "\n");
        }
        const ProcessResult three = run_cli({"watch", dir.path(), "--ep", "3", "--once"});
        QVERIFY2(three.code == 2 && three.err.contains("4 Megatron rank files but expert-parallel size 3"),
                 qPrintable(three.describe()));
        const ProcessResult dflt = run_cli({"watch", dir.path(), "--once"});
        QVERIFY2(dflt.code == 0 && dflt.err.contains("pass --ep"), qPrintable(dflt.describe()));
        const ProcessResult two = run_cli({"watch", dir.path(), "--ep", "2", "--once"});
        QVERIFY2(two.code == 0 && !two.err.contains("--ep"), qPrintable(two.describe()));
        QCOMPARE(last_json_line(two.out)["experts"].toInt(), 4);
    }

    // A log without router entropy has none in the summary (it said 1.0); a
    // path that is not UTF-8 still gives the summary.
    void summaryStatesOnlyWhatTheLogHolds() {
        QTemporaryDir dir;
        const QString log = dir.filePath("job.jsonl");
        write_collapsing_log(log, 5, 1000);
        const ProcessResult r = run_cli({"watch", log, "--once"});
        QVERIFY2(r.code == 0, qPrintable(r.describe()));
        QVERIFY2(last_json_line(r.out)["router_entropy"].isNull(), qPrintable(r.out));
        // the name holds the byte 0xFF (not UTF-8): made and passed through the shell, byte for byte
        const QByteArray odd = QFile::encodeName(dir.path()) + "/x\xff.jsonl";
        QVERIFY(std::rename(QFile::encodeName(log).constData(), odd.constData()) == 0);
        const ProcessResult o = run_process(
            "/bin/sh", {"-c", "exec \"$0\" watch \"$1/x$(printf '\\377').jsonl\" --once", MOESCOPE_CLI, dir.path()});
        std::remove(odd.constData());  // QTemporaryDir cannot name it
        QVERIFY2(o.code == 0 && o.out.contains("\"steps\":5"), qPrintable(o.describe()));
    }

    void badInputIsOneLine() {
        const std::pair<QStringList, QString> cases[] = {
            {{"watch"}, "watch needs a PATH"},
            {{"watch", "/nonexistent/x.jsonl", "--once"}, "no such file or directory"},
            {{"watch", ".", "--ep", "0"}, "--ep expects a whole number"},
            {{"watch", ".", "--fail-on", "sometimes"}, "--fail-on expects warning or critical"},
            {{"watch", ".", "--framework", "jax"}, "unknown framework 'jax'"},
            {{"export-knobs"}, "needs --format"},
            {{"export-knobs", "--format", "keras"}, "unknown framework 'keras'"},
        };
        for (const auto& [args, want] : cases) {
            const ProcessResult r = run_cli(args);
            QVERIFY2(r.code == 2 && r.err.contains(want) && r.err.count('\n') == 1,
                     qPrintable(args.join(' ') + "\n" + r.describe()));
        }
    }

    // export-knobs output parsed the way each framework would (argparse with
    // Megatron's flag names and types, MixtralConfig's strict field types,
    // DeepSpeed MoE's arguments and accepted values; tests/python/framework_parse.py
    // cites the sources), and checked to mean the same as the knobs. The old
    // output failed all three: an aux coefficient not divided by the layers,
    // num_local_experts 8.0, noisy_gate_policy=0.5.
    void exportKnobsParseAsTheFrameworksDo() {
        if (!QFile::exists(kPython)) QSKIP("no /usr/bin/python3");
        const QStringList runs[] = {
            {"experts=8", "top_k=2", "layers=2", "aux_weight=0.05", "z_weight=0", "capacity_factor=0", "lr=0.003",
             "grad_clip=1", "policy=topk", "bias_update_rate=0.001", "noise_std=0.5"},
            {"experts=16", "top_k=1", "layers=4", "aux_weight=0.01", "z_weight=0.001", "capacity_factor=1.25",
             "lr=0.0005", "grad_clip=0.5", "policy=bias_balanced", "bias_update_rate=0.002", "noise_std=0"},
        };
        for (const QStringList& knobs : runs)
            for (const QString format : {"megatron", "hf", "deepspeed"}) {
                QStringList args = {"export-knobs", "--format", format};
                for (const QString& kv : knobs) args << "--set" << kv;
                const ProcessResult out = run_cli(args);
                QVERIFY2(out.code == 0, qPrintable(out.describe()));
                QProcess py;
                py.start(kPython,
                         QStringList{QStringLiteral(MOESCOPE_SOURCE_DIR "/tests/python/framework_parse.py"), format} +
                             knobs);
                QVERIFY(py.waitForStarted(10000));
                py.write(out.out.toUtf8());
                py.closeWriteChannel();
                QVERIFY(py.waitForFinished(60000));
                QVERIFY2(py.exitCode() == 0, qPrintable(format + " " + knobs.join(' ') + "\n" + out.out + "\n" +
                                                        QString::fromUtf8(py.readAllStandardError())));
            }
        // what cannot be exported is said, not dropped
        const ProcessResult meg = run_cli({"export-knobs", "--format", "megatron", "--set", "noise_std=0.5"});
        QVERIFY(meg.out.contains("# router_lr") && meg.out.contains("# noise_std"));
        QVERIFY(!meg.out.contains("--moe-input-jitter-eps 0.5"));
    }

    // docs/integrations.md shows the mapping table exactly as the code has it.
    void docsTableMatchesTheCode() {
        const ProcessResult r = run_cli({"export-knobs", "--table"});
        QCOMPARE(r.code, 0);
        QFile f(QStringLiteral(MOESCOPE_SOURCE_DIR "/docs/integrations.md"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QString doc = QString::fromUtf8(f.readAll());
        const QString begin = "<!-- framework-knobs:begin -->\n", end = "<!-- framework-knobs:end -->";
        const qsizetype a = doc.indexOf(begin), b = doc.indexOf(end);
        QVERIFY(a >= 0 && b > a);
        QCOMPARE(doc.mid(a + begin.size(), b - a - begin.size()), r.out);
    }
};

QTEST_GUILESS_MAIN(TestCliWatch)
#include "test_cli_watch.moc"
