// moescope-cli end to end: the real binary driven by QProcess. Every bad input
// must end in exactly one "moescope-cli: error: ..." line on stderr and exit
// status 2 (never a crash); the happy paths must list presets and knobs, train
// with a JSON summary as the last line, write CSV/JSONL metrics, save a config
// that loads again, surface the collapse warning with its remedy, and learn a
// user's CSV.
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

namespace {

struct CliResult {
    bool finished = false;
    QProcess::ExitStatus status = QProcess::CrashExit;
    int code = -1;
    QString out, err;
};

// Runs moescope-cli with `args` in `cwd`, killing it after `timeout_ms`.
// One OpenMP thread: these tests check the interface, and spinning OpenMP
// barriers on a loaded 2-core machine can make a tiny run 30× slower.
CliResult run_cli(const QStringList& args, const QString& cwd, int timeout_ms = 60000) {
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("OMP_NUM_THREADS"), QStringLiteral("1"));
    p.setProcessEnvironment(env);
    p.setProgram(QStringLiteral(MOESCOPE_CLI));
    p.setArguments(args);
    p.setWorkingDirectory(cwd);
    p.start();
    CliResult r;
    if (!p.waitForStarted(10000)) {
        r.err = QStringLiteral("<could not start %1>").arg(QStringLiteral(MOESCOPE_CLI));
        return r;
    }
    r.finished = p.waitForFinished(timeout_ms);
    if (!r.finished) {
        p.kill();
        p.waitForFinished(5000);
    }
    r.status = p.exitStatus();
    r.code = p.exitCode();
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

QString describe(const CliResult& r) {
    return QStringLiteral("exit %1 (%2)\n--- stdout:\n%3\n--- stderr:\n%4")
        .arg(r.code)
        .arg(r.status == QProcess::NormalExit ? "normal" : "crash")
        .arg(r.out.right(2000), r.err.right(2000));
}

QStringList lines_of(const QString& text) { return text.split('\n', Qt::SkipEmptyParts); }

// The last stdout line as a JSON object (empty object when it is not one).
QJsonObject summary_of(const CliResult& r) {
    const QStringList lines = lines_of(r.out);
    if (lines.isEmpty()) return {};
    QJsonParseError e;
    const QJsonDocument doc = QJsonDocument::fromJson(lines.last().toUtf8(), &e);
    return e.error == QJsonParseError::NoError && doc.isObject() ? doc.object() : QJsonObject{};
}

bool write_file(const QString& path, const QByteArray& data) {
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(data) == data.size();
}

// 200 rows, three classes around well separated centres in 3-D, deterministic jitter.
QByteArray separable_csv() {
    QByteArray csv = "f1,f2,f3,kind\n";
    const double centres[3][3] = {{0, 0, 0}, {6, 6, 0}, {0, 6, 6}};
    const char* names[3] = {"alpha", "beta", "gamma"};
    unsigned s = 12345;
    auto jitter = [&s] {
        s = s * 1103515245u + 12345u;
        return ((s >> 16) % 2001) / 1000.0 - 1.0;  // [-1, 1]
    };
    for (int i = 0; i < 200; ++i) {
        const int c = i % 3;
        for (int f = 0; f < 3; ++f) csv += QByteArray::number(centres[c][f] + jitter(), 'f', 3) + ",";
        csv += QByteArray(names[c]) + "\n";
    }
    return csv;
}

}  // namespace

class TestCli : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    QString path(const QString& name) const { return dir_.filePath(name); }
    CliResult run(const QStringList& args, int timeout_ms = 60000) const {
        return run_cli(args, dir_.path(), timeout_ms);
    }

