// Lesson 12 (tokens coloured by expert): on the shipped text, next-character
// prediction from the two characters before, the first layer's router learns to
// decide mostly by the character just before: after training, most characters
// go to the expert most common for their preceding character, and the first
// letters of words (the characters after a space) gather on one expert. The
// controls are the same run at step 0 (its untrained router) and the same run
// with hash routing. Seeds through MOESCOPE_TEST_SEED, as test_lessons; the
// numbers are in the log.
#include <QElapsedTimer>
#include <QtTest>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "lesson_claims.hpp"
#include "monitor/token_experts.hpp"
#include "test_presets.hpp"
#include "train/trainer.hpp"

using namespace moescope;

namespace {

// Share of characters (those `counted`) whose layer-`layer` expert is the most
// common one among the counted characters with the same preceding character.
double previous_char_purity(const TextSpan& span, const TokenExperts& te, int layer, bool only_word_starts) {
    std::map<std::string, std::vector<long>> by_previous;
    long counted = 0;
    for (long t = 1; t < te.chars; ++t) {
        const std::string& prev = span.chars[size_t(t - 1)];
        if (only_word_starts && prev != " ") continue;
        auto& counts = by_previous[prev];
        counts.resize(size_t(te.experts));
        ++counts[size_t(te.expert(layer, t))];
        ++counted;
    }
    long agree = 0;
    for (const auto& [prev, counts] : by_previous) agree += *std::max_element(counts.begin(), counts.end());
    return counted ? double(agree) / double(counted) : 0.0;
}

struct Measured {
    double purity = 0, word_starts = 0;  // layer 0, over the whole text
};

Measured measure(Trainer& t, const TextSpan& span) {
    const TokenExperts te = compute_token_experts(t.engine(), t.config(), span);
    return {previous_char_purity(span, te, 0, false), previous_char_purity(span, te, 0, true)};
}

}  // namespace

class TestLessonTokens : public QObject {
    Q_OBJECT
private slots:
    void initTestCase_data() { lesson_claims::add_seed_rows(); }
    void init() { LESSON_SEED_INIT(); }

    void lesson12_experts_follow_the_previous_character() {
        QElapsedTimer clock;
        clock.start();
        const Config cfg = test_presets::seeded("lesson12_tokens");
        Trainer t(cfg);
        const TextSpan span = make_text_span(t.config(), 1 << 20);  // the whole text
        const Measured before = measure(t, span);
        while (t.steps_done() < cfg.lesson_steps) t.step();
        const Measured after = measure(t, span);

        Config hash_cfg = cfg;
        hash_cfg.policy = "hash";
        Trainer hashed(hash_cfg);
        while (hashed.steps_done() < cfg.lesson_steps) hashed.step();
        const Measured hash = measure(hashed, span);
        qInfo(
            "lesson12 seed %d, layer 0: characters on their preceding character's usual expert %.3f at step 0 -> "
            "%.3f at step %ld (hash routing %.3f); word starts on one expert %.3f -> %.3f (hash %.3f); %.1f s",
            cfg.seed, before.purity, after.purity, cfg.lesson_steps, hash.purity, before.word_starts, after.word_starts,
            hash.word_starts, clock.elapsed() / 1000.0);
        MEASURES("12", {{"purity_before", before.purity},
                        {"purity_after", after.purity},
                        {"purity_hash", hash.purity},
                        {"word_starts_before", before.word_starts},
                        {"word_starts_after", after.word_starts},
                        {"word_starts_hash", hash.word_starts}});
        // Seeds 1–30 × two GEMM paths: above hash routing on every run (by 0.30 or more, word
        // starts by 0.08 or more); above the same run at step 0 on 51 of 60 only, so not claimed.
        CLAIM("12", after.purity > 0.4);
        CLAIM("12", after.purity > hash.purity + 0.25);
        CLAIM("12", after.word_starts > hash.word_starts + 0.05);
    }
};

QTEST_GUILESS_MAIN(TestLessonTokens)
#include "test_lesson_tokens.moc"
