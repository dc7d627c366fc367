#pragma once
// Lesson claims on many seeds and whichever GEMM kernels run (issue 22).
//
// Every lesson test states its claims with CLAIM(lesson, condition) and names
// the values they rest on with MEASURE(lesson, name, value). The suites take
// their seeds from MOESCOPE_TEST_SEEDS ("1-30", "3,4"; else MOESCOPE_TEST_SEED,
// else the preset's own) as Qt Test global data, so one process plays every
// lesson on every seed given.
//
// With MOESCOPE_LESSON_SURVEY=FILE a claim never fails: every measure and
// every claim's outcome is appended to FILE as a JSON line (lesson, seed, the
// GEMM that ran), and scripts/lesson_seeds turns them into the 30-seed table in
// docs/lesson_seeds.md that the lesson texts quote. The thresholds in the
// tests come from that table, on more than one CPU's kernels, with a margin
// from the spread: a claim checked on a seed nobody ran still holds.
#include <QtTest>

#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "nn/gemm.hpp"
#include "test_presets.hpp"

namespace lesson_claims {

// "1-30", "2,5,7-9" → the seeds; empty on a malformed list.
inline std::vector<int> parse_seeds(const QString& text) {
    std::vector<int> out;
    for (const QString& part : text.split(',', Qt::SkipEmptyParts)) {
        const QStringList ends = part.split('-');
        bool ok_a = false, ok_b = true;
        const int a = ends.value(0).trimmed().toInt(&ok_a);
        const int b = ends.size() > 1 ? ends.value(1).trimmed().toInt(&ok_b) : a;
        if (!ok_a || !ok_b || ends.size() > 2 || a < 1 || b < a) return {};
        for (int s = a; s <= b; ++s) out.push_back(s);
    }
    return out;
}

// The seeds this process plays; 0 means "the preset's own seed".
inline std::vector<int> seeds() {
    if (qEnvironmentVariableIsSet("MOESCOPE_TEST_SEEDS")) {
        const std::vector<int> s = parse_seeds(qEnvironmentVariable("MOESCOPE_TEST_SEEDS"));
        if (s.empty()) qFatal("MOESCOPE_TEST_SEEDS must be a list like 1-30 or 2,5,7-9");
        return s;
    }
    bool ok = false;
    const int one = qEnvironmentVariableIntValue("MOESCOPE_TEST_SEED", &ok);
    return {ok ? one : 0};
}

// For initTestCase_data(): one global row per seed.
inline void add_seed_rows() {
    QTest::addColumn<int>("seed");
    for (int s : seeds()) QTest::newRow(qPrintable(s ? QString("seed %1").arg(s) : QString("preset seed"))) << s;
}

// For init(): the row's seed reaches test_presets::seeded().
#define LESSON_SEED_INIT()           \
    do {                             \
        QFETCH_GLOBAL(int, seed);    \
        test_presets::g_seed = seed; \
    } while (0)

inline bool surveying() { return qEnvironmentVariableIsSet("MOESCOPE_LESSON_SURVEY"); }

inline QString json_text(const QString& s) {
    QString out;
    for (QChar c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return '"' + out + '"';
}

inline void survey_line(const QString& lesson, const QString& kind, const QString& name, const QString& value) {
    if (!surveying()) return;
    static const QString gemm = QString::fromStdString(moescope::gemm::model_sgemm());
    const QString line =
        QString(R"({"lesson":%1,"seed":%2,"gemm":%3,"isa_cap":%4,"kind":"%5","name":%6,"value":%7})")
            .arg(json_text(lesson))
            .arg(test_presets::g_seed)
            .arg(json_text(gemm), json_text(qEnvironmentVariable("ONEDNN_MAX_CPU_ISA")), kind, json_text(name), value);
    FILE* f = std::fopen(qPrintable(qEnvironmentVariable("MOESCOPE_LESSON_SURVEY")), "a");
    if (!f) qFatal("cannot append to MOESCOPE_LESSON_SURVEY");
    std::fprintf(f, "%s\n", qPrintable(line));
    std::fclose(f);
}

inline double measure(const char* lesson, const char* name, double value) {
    survey_line(lesson, "measure", name, std::isfinite(value) ? QString::number(value, 'g', 9) : "null");
    return value;
}

// Several measures at once: MEASURES("2", {{"h_before", h0}, {"h_after", h1}}).
inline void measures(const char* lesson, std::initializer_list<std::pair<const char*, double>> values) {
    for (const auto& [name, value] : values) measure(lesson, name, value);
}

// True when the claim held, or when surveying (which records it instead of failing).
inline bool claim(const char* lesson, const char* text, bool held) {
    survey_line(lesson, "claim", text, held ? "true" : "false");
    return held || surveying();
}

}  // namespace lesson_claims

#define MEASURES(lesson, ...) lesson_claims::measures(lesson, __VA_ARGS__)
#define CLAIM(lesson, cond) QVERIFY2(lesson_claims::claim(lesson, #cond, bool(cond)), "lesson " lesson ": " #cond)
