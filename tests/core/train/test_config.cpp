// The knob table and the run config: table integrity (names, ranges, defaults,
// live vs structural), text round trips, JSON round trips of every preset, one
// clear ConfigError per kind of bad config, capacity arithmetic, presets, and
// Trainer::request_knob (refusals, deferred application, intervention log,
// scripted lesson changes).
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "train/config.hpp"
#include "train/knobs.hpp"
#include "train/trainer.hpp"

using namespace moescope;
using nlohmann::json;

namespace {

// The message of the ConfigError that `f` throws; fails the test when it throws nothing or something else.
template <class F>
QString config_error_of(F&& f) {
    try {
        f();
    } catch (const ConfigError& e) {
        return QString::fromStdString(e.what());
    } catch (const std::exception& e) {
        return QStringLiteral("<not a ConfigError: %1>").arg(QString::fromStdString(e.what()));
    }
    return QStringLiteral("<nothing thrown>");
}

// Every word of `words` must occur in `msg`; returns the first missing one (empty when all occur).
QString first_missing(const QString& msg, const QStringList& words) {
    for (const auto& w : words)
        if (!msg.contains(w)) return w;
    return {};
}

// A Trainer-sized config that builds and steps in milliseconds.
Config tiny_config() {
    Config c = load_preset("default");
    c.batch_tokens = 64;
    c.train_samples = 500;
    c.test_samples = 100;
    c.d_model = 16;
    c.d_ff = 32;
    c.eval_every = 0;
    c.probe_every = 0;
    return c;
}

const std::vector<std::string> kLiveKnobs = {
    "aux_weight",     "router_lr",        "noise_std",        "z_weight",  "importance_weight",
    "entropy_weight", "capacity_factor",  "router_grad_clip", "grad_clip", "lr",
    "weight_decay",   "bias_update_rate", "temperature"};
const std::vector<std::string> kStructuralKnobs = {"experts", "top_k",           "layers",  "d_model",      "d_ff",
                                                   "policy",  "router_init_std", "dataset", "batch_tokens", "seed"};

}  // namespace

class TestConfig : public QObject {
    Q_OBJECT

private slots:
    // ---- knob table ----
    void knobNamesAreUnique() {
        std::set<std::string_view> seen;
        for (const auto& k : knob_table()) QVERIFY2(seen.insert(k.name).second, std::string(k.name).c_str());
        QVERIFY(knob_table().size() >= kLiveKnobs.size() + kStructuralKnobs.size());
    }

    void knobDefaultsLieInTheirRanges() {
        const Config defaults;
        for (const auto& k : knob_table()) {
            const std::string name(k.name);
            QVERIFY2(k.section == "model" || k.section == "train" || k.section == "dataset" || k.section == "monitor" ||
                         k.section == "run",
                     name.c_str());
            if (!k.choices.empty()) {
                QVERIFY2(k.is_text(), name.c_str());
                bool found = false;
                for (auto ch : k.choices) found = found || ch == k.get_text(defaults);
                QVERIFY2(found, (name + " default '" + k.get_text(defaults) + "' is not a choice").c_str());
            } else if (!k.is_text()) {
                QVERIFY2(k.min <= k.max, name.c_str());
                const double v = k.get_number(defaults);
                QVERIFY2(v >= k.min && v <= k.max,
                         (name + " default " + k.default_text() + " outside " + k.range_text()).c_str());
            }
            QCOMPARE(k.default_text(), k.get_text(defaults));
        }
    }

    void everyKnobHasHelp() {
        for (const auto& k : knob_table()) QVERIFY2(!k.help.empty(), std::string(k.name).c_str());
    }

    void liveKnobsExistAndAreLive() {
        for (const auto& n : kLiveKnobs) {
            const KnobDef* k = find_knob(n);
            QVERIFY2(k != nullptr, n.c_str());
            QVERIFY2(k->kind == KnobKind::Live, n.c_str());
            QVERIFY2(k->section == "train", n.c_str());
        }
    }

    void structuralKnobsExistAndAreStructural() {
        for (const auto& n : kStructuralKnobs) {
            const KnobDef* k = find_knob(n);
            QVERIFY2(k != nullptr, n.c_str());
            QVERIFY2(k->kind == KnobKind::Structural, n.c_str());
        }
    }

