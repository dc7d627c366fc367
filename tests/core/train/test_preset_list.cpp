// Presets as a list: lessons in teaching order, and a lesson's length
// (lesson_steps) in every lesson preset, through JSON, with one clear error for
// a bad value.
#include <QtTest>

#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "train/config.hpp"

using namespace moescope;

class TestPresetList : public QObject {
    Q_OBJECT

private slots:
    // A lesson's length: every lesson preset has one, it survives JSON, and a bad one is one clear error.
    void lessonStepsRoundTripAndBadValues() {
        for (const auto& n : preset_names())
            if (n.rfind("lesson", 0) == 0 && n != "lesson11_phase")
                QVERIFY2(load_preset(n).lesson_steps > 0, n.c_str());
        QCOMPARE(load_preset("default").lesson_steps, 0L);
        const Config c = load_preset("lesson5_noise");
        QCOMPARE(config_from_json(config_to_json(c)).lesson_steps, c.lesson_steps);
        QVERIFY(!config_to_json(load_preset("default")).contains("lesson_steps"));
        for (const char* bad : {R"({"lesson_steps": -1})", R"({"lesson_steps": 1.5})", R"({"lesson_steps": "10"})"}) {
            try {
                config_from_json(nlohmann::json::parse(bad));
                QFAIL(bad);
            } catch (const ConfigError& e) {
                QVERIFY2(std::string(e.what()).find("'lesson_steps' must be a whole number") != std::string::npos,
                         e.what());
            }
        }
    }

    // Lesson presets list in teaching order: lesson2 before lesson10.
    void presetNamesSortLessonsByNumber() {
        const auto names = preset_names();
        auto at = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) - names.begin(); };
        QVERIFY(at("lesson1_baseline") < at("lesson2_collapse"));
        QVERIFY(at("lesson9_expert_choice") < at("lesson10_regions"));
        QVERIFY(at("lesson10_regions") < at("lesson11_phase"));
        // Lessons 12–19, after 11 and in their own order.
        const char* more[] = {"lesson11_phase",       "lesson12_tokens",        "lesson13_uniform_collapse",
                              "lesson14_router_init", "lesson15_clip_adam_sgd", "lesson16_entropy_reg",
                              "lesson17_instability", "lesson18_top1_top2",     "lesson19_capacity_imbalance"};
        for (size_t i = 1; i < std::size(more); ++i) QVERIFY2(at(more[i - 1]) < at(more[i]), more[i]);
        QVERIFY(at("lesson19_capacity_imbalance") < long(names.size()));
        QVERIFY(at("collapse") < at("default"));
    }
};

QTEST_APPLESS_MAIN(TestPresetList)
#include "test_preset_list.moc"
