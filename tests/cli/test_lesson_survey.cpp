// scripts/lesson_seeds end to end on the smallest lesson: it runs the lesson
// test program in survey mode on two seeds and two GEMM paths and prints the
// table docs/lesson_seeds.md is made of (every measure per path, every claim
// with the runs it held on); a bad seed list or path is one clear line.
// Skipped without python3.
#include <QFile>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include "cli_process.hpp"

namespace {

const QString kScript = QStringLiteral(MOESCOPE_SOURCE_DIR "/scripts/lesson_seeds");

}  // namespace

class TestLessonSurvey : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        if (QStandardPaths::findExecutable("python3").isEmpty()) QSKIP("no python3 on PATH");
    }

    void survey_prints_measures_and_claims_per_path() {
        QTemporaryDir dir;
        const QString raw = dir.filePath("raw.jsonl");
        const ProcessResult r = run_process("python3",
                                            {kScript, "--build", MOESCOPE_BUILD_DIR, "--lessons", "14", "--seeds",
                                             "1-2", "--paths", "default,eigen", "--raw", raw},
                                            300000);
        QVERIFY2(r.finished && r.code == 0, qPrintable(r.describe()));
        QVERIFY2(r.out.contains("## Lesson 14"), qPrintable(r.out));
        QVERIFY(r.out.contains("| measure | default | eigen | all |"));
        QVERIFY(r.out.contains("`aux_c`"));
        // Each claim counts its runs: 2 seeds × 2 paths.
        QVERIFY2(r.out.contains("| `a.router_entropy > 0.99` | 4/4 |"), qPrintable(r.out));
        QFile f(raw);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray lines = f.readAll();
        QVERIFY(lines.contains("\"path\": \"eigen\""));
        QVERIFY(lines.contains("Eigen"));  // the GEMM that ran, as the engine names it
    }

    void bad_arguments_are_one_line() {
        const ProcessResult seeds = run_process("python3", {kScript, "--seeds", "x"}, 30000);
        QCOMPARE(seeds.code, 1);
        QVERIFY2(seeds.err.contains("--seeds and --lessons take numbers"), qPrintable(seeds.describe()));
        const ProcessResult path = run_process("python3", {kScript, "--paths", "gpu"}, 30000);
        QCOMPARE(path.code, 1);
        QVERIFY2(path.err.contains("unknown path 'gpu'"), qPrintable(path.describe()));
    }
};

QTEST_GUILESS_MAIN(TestLessonSurvey)
#include "test_lesson_survey.moc"
