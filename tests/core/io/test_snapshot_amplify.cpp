// A history-only snapshot cannot make its reader allocate more than its bytes
// justify: a 16 KB file declaring 4096 layers × 65536 experts with an empty
// `latest` step used to expand every missing expert metric to NaN per expert
// (more than 11 GB resident after a minute of `inspect`); now it is one
// DataError at once. A written file with the same shape per byte still loads.
#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "io/snapshot_history.hpp"

using namespace moescope;
using nlohmann::json;

namespace {

// A history-only snapshot by hand: 8-byte header length, header JSON, no tensors.
void write_history_file(const std::string& path, int layers, int experts, const json& latest) {
    const json job = {{"source", "x.jsonl"}, {"format", "moescope router log"},
                      {"framework", ""},     {"model", ""},
                      {"layers", layers},    {"experts", experts},
                      {"top_k", 2},          {"ep", 0},
                      {"ranks", 1},          {"last_step", 0},
                      {"records", 1},        {"bad_lines", 0}};
    const json meta = {{"format", "moescope-snapshot"},
                       {"version", "1"},
                       {"kind", "history"},
                       {"step", "0"},
                       {"job", job.dump()},
                       {"warnings", "[]"},
                       {"latest", latest.dump()}};
    std::string text = json{{"__metadata__", meta}}.dump();
    text.resize((text.size() + 7) / 8 * 8, ' ');
    const uint64_t n = text.size();
    char length[8];
    std::memcpy(length, &n, 8);
    std::ofstream out(path, std::ios::binary);
    out.write(length, 8);
    out << text;
}

json empty_layers() { return {{"step", 0}, {"layers", json::array()}}; }

}  // namespace

class TestSnapshotAmplify : public QObject {
    Q_OBJECT

private slots:
    void declaredShapeBeyondTheFileIsRefused() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("amp.moesnap").toStdString();
        json latest = empty_layers();
        for (int l = 0; l < 5000; ++l) latest["layers"].push_back(json::object());
        write_history_file(path, 5000, 65536, latest);
        std::ifstream in(path, std::ios::binary | std::ios::ate);
        QVERIFY2(in.tellg() > 15000 && in.tellg() < 17000, qPrintable(QString::number(qint64(in.tellg()))));
        try {
            load_history_snapshot(path);
            QFAIL("a 16 KB file declaring 5000 × 65536 experts was read");
        } catch (const DataError& e) {
            QVERIFY2(QString(e.what()).contains("too few for one value per expert of 5000 layers × 65536 experts"),
                     e.what());
        }
    }

    // One value per expert and layer is what a written step holds at least: that still loads.
    void aStepWithItsValuesLoads() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("ok.moesnap").toStdString();
        json latest = empty_layers();
        for (int l = 0; l < 3; ++l) latest["layers"].push_back({{"load", json::array({0.25, 0.25, 0.5, 0.0})}});
        write_history_file(path, 3, 4, latest);
        const SavedHistory h = load_history_snapshot(path);
        QCOMPARE(h.history.latest().layers.size(), size_t(3));
        QCOMPARE(h.history.latest().layers[2].load[2], 0.5);
    }
};

QTEST_GUILESS_MAIN(TestSnapshotAmplify)
#include "test_snapshot_amplify.moc"
