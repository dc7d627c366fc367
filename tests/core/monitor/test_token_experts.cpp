// Tokens by expert: the span is the text dataset's own samples for the first
// characters, and each character's expert is the routing's first choice for
// that window alone: the hash of its position under hash routing, the same
// choice as routing the window by itself under top-k.
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include "data/shipped_data.hpp"
#include "error.hpp"
#include "monitor/token_experts.hpp"
#include "train/trainer.hpp"

using namespace moescope;

namespace {

// The hash routing's first choice for sample id `id` (core/routing: splitmix-style mixing).
int hash_expert(uint64_t id, int experts) {
    uint64_t h = id * 0x9E3779B97F4A7C15ull;
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 29;
    return int(h % uint64_t(experts));
}

Config text_config(const std::string& path, const char* policy) {
    Config c;
    c.dataset = "text";
    c.text_path = path;
    c.context = 2;
    c.policy = policy;
    c.experts = 4;
    c.top_k = 1;
    c.layers = 2;
    c.d_model = 16;
    c.d_ff = 32;
    c.batch_tokens = 16;
    c.seed = 3;
    return c;
}

}  // namespace

class TestTokenExperts : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    std::string path_;

private slots:
    void initTestCase() {
        // Vocabulary by frequency: 'a' (3) → 0, 'b' (2) → 1, 'c' (1) → 2.
        path_ = dir_.filePath(QStringLiteral("abc.txt")).toStdString();
        std::ofstream(path_) << "abacab";
    }

    void spanIsTheDatasetsWindowsInTextOrder() {
        const TextSpan s = make_text_span(text_config(path_, "topk"), 4);
        QCOMPARE(s.chars, (std::vector<std::string>{"a", "b", "a", "c"}));
        QCOMPARE(s.labels, (std::vector<int32_t>{0, 1, 0, 2}));
        QCOMPARE(s.x.rows(), 6L);  // context 2 × vocabulary 3
        QCOMPARE(s.x.cols(), 4L);
        QCOMPARE(s.x.col(0).sum(), 0.0f);  // nothing before the first character
        // Character 1 ('b'): block 0 empty, block 1 one-hot 'a'.
        QCOMPARE(s.x.col(1).sum(), 1.0f);
        QCOMPARE(s.x(3 + 0, 1), 1.0f);
        // Character 3 ('c'): "ba" before it: block 0 'b', block 1 'a'.
        QCOMPARE(s.x(0 + 1, 3), 1.0f);
        QCOMPARE(s.x(3 + 0, 3), 1.0f);
        QCOMPARE(s.x.col(3).sum(), 2.0f);
        // A longer request stops at the end of the text.
        QCOMPARE(make_text_span(text_config(path_, "topk"), 100).chars.size(), size_t(6));
    }

    void hashRoutingShowsEachPositionsHash() {
        Trainer t(text_config(path_, "hash"));
        const TextSpan s = make_text_span(t.config(), 6);
        const TokenExperts te = compute_token_experts(t.engine(), t.config(), s);
        QCOMPARE(te.layers, 2);
        QCOMPARE(te.experts, 4);
        QCOMPARE(te.chars, 6L);
        for (int l = 0; l < 2; ++l)
            for (long i = 0; i < 6; ++i) QCOMPARE(te.expert(l, i), hash_expert(uint64_t(i), 4));
    }

    void topkMatchesRoutingEachWindowAlone() {
        Trainer t(text_config(path_, "topk"));
        for (int s = 0; s < 5; ++s) t.step();
        const TextSpan s = make_text_span(t.config(), 6);
        const TokenExperts te = compute_token_experts(t.engine(), t.config(), s);
        Config dropless = t.config();
        dropless.capacity_factor = 0;
        FirstChoices alone;
        Rng rng(1);
        for (long i = 0; i < 6; ++i) {
            const int32_t id = int32_t(i);
            t.engine().first_choices(Pass::Probe, {s.x.col(i).data(), &s.labels[size_t(i)], &id, 1}, dropless, rng,
                                     false, alone);
            for (int l = 0; l < 2; ++l) QCOMPARE(te.expert(l, i), alone.expert[size_t(l)]);
        }
    }

    void badInputIsOneClearError() {
        Config c = text_config(path_, "topk");
        c.dataset = "clusters";
        QVERIFY_THROWS_EXCEPTION(ConfigError, make_text_span(c, 10));
        QVERIFY_THROWS_EXCEPTION(ConfigError, make_text_span(text_config(path_, "topk"), 0));
        QVERIFY_THROWS_EXCEPTION(DataError, make_text_span(text_config(path_ + ".absent", "topk"), 10));
        // A span of another context does not fit the model.
        Trainer t(text_config(path_, "topk"));
        Config wider = t.config();
        wider.context = 3;
        try {
            compute_token_experts(t.engine(), t.config(), make_text_span(wider, 4));
            QFAIL("a span of the wrong width was routed");
        } catch (const ConfigError& e) {
            QVERIFY2(QString(e.what()).contains(QStringLiteral("9 features")), e.what());
        }
    }

    // A preset names the shipped text by its file name; it is found wherever the test runs.
    void shippedTextIsFoundByName() {
        const std::string found = shipped_data_path("lighthouse.txt");
        QVERIFY2(unreadable_file_reason(found).empty(), found.c_str());
        QVERIFY(unreadable_file_reason(load_preset("lesson12_tokens").text_path).empty());
        QCOMPARE(shipped_data_path("no-such-file.txt"), std::string("no-such-file.txt"));
        QCOMPARE(shipped_data_path(path_), path_);
    }
};

QTEST_GUILESS_MAIN(TestTokenExperts)
#include "test_token_experts.moc"
