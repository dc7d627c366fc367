// Tokens by expert for the language model: the span is the held-out part's first
// whole sequences, and each character shows its layer's top-k experts with their
// gates, largest first: for renormalised top-2 the two gates sum to 1, for top-1
// (Switch) the gate is the router's probability of the first choice.
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>
#include <numeric>

#include "error.hpp"
#include "monitor/token_experts.hpp"
#include "routing/route_select.hpp"
#include "train/trainer.hpp"

using namespace moescope;

namespace {

Config lm_config(const std::string& path, const char* policy, int top_k) {
    Config c;
    c.model = "transformer";
    c.dataset = "lm";
    c.text_path = path;
    c.context = 8;
    c.heads = 2;
    c.policy = policy;
    c.experts = 4;
    c.top_k = top_k;
    c.layers = 2;
    c.d_model = 16;
    c.d_ff = 32;
    c.batch_tokens = 32;
    c.holdout = 0.2;
    c.test_samples = 64;
    c.eval_every = 1000;
    c.seed = 5;
    return c;
}

}  // namespace

class TestLmTokenExperts : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    std::string path_;

private slots:
    void initTestCase() {
        path_ = dir_.filePath(QStringLiteral("verse.txt")).toStdString();
        std::ofstream out(path_);
        for (int i = 0; i < 40; ++i) out << "Shall I compare thee to a summer's day?\nThou art more lovely.\n";
    }

    void spanIsTheHeldOutPartInWholeSequences() {
        const Config c = lm_config(path_, "topk", 2);
        const Dataset ds = make_dataset(c);
        const TextSpan s = make_text_span(c, ds, 20);
        QCOMPARE(s.chars.size(), size_t(16));  // 20 characters cut to two sequences of 8
        QCOMPARE(s.x.rows(), 1L);
        QCOMPARE(s.x.cols(), 16L);
        for (long t = 0; t < 16; ++t) {
            QCOMPARE(s.x(0, t), ds.x_test(0, t));
            QCOMPARE(s.labels[size_t(t)], ds.y_test[size_t(t)]);
            QCOMPARE(s.chars[size_t(t)], ds.class_names[size_t(ds.x_test(0, t))]);
        }
        // At least one sequence; at most the held-out part, whole sequences.
        QCOMPARE(make_text_span(c, ds, 3).chars.size(), size_t(8));
        const size_t all = make_text_span(c, ds, 1000000).chars.size();
        QCOMPARE(all, size_t(ds.test_size() / 8 * 8));
        // The text dataset still reads its file through the same call.
        Config text = c;
        text.model = "mlp";
        text.dataset = "text";
        text.context = 2;
        QCOMPARE(make_text_span(text, make_dataset(text), 5).chars.size(), size_t(5));
        // Other datasets, or no character: one clear error.
        Config clusters;
        QVERIFY_THROWS_EXCEPTION(ConfigError, make_text_span(clusters, ds, 10));
        QVERIFY_THROWS_EXCEPTION(ConfigError, make_text_span(c, ds, 0));
    }

    void topTwoGatesAreSortedAndSumToOne() {
        Trainer t(lm_config(path_, "topk", 2));
        for (int i = 0; i < 3; ++i) t.step();
        const TextSpan s = make_text_span(t.config(), t.dataset(), 16);
        const TokenExperts te = compute_token_experts(t.engine(), t.config(), s);
        QCOMPARE(te.layers, 2);
        QCOMPARE(te.chars, 16L);
        QCOMPARE(te.k, 2);
        QCOMPARE(te.topk_expert.size(), size_t(2 * 16 * 2));
        QCOMPARE(te.topk_gate.size(), te.topk_expert.size());
        for (int l = 0; l < 2; ++l)
            for (long i = 0; i < 16; ++i) {
                const float g0 = te.topk_gate_at(l, i, 0), g1 = te.topk_gate_at(l, i, 1);
                QVERIFY2(g0 >= g1 && g1 > 0, qPrintable(QStringLiteral("%1 %2").arg(g0).arg(g1)));
                QVERIFY2(std::abs(g0 + g1 - 1.0f) < 1e-5f, qPrintable(QString::number(g0 + g1)));
                QVERIFY(te.topk_expert_at(l, i, 0) != te.topk_expert_at(l, i, 1));
                for (int r = 0; r < 2; ++r) QVERIFY(te.topk_expert_at(l, i, r) >= 0 && te.topk_expert_at(l, i, r) < 4);
                // The largest gate is the first choice the view colours the character with.
                QCOMPARE(te.topk_expert_at(l, i, 0), te.expert(l, i));
            }
    }

    void topOneGateIsTheRoutersProbability() {
        Trainer t(lm_config(path_, "topk", 1));
        t.step();
        const TextSpan s = make_text_span(t.config(), t.dataset(), 8);
        const TokenExperts te = compute_token_experts(t.engine(), t.config(), s);
        QCOMPARE(te.k, 1);
        // The same pass as the view's: its first choices carry the clean probability p.
        FirstChoices first;
        std::vector<int32_t> ids(8);
        std::iota(ids.begin(), ids.end(), 0);
        Config dropless = t.config();
        dropless.capacity_factor = 0;
        Rng rng(1);
        t.engine().first_choices(Pass::Probe, {s.x.data(), s.labels.data(), ids.data(), 8}, dropless, rng, false,
                                 first);
        QCOMPARE(first.k, 1);
        for (int l = 0; l < 2; ++l)
            for (long i = 0; i < 8; ++i) {
                QCOMPARE(te.topk_expert_at(l, i, 0), first.expert[size_t(l * 8 + i)]);
                QVERIFY(std::abs(te.topk_gate_at(l, i, 0) - first.prob[size_t(l * 8 + i)]) < 1e-6f);
            }
    }

    // Hash routing in the view hashes the character, as training does (not its position in the passage).
    void hashRoutingHashesTheCharacter() {
        Trainer t(lm_config(path_, "hash", 1));
        t.step();
        const TextSpan s = make_text_span(t.config(), t.dataset(), 16);
        const TokenExperts te = compute_token_experts(t.engine(), t.config(), s);
        for (int l = 0; l < 2; ++l)
            for (long i = 0; i < 16; ++i)
                QCOMPARE(te.expert(l, i), hash_first_expert(static_cast<int32_t>(s.x(0, i)), t.config().experts));
    }

    void expertChoiceHasNoTopK() {
        Trainer t(lm_config(path_, "expert_choice", 1));
        const TokenExperts te =
            compute_token_experts(t.engine(), t.config(), make_text_span(t.config(), t.dataset(), 8));
        QCOMPARE(te.k, 0);
        QVERIFY(te.topk_expert.empty() && te.topk_gate.empty());
        QCOMPARE(te.top1.size(), size_t(2 * 8));
    }
};

QTEST_MAIN(TestLmTokenExperts)
#include "test_lm_token_experts.moc"
