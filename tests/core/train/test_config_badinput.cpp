// Configs and knobs against hostile input: non-UTF-8 text (label names
// refused, paths kept byte for byte through JSON and snapshots), numbers beyond
// a double and NaN literals named by file, line and key, script entries of the
// wrong type, 100 KB values echoed clipped, 100 k-entry lesson scripts loading
// in linear time, atomic config saves, and memory estimates that refuse
// settings the machine cannot hold before anything is allocated.
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "io/snapshot.hpp"
#include "train/config.hpp"
#include "train/knobs.hpp"
#include "train/memory_estimate.hpp"

using namespace moescope;
using nlohmann::json;

namespace {

template <class F>
QString error_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return QString::fromStdString(e.what());
    } catch (const std::exception& e) {
        return QStringLiteral("<not a moescope error: %1>").arg(QString::fromStdString(e.what()));
    }
    return QStringLiteral("<nothing thrown>");
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

const std::string kBadPath =
    "data/bad\xff"
    "name\xc3.csv";  // not UTF-8: a lone 0xff and a cut sequence

}  // namespace

class TestConfigBadInput : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    std::string path(const char* name) const { return dir_.filePath(name).toStdString(); }

private slots:
    void labelNamesMustBeUtf8() {
        Config c;
        const QString msg = error_of([&] { knob("label_column").set_text(c, "\xff"); });
        QVERIFY2(msg.contains("knob 'label_column'") && msg.contains("not valid UTF-8"), qPrintable(msg));
        QCOMPARE(c.label_column, std::string("last"));
        knob("label_column").set_text(c, "espèce");  // UTF-8 is fine
    }

    // A path is whatever bytes the file system uses: it round-trips through the
    // config JSON (as {"hex": ...}) and a snapshot, and the JSON stays valid text.
    void pathsMayBeAnyBytes() {
        Config c;
        knob("csv_path").set_text(c, kBadPath);
        const json j = config_to_json(c);
        QVERIFY(j["dataset"]["csv_path"].is_object());
        const std::string text = j.dump();  // would throw on invalid UTF-8
        QCOMPARE(config_from_json(json::parse(text)).csv_path, kBadPath);
        save_config_file(c, path("bytes.json"));
        QCOMPARE(load_config_file(path("bytes.json")).csv_path, kBadPath);
        QCOMPARE(config_from_json(config_to_json(Config{})).csv_path, std::string());  // plain paths stay strings
        QVERIFY(config_to_json(Config{})["dataset"]["csv_path"].is_string());

        Config small = load_preset("default");
        small.batch_tokens = 32;
        small.train_samples = 200;
        small.test_samples = 50;
        small.csv_path = kBadPath;
        small.text_path = "\xfe\xfd";
        Trainer tr(small);
        tr.step();
        save_snapshot(path("bytes.moesnap"), tr.export_state(), nullptr);
        const Snapshot snap = load_snapshot(path("bytes.moesnap"));
        QCOMPARE(snap.state.config.csv_path, kBadPath);
        QCOMPARE(snap.state.config.text_path, std::string("\xfe\xfd"));

        json bad = config_to_json(Config{});
        bad["dataset"]["csv_path"] = {{"hex", "abc"}};
        QVERIFY(error_of([&] { config_from_json(bad); }).contains("even number of lowercase hex digits"));
    }

    void numbersBeyondADoubleNameFileLineAndKey() {
        write_text(path("big.json"), "{\n  \"train\": {\n    \"lr\": 1e400\n  }\n}\n");
        const QString msg = error_of([&] { load_config_file(path("big.json")); });
        QVERIFY2(msg.startsWith(QString::fromStdString(path("big.json"))), qPrintable(msg));
        QVERIFY2(msg.contains("line 3") && msg.contains("1e400") && msg.contains("'lr'"), qPrintable(msg));
        QVERIFY2(!msg.contains("json.exception"), qPrintable(msg));
        for (const char* literal : {"NaN", "Infinity", "-Infinity"}) {
            write_text(path("nan.json"), std::string("{\"train\": {\n\"lr\": ") + literal + "}}");
            const QString m = error_of([&] { load_config_file(path("nan.json")); });
            QVERIFY2(m.contains("line 2") && m.contains("no NaN or Infinity"), qPrintable(m));
        }
    }

    void scriptKnobMustBeAName() {
        json j = config_to_json(load_preset("default"));
        j["script"] = json::array({{{"step", 5}, {"knob", 5}, {"value", "0.1"}}});
        const QString msg = error_of([&] { config_from_json(j); });
        QVERIFY2(msg.contains("script[0]") && msg.contains("knob must be a knob name") && msg.contains("number"),
                 qPrintable(msg));
        j["script"] = json::array({{{"step", 5}, {"knob", "aux_wieght"}, {"value", "0.1"}}});
        QVERIFY(error_of([&] { config_from_json(j); }).contains("'script[0]': unknown knob 'aux_wieght'"));
    }

    void longValuesAreClippedInMessages() {
        Config c;
        const std::string huge(100000, '7');
        for (const char* k : {"aux_weight", "policy", "experts"}) {
            const QString msg = error_of([&] { knob(k).set_text(c, huge + "x"); });
            QVERIFY2(msg.size() < 300 && msg.contains("100001 bytes"), qPrintable(msg.left(400)));
        }
        QVERIFY(error_of([&] { knob(huge); }).size() < 300);
    }

    // 20 k entries took 1.6 s and 40 k 6.1 s (quadratic); linear, 100 k take well under a second.
    void longScriptsLoadInLinearTime() {
        json j = config_to_json(load_preset("default"));
        json script = json::array();
        for (int i = 0; i < 100000; ++i)
            script.push_back({{"step", i}, {"knob", "aux_weight"}, {"value", i % 2 ? "0.01" : "0.02"}});
        j["script"] = script;
        QElapsedTimer t;
        t.start();
        const Config c = config_from_json(j);
        QCOMPARE(c.script.size(), size_t(100000));
        QVERIFY2(t.elapsed() < 10000, qPrintable(QString::number(t.elapsed())));  // 100× margin
    }

    // --save-config over an earlier file: replaced whole or left alone, never truncated.
    void configSavesAreAtomic() {
        const std::string p = path("saved.json");
        save_config_file(load_preset("default"), p);
        const auto before = std::filesystem::file_size(p);
        QVERIFY(before > 100);
        save_config_file(load_preset("collapse"), p);  // replaced by rename: no temp file stays behind
        QCOMPARE(load_config_file(p).name, std::string("collapse"));
        for (const auto& e : std::filesystem::directory_iterator(dir_.path().toStdString()))
            QVERIFY2(e.path().string().find(".tmp-") == std::string::npos, e.path().c_str());
        const std::string fifo = path("fifo.json");
        QCOMPARE(::mkfifo(fifo.c_str(), 0644), 0);
        QVERIFY(error_of([&] { save_config_file(load_preset("default"), fifo); }).contains("not a regular file"));
    }

    void memoryBeyondTheMachineIsRefused() {
        const double physical = physical_memory_bytes();
        QVERIFY(physical > 0);
        Config c = load_preset("default");
        const MemoryEstimate small = estimate_memory(c);
        QVERIFY(small.total() > 0 && small.total() < 1e9);
        QVERIFY(small.parameters > 1000);
        check_memory(c);
        for (auto edit : {+[](Config& x) { x.train_samples = 10000000, x.d_in = 4096; },
                          +[](Config& x) { x.experts = 256, x.d_ff = 32768, x.d_model = 8192; }}) {
            Config big = load_preset("default");
            edit(big);
            QVERIFY(estimate_memory(big).total() > physical);
            const QString msg = error_of([&] { Trainer t(big); });
            QVERIFY2(msg.contains("config needs about") && msg.contains("of memory"), qPrintable(msg));
        }
        // The estimate grows with what it should.
        Config wide = c;
        wide.batch_tokens = c.batch_tokens * 8;
        QVERIFY(estimate_memory(wide).activation_bytes > 2.5 * small.activation_bytes);  // eval and probe stay
    }
};

QTEST_APPLESS_MAIN(TestConfigBadInput)
#include "test_config_badinput.moc"
