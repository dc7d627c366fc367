// Presets as a list: lessons in teaching order, a lesson's length
// (lesson_steps) in every lesson preset, through JSON, with one clear error for
// a bad value, and a lesson script's control entry (the control run it forks).
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

    // `"control": true` on a script entry: parsed, kept through JSON, and turned into
    // the control run's config (that knob's later changes dropped, others kept).
    void scriptControlEntryParsesAndMakesTheControlConfig() {
        nlohmann::json j = config_to_json(load_preset("lesson5_noise"));
        for (auto& entry : j["script"]) entry.erase("control");
        QCOMPARE(control_step(config_from_json(j)), -1L);
        j["script"][0]["control"] = true;  // noise_std 4 at step 250
        const Config c = config_from_json(j);
        QCOMPARE(control_step(c), 250L);
        QCOMPARE(control_knobs(c), std::vector<std::string>{"noise_std"});
        QCOMPARE(control_step(config_from_json(config_to_json(c))), 250L);
        const Config control = control_config(c);
        QCOMPARE(control_step(control), -1L);
        QCOMPARE(int(control.script.size()), 1);  // noise_std 4 and 0 dropped, aux_weight 0.1 at 550 kept
        QCOMPARE(control.script[0].knob, std::string("aux_weight"));
        QCOMPARE(control.script[0].step, 550L);
        QCOMPARE(int(c.script.size()), 3);  // the lesson's own script is untouched
    }

    // The lessons whose text names a control run fork it at their first scripted change.
    void lessonsForkTheirControlRuns() {
        const std::vector<std::pair<const char*, const char*>> lessons = {{"lesson3_aux_rescue", "aux_weight"},
                                                                          {"lesson4_router_lr", "router_lr"},
                                                                          {"lesson5_noise", "noise_std"},
                                                                          {"lesson6_z_loss", "z_weight"},
                                                                          {"lesson16_entropy_reg", "entropy_weight"},
                                                                          {"lesson17_instability", "router_lr"}};
        for (const auto& [name, knob] : lessons) {
            const Config c = load_preset(name);
            QCOMPARE(control_step(c), c.script.front().step);
            QCOMPARE(control_knobs(c), std::vector<std::string>{knob});
        }
        const Config regions = load_preset("lesson10_regions");  // both knobs of its step 400 stay in the control
        QCOMPARE(control_step(regions), 400L);
        QCOMPARE(control_knobs(regions), (std::vector<std::string>{"aux_weight", "router_lr"}));
        QCOMPARE(control_step(load_preset("lesson2_collapse")), -1L);  // its control is a new run (frozen router)
    }

    void scriptControlEntryBadValuesAreOneClearError() {
        const nlohmann::json base = config_to_json(load_preset("lesson5_noise"));
        auto error_of = [&](auto edit) {
            nlohmann::json j = base;
            edit(j["script"]);
            try {
                config_from_json(j);
            } catch (const ConfigError& e) {
                return std::string(e.what());
            }
            return std::string("<nothing thrown>");
        };
        const std::string typed = error_of([](nlohmann::json& s) { s[0]["control"] = "yes"; });
        QVERIFY2(typed.find("script[0]'.control must be true or false, not string") != std::string::npos,
                 typed.c_str());
        const std::string unknown = error_of([](nlohmann::json& s) { s[1]["contrl"] = true; });
        QVERIFY2(unknown.find("script[1]' has an unknown key 'contrl'") != std::string::npos, unknown.c_str());
        const std::string two = error_of([](nlohmann::json& s) { s[0]["control"] = s[2]["control"] = true; });
        QVERIFY2(two.find("script[2]'") != std::string::npos && two.find("steps 250 and 550") != std::string::npos,
                 two.c_str());
        QCOMPARE(error_of([](nlohmann::json& s) { s[0]["control"] = s[1]["control"] = false; }),
                 std::string("<nothing thrown>"));
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