    // ---- knob text ----
    void setTextRoundTrips_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("expected");
        QTest::newRow("real") << "aux_weight"
                              << "0.1"
                              << "0.1";
        QTest::newRow("exponent") << "lr"
                                  << "3e-4"
                                  << "0.0003";
        QTest::newRow("plus sign") << "router_lr"
                                   << "+0.02"
                                   << "0.02";
        QTest::newRow("range min") << "temperature"
                                   << "0.05"
                                   << "0.05";
        QTest::newRow("range max") << "aux_weight"
                                   << "10"
                                   << "10";
        QTest::newRow("negative") << "entropy_weight"
                                  << "-0.25"
                                  << "-0.25";
        QTest::newRow("int") << "experts"
                             << "16"
                             << "16";
        QTest::newRow("int as 1e1") << "layers"
                                    << "1e1"
                                    << "10";
        QTest::newRow("choice") << "policy"
                                << "expert_choice"
                                << "expert_choice";
        QTest::newRow("free text") << "csv_path"
                                   << "/tmp/a b.csv"
                                   << "/tmp/a b.csv";
    }
    void setTextRoundTrips() {
        QFETCH(QString, name);
        QFETCH(QString, text);
        QFETCH(QString, expected);
        Config c;
        const KnobDef& k = knob(name.toStdString());
        k.set_text(c, text.toStdString());
        if (k.is_text())
            QCOMPARE(QString::fromStdString(k.get_text(c)), expected);
        else
            QCOMPARE(k.get_number(c), expected.toDouble());  // the text form is the shortest round-trip one
        // get_text output is accepted back unchanged.
        Config d;
        k.set_text(d, k.get_text(c));
        QCOMPARE(k.get_text(d), k.get_text(c));
    }

    void everyKnobAcceptsItsOwnText() {
        Config c = load_preset("collapse");
        for (const auto& k : knob_table()) {
            const std::string before = k.get_text(c);
            Config d;
            k.set_text(d, before);
            QCOMPARE(k.get_text(d), before);
        }
    }

    void setTextRejects_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("text");
        QTest::addColumn<QStringList>("words");
        QTest::newRow("below range") << "aux_weight"
                                     << "-1" << QStringList{"aux_weight", "-1", "[0, 10]"};
        QTest::newRow("above range") << "lr"
                                     << "2" << QStringList{"lr", "[0, 1]"};
        QTest::newRow("not a number") << "lr"
                                      << "abc" << QStringList{"lr", "abc", "not a number"};
        QTest::newRow("trailing junk") << "lr"
                                       << "0.1x" << QStringList{"lr", "0.1x"};
        QTest::newRow("empty") << "lr"
                               << "" << QStringList{"lr", "not a number"};
        QTest::newRow("nan") << "noise_std"
                             << "nan" << QStringList{"noise_std", "finite"};
        QTest::newRow("fraction for int") << "experts"
                                          << "2.5" << QStringList{"experts", "2.5", "whole number"};
        QTest::newRow("bad choice") << "policy"
                                    << "best"
                                    << QStringList{"policy", "best",
                                                   "topk|noisy_topk|expert_choice|bias_balanced|hash|random"};
    }
    void setTextRejects() {
        QFETCH(QString, name);
        QFETCH(QString, text);
        QFETCH(QStringList, words);
        Config c;
        const KnobDef& k = knob(name.toStdString());
        const std::string before = k.get_text(c);
        const QString msg = config_error_of([&] { k.set_text(c, text.toStdString()); });
        QVERIFY2(first_missing(msg, words).isEmpty(), qPrintable(msg));
        QCOMPARE(k.get_text(c), before);  // left unchanged
    }

    void findKnobHonoursSections() {
        const KnobDef* k = find_knob("train.aux_weight");
        QVERIFY(k != nullptr);
        QCOMPARE(k->name, std::string_view("aux_weight"));
        QCOMPARE(find_knob("aux_weight"), k);
        QVERIFY(find_knob("model.aux_weight") == nullptr);
        QVERIFY(find_knob("model.experts") != nullptr);
        QVERIFY(find_knob("no_such_knob") == nullptr);
    }

    void unknownKnobSuggestsClosest() {
        const QString msg = config_error_of([] { knob("aux_wieght"); });
        QVERIFY2(msg.contains("'aux_wieght'"), qPrintable(msg));
        QVERIFY2(msg.contains("did you mean 'aux_weight'"), qPrintable(msg));
        // Far from every name: no misleading suggestion.
        const QString far = config_error_of([] { knob("zzzzzzzzzzzzzz"); });
        QVERIFY2(far.contains("unknown knob") && !far.contains("did you mean"), qPrintable(far));
    }

    // ---- config JSON ----
    void presetsRoundTripThroughJson_data() {
        QTest::addColumn<QString>("preset");
        for (const auto& n : preset_names()) QTest::newRow(n.c_str()) << QString::fromStdString(n);
    }
    void presetsRoundTripThroughJson() {
        QFETCH(QString, preset);
        const Config c = load_preset(preset.toStdString());
        QCOMPARE(QString::fromStdString(c.name), preset);
        QVERIFY(!c.description.empty());
        const json j = config_to_json(c);
        const json back = config_to_json(config_from_json(j));
        QVERIFY2(back == j, (j.dump() + "\n!=\n" + back.dump()).c_str());
        // Every knob is written, in its section.
        for (const auto& k : knob_table())
            QVERIFY2(j.at(std::string(k.section)).contains(std::string(k.name)), std::string(k.name).c_str());
    }

    void scriptRoundTripsThroughJson() {
        Config c = load_preset("default");
        c.script = {{50, "aux_weight", "0.1"}, {120, "router_lr", "0.0001"}};
        const json j = config_to_json(c);
        const Config back = config_from_json(j);
        QCOMPARE(back.script.size(), size_t(2));
        QCOMPARE(back.script[1].step, 120L);
        QCOMPARE(back.script[1].knob, std::string("router_lr"));
        QCOMPARE(back.script[1].value, std::string("0.0001"));
        QVERIFY(config_to_json(back) == j);
    }

    void fileRoundTrip() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string path = dir.filePath("run.json").toStdString();
        Config c = load_preset("rescue");
        c.aux_weight = 0.25;
        c.policy = "noisy_topk";
        save_config_file(c, path);
        const Config back = load_config_file(path);
        QCOMPARE(back.aux_weight, 0.25);
        QCOMPARE(back.policy, std::string("noisy_topk"));
        QVERIFY(config_to_json(back) == config_to_json(c));
    }

    void badConfigsAreRefused_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QStringList>("words");
        QTest::newRow("top_k > experts") << R"({"model": {"experts": 2, "top_k": 3}})"
                                         << QStringList{"top_k", "experts", "3", "2"};
        QTest::newRow("negative lr") << R"({"train": {"lr": -0.1}})" << QStringList{"lr", "[0, 1]"};
        QTest::newRow("aux_weight too big")
            << R"({"train": {"aux_weight": 11}})" << QStringList{"train.aux_weight", "[0, 10]"};
        QTest::newRow("unknown key in section")
            << R"({"train": {"learning_rate": 0.1}})" << QStringList{"train.learning_rate", "unknown"};
        QTest::newRow("knob in wrong section")
            << R"({"model": {"aux_weight": 0.1}})" << QStringList{"model.aux_weight", "train"};
        QTest::newRow("unknown top-level key") << R"({"modle": {"experts": 4}})" << QStringList{"modle", "unknown"};
        QTest::newRow("section not an object") << R"({"model": 3})" << QStringList{"model", "object"};
        QTest::newRow("string for number")
            << R"({"train": {"lr": "0.1"}})" << QStringList{"train.lr", "number", "string"};
        QTest::newRow("number for policy")
            << R"({"model": {"policy": 3}})" << QStringList{"model.policy", "string", "number"};
        QTest::newRow("unknown policy") << R"({"model": {"policy": "best"}})"
                                        << QStringList{"policy",        "best",          "topk", "noisy_topk",
                                                       "expert_choice", "bias_balanced", "hash", "random"};
        QTest::newRow("non-integer int") << R"({"model": {"experts": 2.5}})"
                                         << QStringList{"experts", "2.5", "whole number"};
        QTest::newRow("csv without path") << R"({"dataset": {"dataset": "csv"}})" << QStringList{"csv", "csv_path"};
        QTest::newRow("script structural") << R"({"script": [{"step": 5, "knob": "experts", "value": 4}]})"
                                           << QStringList{"script[0]", "experts", "structural"};
        QTest::newRow("script out of range") << R"({"script": [{"step": 5, "knob": "aux_weight", "value": -1}]})"
                                             << QStringList{"aux_weight", "-1", "[0, 10]"};
        QTest::newRow("script unknown knob") << R"({"script": [{"step": 5, "knob": "aux_wieght", "value": 1}]})"
                                             << QStringList{"aux_wieght", "aux_weight"};
        QTest::newRow("script negative step")
            << R"({"script": [{"step": -1, "knob": "aux_weight", "value": 1}]})" << QStringList{"script[0]", "step"};
        QTest::newRow("not an object") << R"([1, 2])" << QStringList{"object"};
    }
    void badConfigsAreRefused() {
        QFETCH(QString, text);
        QFETCH(QStringList, words);
        const json j = json::parse(text.toStdString());
        const QString msg = config_error_of([&] { config_from_json(j); });
        QVERIFY2(first_missing(msg, words).isEmpty(),
                 qPrintable("missing '" + first_missing(msg, words) + "' in: " + msg));
    }

    void invalidJsonFileNamesFileAndLine() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string path = dir.filePath("broken.json").toStdString();
        {
            std::ofstream out(path);
            out << "{\n  \"model\": {\n    \"experts\": 8,\n    \"top_k\": 2,\n  }\n}\n";  // trailing comma: line 5
        }
        const QString msg = config_error_of([&] { load_config_file(path); });
        QVERIFY2(msg.contains(QString::fromStdString(path)), qPrintable(msg));
        QVERIFY2(msg.contains("line 5"), qPrintable(msg));
        QVERIFY2(msg.contains("invalid JSON"), qPrintable(msg));
    }

    void semanticErrorInFileNamesFile() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string path = dir.filePath("bad.json").toStdString();
        {
            std::ofstream out(path);
            out << R"({"train": {"lr": -1}})";
        }
        const QString msg = config_error_of([&] { load_config_file(path); });
        QVERIFY2(msg.contains(QString::fromStdString(path)), qPrintable(msg));
        QVERIFY2(msg.contains("lr") && msg.contains("[0, 1]"), qPrintable(msg));
    }

    void missingFileIsAConfigError() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string path = dir.filePath("does_not_exist.json").toStdString();
        const QString msg = config_error_of([&] { load_config_file(path); });
        QVERIFY2(msg.contains(QString::fromStdString(path)) && msg.contains("cannot open"), qPrintable(msg));
    }

    // ---- capacity ----
    void capacity() {
        Config c;
        c.experts = 8;
        c.top_k = 2;
        c.policy = "topk";
        c.capacity_factor = 0;
        QCOMPARE(c.capacity(512), 0L);  // dropless

        c.capacity_factor = 1.25;
        QCOMPARE(c.capacity(512), 160L);  // 1.25·512·2/8 = 160
        c.capacity_factor = 1.1;
        QCOMPARE(c.capacity(100), 28L);  // ceil(1.1·100·2/8) = ceil(27.5)
        c.top_k = 1;
        c.capacity_factor = 2.0;
        QCOMPARE(c.capacity(64), 16L);  // 2·64·1/8

        c.policy = "expert_choice";
        c.top_k = 2;
        c.capacity_factor = 0;
        QCOMPARE(c.capacity(512), 128L);  // T·k/E = 512·2/8
        c.capacity_factor = 0.5;
        QCOMPARE(c.capacity(512), 64L);
    }

    // ---- presets ----
    void presetNames() {
        const auto names = preset_names();
        for (const char* n : {"default", "collapse", "rescue"})
            QVERIFY2(std::find(names.begin(), names.end(), n) != names.end(), n);
    }

    void unknownPresetListsKnownOnes() {
        const QString msg = config_error_of([] { load_preset("nope"); });
        QVERIFY2(msg.contains("'nope'"), qPrintable(msg));
        for (const auto& n : preset_names()) QVERIFY2(msg.contains(QString::fromStdString(n)), qPrintable(msg));
    }

    // ---- Trainer::request_knob ----
    void requestKnobRefusesStructural() {
        Trainer tr(tiny_config());
        for (const char* name : {"experts", "top_k", "policy", "dataset", "batch_tokens"}) {
            const QString msg = config_error_of([&] { tr.request_knob(name, "4"); });
            QVERIFY2(msg.contains(name) && msg.contains("structural"), qPrintable(msg));
        }
        const QString unknown = config_error_of([&] { tr.request_knob("aux_wieght", "0.1"); });
        QVERIFY2(unknown.contains("aux_weight"), qPrintable(unknown));
        tr.step();
        QVERIFY(tr.interventions().empty());
        QCOMPARE(tr.config().experts, 8);
    }

    void requestKnobRefusesBadValueAndAppliesNothing() {
        Trainer tr(tiny_config());
        const double before = tr.config().aux_weight;
        const QString msg = config_error_of([&] { tr.request_knob("aux_weight", "-1"); });
        QVERIFY2(msg.contains("aux_weight") && msg.contains("[0, 10]"), qPrintable(msg));
        const QString nan = config_error_of([&] { tr.request_knob("lr", "abc"); });
        QVERIFY2(nan.contains("lr") && nan.contains("abc"), qPrintable(nan));
        tr.step();
        tr.step();
        QCOMPARE(tr.config().aux_weight, before);
        QVERIFY(tr.interventions().empty());
    }

    void requestKnobAppliesAtNextStepAndIsLogged() {
        Trainer tr(tiny_config());
        tr.step();
        tr.step();
        QCOMPARE(tr.config().aux_weight, 0.01);
        tr.request_knob("aux_weight", "0.5");
        tr.request_knob("train.router_lr", "1e-4", "remedy");
        QCOMPARE(tr.config().aux_weight, 0.01);  // not before the next step
        tr.step();
        QCOMPARE(tr.config().aux_weight, 0.5);
        QCOMPARE(tr.config().router_lr, 1e-4);
        const auto& log = tr.interventions();
        QCOMPARE(log.size(), size_t(2));
        QCOMPARE(log[0].step, 2L);
        QCOMPARE(log[0].knob, std::string("aux_weight"));
        QCOMPARE(log[0].old_value, std::string("0.01"));
        QCOMPARE(log[0].new_value, std::string("0.5"));
        QCOMPARE(log[0].source, std::string("user"));
        QCOMPARE(log[1].knob, std::string("router_lr"));
        QCOMPARE(log[1].old_value, std::string("0.003"));
        QCOMPARE(std::stod(log[1].new_value), 1e-4);
        QCOMPARE(log[1].source, std::string("remedy"));
        QCOMPARE(tr.steps_done(), 3L);
    }

    void scriptedChangeAppliesAtItsStep() {
        Config cfg = tiny_config();
        cfg.script = {{3, "aux_weight", "0.2"}};
        Trainer tr(cfg);
        for (int i = 0; i < 3; ++i) tr.step();
        QCOMPARE(tr.config().aux_weight, 0.01);  // three steps done, change due before the fourth
        QVERIFY(tr.interventions().empty());
        tr.step();
        QCOMPARE(tr.config().aux_weight, 0.2);
        QCOMPARE(tr.interventions().size(), size_t(1));
        const Intervention& iv = tr.interventions()[0];
        QCOMPARE(iv.step, 3L);
        QCOMPARE(iv.knob, std::string("aux_weight"));
        QCOMPARE(iv.old_value, std::string("0.01"));
        QCOMPARE(iv.new_value, std::string("0.2"));
        QCOMPARE(iv.source, std::string("script"));
        tr.step();
        QCOMPARE(tr.interventions().size(), size_t(1));  // applied once
    }
};

QTEST_APPLESS_MAIN(TestConfig)
#include "test_config.moc"