private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        QVERIFY2(QFile::exists(QStringLiteral(MOESCOPE_CLI)), MOESCOPE_CLI);
        // Trailing comma on line 4.
        QVERIFY(write_file(path("broken.json"), "{\n  \"model\": {\n    \"experts\": 8,\n  }\n}\n"));
        QByteArray bad_csv = "a,b,label\n1,2,x\n3,4,y\n5,oops,x\n7,8,y\n";  // "oops" on line 4
        QVERIFY(write_file(path("bad.csv"), bad_csv));
        QVERIFY(write_file(path("separable.csv"), separable_csv()));
    }

    // ---- errors: one line on stderr, exit 2, no crash ----
    void errorsAreOneLineAndExit2_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QStringList>("words");
        const QStringList quick = {"--steps", "1", "--set", "batch_tokens=16"};
        QTest::newRow("unknown command") << QStringList{"frobnicate"}
                                         << QStringList{"unknown command", "frobnicate", "train"};
        QTest::newRow("unknown train option")
            << QStringList{"train", "--fast"} << QStringList{"unknown option", "--fast"};
        QTest::newRow("steps not a number") << QStringList{"train", "--steps", "abc"} << QStringList{"--steps", "abc"};
        QTest::newRow("steps negative") << QStringList{"train", "--steps", "-5"} << QStringList{"--steps", "-5"};
        QTest::newRow("steps without value")
            << QStringList{"train", "--steps"} << QStringList{"--steps", "needs a value"};
        QTest::newRow("every zero") << QStringList{"train", "--every", "0"} << QStringList{"--every", "0"};
        QTest::newRow("options for presets") << QStringList{"presets", "--all"} << QStringList{"presets", "--all"};
        QTest::newRow("set without =") << QStringList{"train", "--set", "aux_weight"} + quick
                                       << QStringList{"--set", "KEY=VALUE", "aux_weight"};
        QTest::newRow("set unknown knob") << QStringList{"train", "--set", "aux_wieght=0.1"} + quick
                                          << QStringList{"aux_wieght", "did you mean 'aux_weight'"};
        QTest::newRow("set out of range")
            << QStringList{"train", "--set", "aux_weight=-1"} + quick << QStringList{"aux_weight", "-1", "[0, 10]"};
        QTest::newRow("set top_k above its range")
            << QStringList{"train", "--set", "top_k=9"} + quick << QStringList{"top_k", "9", "[1, 8]"};
        QTest::newRow("set top_k above experts")
            << QStringList{"train", "--set", "top_k=3", "--set", "experts=2"} + quick
            << QStringList{"top_k", "experts", "3", "2"};
        QTest::newRow("set not a number")
            << QStringList{"train", "--set", "lr=fast"} + quick << QStringList{"lr", "fast", "not a number"};
        QTest::newRow("set bad policy") << QStringList{"train", "--set", "policy=best"} + quick
                                        << QStringList{"policy", "best", "expert_choice"};
        QTest::newRow("unknown preset") << QStringList{"train", "--preset", "nope"}
                                        << QStringList{"nope", "default", "collapse", "rescue"};
        QTest::newRow("preset and config") << QStringList{"train", "--preset", "default", "--config", path("x.json")}
                                           << QStringList{"--preset", "--config"};
        QTest::newRow("config missing") << QStringList{"train", "--config", path("missing.json")}
                                        << QStringList{"cannot open", "missing.json"};
        QTest::newRow("config invalid JSON") << QStringList{"train", "--config", path("broken.json")}
                                             << QStringList{"broken.json", "line 4", "invalid JSON"};
        QTest::newRow("metrics extension")
            << QStringList{"train", "--metrics", path("out.txt")} + quick << QStringList{"out.txt", ".csv", ".jsonl"};
        QTest::newRow("metrics unwritable") << QStringList{"train", "--metrics", "/nonexistent/dir/x.csv"} + quick
                                            << QStringList{"cannot write", "/nonexistent/dir/x.csv"};
        QTest::newRow("csv without path")
            << QStringList{"train", "--set", "dataset=csv"} + quick << QStringList{"csv", "csv_path"};
        QTest::newRow("csv bad cell") << QStringList{"train", "--set", "dataset=csv", "--set",
                                                     "csv_path=" + path("bad.csv")} +
                                             quick
                                      << QStringList{"bad.csv", "line 4", "oops", "'b'"};
        QTest::newRow("csv missing file")
            << QStringList{"train", "--set", "dataset=csv", "--set", "csv_path=" + path("none.csv")} + quick
            << QStringList{"cannot open", "none.csv"};
        QTest::newRow("set empty key") << QStringList{"train", "--set", "=3"} + quick << QStringList{"KEY=VALUE", "=3"};
        QTest::newRow("set empty value") << QStringList{"train", "--set", "lr="} + quick
                                         << QStringList{"lr", "not a number"};
        QTest::newRow("steps overflow") << QStringList{"train", "--steps", "99999999999999999999"}
                                        << QStringList{"--steps", "99999999999999999999"};
        QTest::newRow("save-config unwritable")
            << QStringList{"train", "--save-config", "/nonexistent/dir/c.json"} + quick
            << QStringList{"cannot save config", "/nonexistent/dir/c.json", "does not exist"};
    }
    void errorsAreOneLineAndExit2() {
        QFETCH(QStringList, args);
        QFETCH(QStringList, words);
        const CliResult r = run(args, 20000);
        QVERIFY2(r.finished, qPrintable(describe(r)));
        QVERIFY2(r.status == QProcess::NormalExit, qPrintable(describe(r)));
        QVERIFY2(r.code == 2, qPrintable(describe(r)));
        const QString err = r.err.trimmed();
        QVERIFY2(!err.contains('\n'), qPrintable("stderr is not one line:\n" + r.err));
        QVERIFY2(err.startsWith("moescope-cli: error: "), qPrintable(r.err));
        for (const auto& w : words) QVERIFY2(err.contains(w), qPrintable("missing '" + w + "' in: " + err));
    }

    void noArgumentsPrintsUsageAndExits2() {
        const CliResult r = run({});
        QVERIFY2(r.finished && r.status == QProcess::NormalExit, qPrintable(describe(r)));
        QCOMPARE(r.code, 2);
        QVERIFY2((r.out + r.err).contains("usage: moescope-cli"), qPrintable(describe(r)));
    }

    void helpExits0() {
        const CliResult r = run({"help"});
        QVERIFY2(r.finished && r.status == QProcess::NormalExit, qPrintable(describe(r)));
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.contains("usage: moescope-cli"), qPrintable(describe(r)));
        for (const char* w : {"train", "presets", "knobs", "--preset", "--config", "--set", "--steps", "--metrics",
                              "--every", "--quiet", "--save-config"})
            QVERIFY2(r.out.contains(w), w);
        QVERIFY(r.err.isEmpty());
    }

    // ---- happy paths ----
    void presetsListed() {
        const CliResult r = run({"presets"});
        QVERIFY2(r.finished && r.status == QProcess::NormalExit && r.code == 0, qPrintable(describe(r)));
        for (const char* name : {"default", "collapse", "rescue"}) {
            const QRegularExpression line(QStringLiteral("^%1\\s+\\S").arg(name), QRegularExpression::MultilineOption);
            QVERIFY2(line.match(r.out).hasMatch(), qPrintable(QString(name) + " not listed:\n" + r.out));
        }
    }

    void knobsListed() {
        const CliResult r = run({"knobs"});
        QVERIFY2(r.finished && r.status == QProcess::NormalExit && r.code == 0, qPrintable(describe(r)));
        const QRegularExpression aux("^\\s+aux_weight\\s+live\\s.*default 0\\.01.*\\[0, 10\\]",
                                     QRegularExpression::MultilineOption);
        const QRegularExpression experts("^\\s+experts\\s+structural\\s.*default 8.*\\[1, 256\\]",
                                         QRegularExpression::MultilineOption);
        QVERIFY2(aux.match(r.out).hasMatch(), qPrintable(r.out));
        QVERIFY2(experts.match(r.out).hasMatch(), qPrintable(r.out));
        for (const char* section : {"[model]", "[train]", "[dataset]", "[monitor]"})
            QVERIFY2(r.out.contains(section), section);
    }

    // One run checks the summary, the CSV log and --save-config; a second run from
    // the saved config checks JSONL and that the saved config reproduces the run.
    void trainWritesSummaryMetricsAndConfig() {
        const QString csv = path("m.csv"), jsonl = path("m.jsonl"), saved = path("saved.json");
        const CliResult a = run({"train", "--preset", "default", "--steps", "30", "--quiet", "--set",
                                 "batch_tokens=128", "--metrics", csv, "--save-config", saved});
        QVERIFY2(a.finished && a.status == QProcess::NormalExit && a.code == 0, qPrintable(describe(a)));
        QVERIFY2(a.err.isEmpty(), qPrintable(a.err));

        const QJsonObject s = summary_of(a);
        QVERIFY2(!s.isEmpty(), qPrintable("last line is not JSON:\n" + a.out));
        QCOMPARE(s.value("steps").toInt(-1), 30);
        QCOMPARE(s.value("preset").toString(), QString("default"));
        for (const char* key :
             {"train_acc", "test_acc", "load_entropy", "router_entropy", "max_util", "tokens_per_s"}) {
            QVERIFY2(s.value(key).isDouble(), key);
            QVERIFY2(std::isfinite(s.value(key).toDouble()), key);
        }
        QVERIFY(s.value("warnings_raised").isArray());
        QCOMPARE(s.value("halted").toBool(true), false);
        const double load_h = s.value("load_entropy").toDouble();
        QVERIFY2(load_h > 0 && load_h <= 1, qPrintable(QString::number(load_h)));
        QVERIFY(s.value("tokens_per_s").toDouble() > 0);

        // CSV: header + one row per step per layer (default preset: 2 layers).
        QFile f(csv);
        QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(csv));
        const QStringList rows = lines_of(QString::fromUtf8(f.readAll()));
        QCOMPARE(rows.size(), 1 + 2 * 30);
        const QStringList header = rows[0].split(',');
        QCOMPARE(header.value(0), QString("step"));
        QCOMPARE(header.value(1), QString("layer"));
        QVERIFY(header.contains("load_0"));
        QVERIFY(header.contains("load_7"));
        QVERIFY(!header.contains("load_8"));
        QVERIFY(header.contains("load_entropy"));
        for (int i = 1; i < rows.size(); ++i) {
            const QStringList cells = rows[i].split(',');
            QVERIFY2(cells.size() == header.size(), qPrintable(rows[i]));
            QCOMPARE(cells[0].toInt(), (i - 1) / 2 + 1);
            QCOMPARE(cells[1].toInt(), (i - 1) % 2);
        }

        // The saved config is valid JSON carrying the --set override, and --config accepts it.
        QFile cf(saved);
        QVERIFY2(cf.open(QIODevice::ReadOnly), qPrintable(saved));
        const QJsonObject cfg = QJsonDocument::fromJson(cf.readAll()).object();
        QCOMPARE(cfg.value("model").toObject().value("batch_tokens").toInt(), 128);
        QCOMPARE(cfg.value("name").toString(), QString("default"));

        const CliResult b = run({"train", "--config", saved, "--steps", "30", "--quiet", "--metrics", jsonl});
        QVERIFY2(b.finished && b.status == QProcess::NormalExit && b.code == 0, qPrintable(describe(b)));
        const QJsonObject sb = summary_of(b);
        QCOMPARE(sb.value("steps").toInt(-1), 30);
        QCOMPARE(sb.value("preset").toString(), QString("default"));
        // Same config and seed: the same run.
        QCOMPARE(sb.value("loss").toDouble(), s.value("loss").toDouble());
        QCOMPARE(sb.value("test_acc").toDouble(), s.value("test_acc").toDouble());

        // JSONL: one valid object per step, each with a 2-layer array.
        QFile jf(jsonl);
        QVERIFY2(jf.open(QIODevice::ReadOnly), qPrintable(jsonl));
        const QStringList jl = lines_of(QString::fromUtf8(jf.readAll()));
        QCOMPARE(jl.size(), 30);
        for (int i = 0; i < jl.size(); ++i) {
            QJsonParseError e;
            const QJsonDocument d = QJsonDocument::fromJson(jl[i].toUtf8(), &e);
            QVERIFY2(e.error == QJsonParseError::NoError && d.isObject(), qPrintable(jl[i].left(200)));
            QCOMPARE(d.object().value("step").toInt(), i + 1);
            QVERIFY(d.object().value("layers").isArray());
            QCOMPARE(d.object().value("layers").toArray().size(), 2);
            QCOMPARE(d.object().value("layers").toArray()[0].toObject().value("load").toArray().size(), 8);
        }
    }

    void collapsePresetWarnsWithRemedy() {
        const CliResult r = run({"train", "--preset", "collapse", "--steps", "120", "--every", "40"});
        QVERIFY2(r.finished && r.status == QProcess::NormalExit && r.code == 0, qPrintable(describe(r)));
        const QStringList lines = lines_of(r.out);
        bool warned_with_remedy = false;
        for (int i = 0; i + 1 < lines.size() && !warned_with_remedy; ++i)
            warned_with_remedy = lines[i].contains(QRegularExpression("warning collapse\\b")) &&
                                 lines[i + 1].contains("remedy") && lines[i + 1].contains("--set aux_weight=");
        QVERIFY2(warned_with_remedy, qPrintable(r.out));
        // --every 40: exactly three progress lines.
        QCOMPARE(lines.filter(QRegularExpression("^step \\d+/120 ")).size(), 3);
        QVERIFY(lines.filter(QRegularExpression("^step 120/120 ")).size() == 1);

        const QJsonObject s = summary_of(r);
        bool collapse_in_summary = false;
        for (const auto& w : s.value("warnings_raised").toArray())
            collapse_in_summary =
                collapse_in_summary || (w.toObject().value("id").toString() == "collapse" &&
                                        w.toObject().value("remedy").toString().contains("aux_weight"));
        QVERIFY2(collapse_in_summary, qPrintable(lines.value(lines.size() - 1)));
        QVERIFY(s.value("load_entropy").toDouble() < 0.75);
    }

    void trainsOnAUserCsv() {
        const CliResult r = run({"train", "--set", "dataset=csv", "--set", "csv_path=" + path("separable.csv"),
                                 "--steps", "150", "--quiet", "--set", "batch_tokens=128"});
        QVERIFY2(r.finished && r.status == QProcess::NormalExit && r.code == 0, qPrintable(describe(r)));
        const QJsonObject s = summary_of(r);
        QVERIFY2(!s.isEmpty(), qPrintable(r.out));
        QCOMPARE(s.value("steps").toInt(-1), 150);
        QVERIFY2(s.value("test_acc").toDouble() > 0.8, qPrintable(lines_of(r.out).last()));
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
