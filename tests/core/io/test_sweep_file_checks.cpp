// The .moesweep reader against numbers a cell cannot hold: 1e400 (the window
// used to terminate on the JSON library's exception), counts beyond an int that
// were truncated into other counts (seeds 4294967297 read as 1), and a spec
// whose seeds leave the seed knob's range (base.seed + s overflowed an int).
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "io/sweep_file.hpp"
#include "test_presets.hpp"

using namespace moescope;
using nlohmann::json;

namespace {

SweepResult tiny_result() {
    SweepResult r;
    r.spec = make_sweep_spec(test_presets::tiny(), parse_sweep_axis("aux_weight=0:1:1", false),
                             parse_sweep_axis("router_lr=0.01:0.1:1", false), 5, 1);
    SweepCell c;
    c.x = r.spec.x.value(0), c.y = r.spec.y.value(0);
    SweepRun run;
    run.seed = r.spec.base.seed;
    run.values.fill(0.5);
    c.runs.push_back(run);
    r.cells.push_back(c);
    return r;
}

QString load_error(const std::string& text) {
    QTemporaryDir dir;
    const std::string path = dir.filePath("s.moesweep").toStdString();
    std::ofstream(path) << text;
    try {
        load_sweep(path);
    } catch (const DataError& e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

}  // namespace

class TestSweepFileChecks : public QObject {
    Q_OBJECT

private slots:
    void aNumberBeyondADoubleIsOneMessage() {
        std::string text = sweep_to_json(tiny_result()).dump();
        const auto at = text.find("0.5");
        QVERIFY(at != std::string::npos);
        text.replace(at, 3, "1e400");
        const QString e = load_error(text);
        QVERIFY2(e.contains("s.moesweep': 1e400 is beyond the range of a double"), qPrintable(e));
        QVERIFY2(!e.contains("json.exception"), qPrintable(e));
    }

    void countsAreNotTruncated_data() {
        QTest::addColumn<QString>("pointer");
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("message");
        QTest::newRow("seeds") << "/spec/seeds"
                               << "4294967297"
                               << "'spec.seeds' is 4294967297, outside";
        QTest::newRow("steps") << "/spec/steps"
                               << "10000000000"
                               << "'spec.steps' is 10000000000, outside [1, 1000000]";
        QTest::newRow("n") << "/spec/x/n"
                           << "18446744073709551615"
                           << "'spec.x.n' is 18446744073709551615, outside";
        QTest::newRow("ix") << "/cells/0/ix"
                            << "4294967296"
                            << "'cells[0].ix' is 4294967296, outside";
        QTest::newRow("seed") << "/cells/0/runs/0/seed"
                              << "-9223372036854775808"
                              << "'cells[0].runs[0].seed' is";
    }
    void countsAreNotTruncated() {
        QFETCH(QString, pointer);
        QFETCH(QString, value);
        QFETCH(QString, message);
        json j = sweep_to_json(tiny_result());
        j[json::json_pointer(pointer.toStdString())] = json::parse(value.toStdString());
        const QString e = load_error(j.dump());
        QVERIFY2(e.contains(message), qPrintable(e));
    }

    void seedsStayValidSeeds() {
        SweepResult r = tiny_result();
        r.spec.base.seed = 2147483647;
        r.spec.seeds = 2;
        try {
            r.spec.validate();
            QFAIL("seeds 2147483647 and 2147483648 were accepted");
        } catch (const ConfigError& e) {
            QVERIFY2(QString(e.what()).contains("leave the seed knob's range [0, 2147483647]"), e.what());
        }
        json j = sweep_to_json(tiny_result());
        j["config"]["model"]["seed"] = 2147483647;
        j["spec"]["seeds"] = 2;
        QVERIFY2(load_error(j.dump()).contains("leave the seed knob's range"), qPrintable(load_error(j.dump())));
    }
};

QTEST_GUILESS_MAIN(TestSweepFileChecks)
#include "test_sweep_file_checks.moc"
