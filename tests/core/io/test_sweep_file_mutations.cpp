// The .moesweep reader against damaged files, structured and random: wrong
// grid sizes (n of 0, 65, 2^32 + 2, a float, a string), NaN cells, missing
// axes, cell counts and runs that disagree with the header, numbers beyond a
// double, hostile strings; then 300 seeded byte and value mutations. Every
// file loads or is refused with one DataError line in the project's words
// (no JSON-library text, no control characters, bounded), and what loads has
// its cells inside its grid. Runs under ASan/UBSan in scripts/test.
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <functional>
#include <random>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "io/sweep_file.hpp"
#include "test_presets.hpp"

using namespace moescope;
using nlohmann::json;

namespace {

std::string text_of(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void write(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

// The refusal of `bytes` as a sweep file ("" when it loads); checks a load's grid and a message's form.
std::string load_error(const std::string& path, const std::string& bytes) {
    write(path, bytes);
    try {
        const SweepResult r = load_sweep(path);
        for (const SweepCell& c : r.cells)
            if (c.ix < 0 || c.ix >= r.spec.x.n || c.iy < 0 || c.iy >= r.spec.y.n ||
                c.runs.size() != size_t(r.spec.seeds))
                return "LOADED A CELL OUTSIDE ITS GRID";
        return "";
    } catch (const DataError& e) {
        const std::string msg = e.what();
        if (!is_utf8(msg) || msg.find("json.exception") != std::string::npos ||
            msg.find("parse error") != std::string::npos || msg.find("last read") != std::string::npos ||
            msg.size() > path.size() + 330 ||
            std::any_of(msg.begin(), msg.end(), [](char ch) { return (unsigned char)ch < 0x20 || ch == 0x7F; }))
            return "UNCLEAN MESSAGE: " + clip_text(msg, 2000);
        return msg;
    } catch (const std::exception& e) {
        return std::string("NOT A DataError: ") + e.what();
    }
}

}  // namespace

class TestSweepFileMutations : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    std::string path_ = dir_.filePath("m.moesweep").toStdString();
    json valid_;

private slots:
    void initTestCase() {
        SweepResult r;
        r.spec = make_sweep_spec(test_presets::tiny(), parse_sweep_axis("aux_weight=1e-3:1:3", true),
                                 parse_sweep_axis("router_lr=1e-3:0.1:2", true), 30, 2);
        for (int iy = 0; iy < 2; ++iy)
            for (int ix = 0; ix < 3; ++ix) {
                SweepCell c{ix, iy, r.spec.x.value(ix), r.spec.y.value(iy), {}};
                for (int s = 0; s < 2; ++s) {
                    SweepRun run{r.spec.base.seed + s, {}};
                    for (double& v : run.values) v = 0.25 * (ix + iy + s);
                    c.runs.push_back(run);
                }
                r.cells.push_back(c);
            }
        valid_ = sweep_to_json(r);
        QCOMPARE(load_error(path_, text_of(valid_)), std::string());
    }

    void structuredCases_data() {
        QTest::addColumn<QString>("pointer");  // JSON pointer to set, remove ("-"), or raw text ("text")
        QTest::addColumn<QString>("value");    // JSON text of the new value; "" removes
        QTest::addColumn<QString>("message");
        QTest::newRow("x.n zero") << "/spec/x/n"
                                  << "0"
                                  << "the number of points must be in [1, 64], got 0";
        QTest::newRow("x.n 65") << "/spec/x/n"
                                << "65"
                                << "the number of points must be in [1, 64], got 65";
        QTest::newRow("x.n 2^32+2") << "/spec/x/n"
                                    << "4294967298"
                                    << "'spec.x.n' is 4294967298, outside [";
        QTest::newRow("y.n 2^64-1") << "/spec/y/n"
                                    << "18446744073709551615"
                                    << "'spec.y.n' is 18446744073709551615, outside [";
        QTest::newRow("x.n float") << "/spec/x/n"
                                   << "2.5"
                                   << "'spec.x.n' must be a whole number";
        QTest::newRow("x.n string") << "/spec/x/n"
                                    << "\"3\""
                                    << "'spec.x.n' must be a whole number";
        QTest::newRow("grid smaller than its cells") << "/spec/x/n"
                                                     << "2"
                                                     << "lies outside the 2×2 grid";
        QTest::newRow("missing x axis") << "/spec/x"
                                        << ""
                                        << "missing key 'spec.x'";
        QTest::newRow("missing y knob") << "/spec/y/knob"
                                        << ""
                                        << "missing key 'spec.y.knob'";
        QTest::newRow("unknown knob") << "/spec/x/knob"
                                      << "\"warp_speed\""
                                      << "warp_speed";
        QTest::newRow("same knob twice") << "/spec/y/knob"
                                         << "\"aux_weight\""
                                         << "aux_weight";
        QTest::newRow("log axis from 0") << "/spec/x/lo"
                                         << "0"
                                         << "lo";
        QTest::newRow("seeds 0") << "/spec/seeds"
                                 << "0"
                                 << "seeds";
        QTest::newRow("seeds 2^40") << "/spec/seeds"
                                    << "1099511627776"
                                    << "'spec.seeds' is 1099511627776, outside [";
        QTest::newRow("fewer runs than seeds") << "/cells/0/runs/1"
                                               << ""
                                               << "runs must hold one run per seed (2)";
        QTest::newRow("wrong seed") << "/cells/0/runs/1/seed"
                                    << "7"
                                    << "seed 7 should be";
        QTest::newRow("cell twice") << "/cells/1/ix"
                                    << "0"
                                    << "cell appears twice";
        QTest::newRow("cell outside") << "/cells/0/iy"
                                      << "5"
                                      << "lies outside the 3×2 grid";
        QTest::newRow("negative ix") << "/cells/0/ix"
                                     << "-1"
                                     << "lies outside";
        QTest::newRow("NaN as a string") << "/cells/0/runs/0/values/0"
                                         << "\"NaN\""
                                         << "values[0] must be a number or null";
        QTest::newRow("values too short") << "/cells/0/runs/0/values/11"
                                          << ""
                                          << "values must hold 12 numbers";
        QTest::newRow("cells an object") << "/cells"
                                         << "{}"
                                         << "'cells' must be an array";
        QTest::newRow("cell a number") << "/cells/0"
                                       << "3"
                                       << "missing key 'cells[0].ix'";
        QTest::newRow("measures reordered") << "/measures/0"
                                            << "\"test_acc\""
                                            << "measure 0 is \"test_acc\"";
        QTest::newRow("format with control bytes") << "/format"
                                                   << "\"moe\\u0007\\u001b[31mscope\""
                                                   << "format is \"moe\\u0007";
        QTest::newRow("version 2") << "/version"
                                   << "2"
                                   << "version 2 is not supported";
        QTest::newRow("literal NaN") << "text"
                                     << "{\"format\": NaN}"
                                     << "not valid JSON";
        QTest::newRow("number beyond double") << "text"
                                              << "{\"format\": 1e999}"
                                              << "a number too large to hold";
        QTest::newRow("invalid UTF-8") << "text"
                                       << "{\"format\": \"\xff\"}"
                                       << "not valid JSON (text that is not UTF-8";
        QTest::newRow("empty") << "text"
                               << ""
                               << "not valid JSON";
    }

    void structuredCases() {
        QFETCH(QString, pointer);
        QFETCH(QString, value);
        QFETCH(QString, message);
        std::string bytes;
        if (pointer == "text") {
            bytes = value.toStdString();
            if (QTest::currentDataTag() == QByteArray("invalid UTF-8")) bytes = "{\"format\": \"\xff\"}";
        } else {
            json j = valid_;
            const json::json_pointer ptr(pointer.toStdString());
            if (value.isEmpty()) {
                j[ptr.parent_pointer()].erase(j[ptr.parent_pointer()].is_array()
                                                  ? j[ptr.parent_pointer()].begin() + std::stol(ptr.back())
                                                  : j[ptr.parent_pointer()].find(ptr.back()));
            } else {
                j[ptr] = json::parse(value.toStdString());
            }
            bytes = text_of(j);
        }
        const std::string msg = load_error(path_, bytes);
        QVERIFY2(msg.find(message.toStdString()) != std::string::npos, msg.c_str());
    }

    void randomMutations() {
        std::mt19937 rng(28);
        const std::string valid = text_of(valid_);
        int refused = 0;
        for (int i = 0; i < 300; ++i) {
            std::string bytes;
            if (i % 2 == 0) {  // bytes
                bytes = valid;
                for (int e = 0, n = 1 + int(rng() % 4); e < n; ++e) {
                    const size_t pos = rng() % bytes.size();
                    switch (rng() % 3) {
                        case 0:
                            bytes[pos] = char(rng() % 256);
                            break;
                        case 1:
                            bytes.insert(pos, 1, char(rng() % 256));
                            break;
                        default:
                            bytes.erase(pos, 1);
                            break;
                    }
                }
            } else {  // one value anywhere
                json j = valid_;
                json* v = &j;
                while ((v->is_object() || v->is_array()) && !v->empty() && rng() % 4 != 0)
                    v = v->is_object() ? &std::next(v->begin(), long(rng() % v->size())).value()
                                       : &(*v)[rng() % v->size()];
                const json choices[] = {json(nullptr),  json(-1),      json(1e308),    json(4294967298ull),
                                        json("x\x01y"), json::array(), json::object(), json(0.5)};
                *v = choices[rng() % 8];
                bytes = text_of(j);
            }
            const std::string msg = load_error(path_, bytes);
            QVERIFY2(msg.rfind("UNCLEAN", 0) != 0 && msg.rfind("NOT A", 0) != 0 && msg.rfind("LOADED", 0) != 0,
                     ("case " + std::to_string(i) + ": " + msg).c_str());
            refused += !msg.empty();
        }
        qInfo("300 mutated sweep files: %d refused with a clean message, %d loaded inside their grid", refused,
              300 - refused);
    }
};

QTEST_APPLESS_MAIN(TestSweepFileMutations)
#include "test_sweep_file_mutations.moc"
