// What moescope-cli tells a reader about itself: `COMMAND --help` for every
// command, and `knobs --markdown`, whose table docs/knobs.md holds verbatim
// between its markers, so the page fails this test the moment a knob changes.
#include <QFile>
#include <QProcess>
#include <QtTest>

#include "train/knobs.hpp"

namespace {

struct CliResult {
    int code = -1;
    bool crashed = true;
    QString out, err;
};

CliResult run_cli(const QStringList& args) {
    QProcess p;
    p.start(QStringLiteral(MOESCOPE_CLI), args);
    CliResult r;
    if (!p.waitForStarted(10000) || !p.waitForFinished(30000)) p.kill(), p.waitForFinished(5000);
    r.code = p.exitCode();
    r.crashed = p.exitStatus() != QProcess::NormalExit;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

QString describe(const CliResult& r) {
    return QStringLiteral("exit %1%2\n--- stdout:\n%3\n--- stderr:\n%4")
        .arg(r.code)
        .arg(r.crashed ? " (crashed)" : "")
        .arg(r.out.left(3000), r.err.left(2000));
}

}  // namespace

class TestCliDocs : public QObject {
    Q_OBJECT

private slots:
    void every_command_has_help_data() {
        QTest::addColumn<QString>("command");
        QTest::addColumn<QString>("flag");
        QTest::addColumn<QString>("option");  // one option its help must name ("" when it has none)
        QTest::newRow("train") << "train"
                               << "--help"
                               << "--resume";
        QTest::newRow("train -h") << "train"
                                  << "-h"
                                  << "--snapshot-every";
        QTest::newRow("bench") << "bench"
                               << "--help"
                               << "--no-scaling";
        QTest::newRow("inspect") << "inspect"
                                 << "--help"
                                 << "--json";
        QTest::newRow("presets") << "presets"
                                 << "--help"
                                 << "";
        QTest::newRow("knobs") << "knobs"
                               << "--help"
                               << "--markdown";
    }
    void every_command_has_help() {
        QFETCH(QString, command);
        QFETCH(QString, flag);
        QFETCH(QString, option);
        const CliResult r = run_cli({command, flag});
        QVERIFY2(!r.crashed && r.code == 0, qPrintable(describe(r)));
        QVERIFY2(r.err.isEmpty(), qPrintable(describe(r)));
        QVERIFY2(r.out.startsWith("usage: moescope-cli " + command), qPrintable(describe(r)));
        if (!option.isEmpty()) QVERIFY2(r.out.contains(option), qPrintable(describe(r)));
        // One command's help, not the whole usage.
        QVERIFY2(!r.out.contains("commands:"), qPrintable(describe(r)));
    }

    // --help wins over the other arguments: it never starts a run or reads a file.
    void help_wins_over_other_arguments() {
        const CliResult r = run_cli({"train", "--steps", "100000", "--help"});
        QVERIFY2(!r.crashed && r.code == 0 && r.out.startsWith("usage: moescope-cli train"), qPrintable(describe(r)));
        const CliResult i = run_cli({"inspect", "/nonexistent.moesnap", "-h"});
        QVERIFY2(!i.crashed && i.code == 0 && i.err.isEmpty(), qPrintable(describe(i)));
    }

    void usage_points_at_command_help() {
        const CliResult r = run_cli({"help"});
        QVERIFY2(r.code == 0 && r.out.contains("COMMAND --help"), qPrintable(describe(r)));
        for (const char* c : {"train", "inspect", "presets", "knobs", "bench", "help"})
            QVERIFY2(r.out.contains(QStringLiteral("\n  %1 ").arg(c)), c);
    }

    void knobs_markdown_has_one_row_per_knob() {
        const CliResult r = run_cli({"knobs", "--markdown"});
        QVERIFY2(!r.crashed && r.code == 0 && r.err.isEmpty(), qPrintable(describe(r)));
        const QStringList lines = r.out.split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.value(0), QStringLiteral("| Knob | Section | Kind | Range | Default | Unit | Meaning |"));
        QCOMPARE(lines.size(), int(moescope::knob_table().size()) + 2);  // header, rule, one row each
        for (size_t i = 0; i < moescope::knob_table().size(); ++i) {
            const QString row = lines[int(i) + 2];
            QVERIFY2(row.startsWith(QStringLiteral("| `%1` | ").arg(moescope::knob_table()[i].name.data())),
                     qPrintable(row));
            // 7 columns: 8 unescaped bars (choices a|b|c are written a\|b\|c).
            QCOMPARE(row.count('|') - row.count(QStringLiteral("\\|")), 8);
        }
        QVERIFY2(r.out.contains("| `autosave_every` | run | live | [0, 1e+08] | 0 | steps |"), qPrintable(r.out));
        QVERIFY2(r.out.contains("topk\\|noisy_topk"), qPrintable(r.out));
    }

    // docs/knobs.md holds exactly `moescope-cli knobs --markdown` between its markers.
    void knobs_page_matches_the_table() {
        QFile f(QStringLiteral(MOESCOPE_SOURCE_DIR "/docs/knobs.md"));
        QVERIFY2(f.open(QIODevice::ReadOnly), "docs/knobs.md is missing");
        const QString page = QString::fromUtf8(f.readAll());
        const QString begin = QStringLiteral("<!-- knobs:begin -->\n"), end = QStringLiteral("<!-- knobs:end -->");
        const auto b = page.indexOf(begin), e = page.indexOf(end);
        QVERIFY2(b >= 0 && e > b, "docs/knobs.md needs <!-- knobs:begin --> and <!-- knobs:end --> lines");
        const QString doc = page.mid(b + begin.size(), e - b - begin.size());
        const CliResult r = run_cli({"knobs", "--markdown"});
        QVERIFY2(r.code == 0, qPrintable(describe(r)));
        if (doc == r.out) return;
        const QStringList want = r.out.split('\n'), have = doc.split('\n');
        int i = 0;
        while (i < want.size() && i < have.size() && want[i] == have[i]) ++i;
        QFAIL(qPrintable(QStringLiteral("docs/knobs.md differs from `moescope-cli knobs --markdown` at table line "
                                        "%1:\n  page: %2\n  cli:  %3\nPaste the command's output between the markers.")
                             .arg(i + 1)
                             .arg(have.value(i, "<end>"), want.value(i, "<end>"))));
    }

    void knobs_refuses_other_options() {
        const CliResult r = run_cli({"knobs", "--html"});
        QVERIFY2(!r.crashed && r.code == 2, qPrintable(describe(r)));
        QCOMPARE(
            r.err.trimmed(),
            QStringLiteral("moescope-cli: error: unknown option '--html' for knobs (see 'moescope-cli knobs --help')"));
    }
};

QTEST_GUILESS_MAIN(TestCliDocs)
#include "test_cli_docs.moc"
