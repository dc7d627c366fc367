#include "monitor/token_experts.hpp"

#include <algorithm>
#include <numeric>

#include "data/text_corpus.hpp"
#include "error.hpp"

namespace moescope {

namespace {
// Random routing draws from this fixed stream, so two calls on the same weights agree.
constexpr uint64_t kTokenStream = 0x70CE25u;
}  // namespace

TextSpan make_text_span(const Config& cfg, long n) {
    if (cfg.dataset != "text")
        throw ConfigError("tokens by expert need the text dataset; this run's dataset is '" + cfg.dataset + "'");
    if (n < 1) throw ConfigError("a text span needs at least one character (got " + std::to_string(n) + ")");
    const TextCorpus corpus = read_text_corpus(cfg.text_path, kTextVocabKept);
    n = std::min(n, static_cast<long>(corpus.ids.size()));
    std::vector<long> targets(static_cast<size_t>(n));
    std::iota(targets.begin(), targets.end(), 0L);
    TextSpan span;
    text_windows(corpus.ids, targets, cfg.context, static_cast<int>(corpus.vocab.size()), span.x, span.labels);
    for (const int32_t id : span.labels) span.chars.push_back(corpus.vocab[static_cast<size_t>(id)]);
    return span;
}

TextSpan make_text_span(const Config& cfg, const Dataset& data, long n) {
    if (cfg.dataset == "text") return make_text_span(cfg, n);
    if (cfg.dataset != "lm")
        throw ConfigError("tokens by expert need the text or lm dataset; this run's dataset is '" + cfg.dataset + "'");
    if (n < 1) throw ConfigError("a text span needs at least one character (got " + std::to_string(n) + ")");
    const long seq = std::max(1, data.sequence);
    MS_ASSERT(data.test_size() >= seq && data.x_test.rows() == 1, "lm: the held-out part is whole sequences of ids");
    n = std::max(seq, std::min(n, data.test_size()) / seq * seq);
    TextSpan span;
    span.x = data.x_test.leftCols(n);
    span.labels.assign(data.y_test.begin(), data.y_test.begin() + n);
    for (long t = 0; t < n; ++t) span.chars.push_back(data.class_names[static_cast<size_t>(span.x(0, t))]);
    return span;
}

TokenExperts compute_token_experts(Engine& engine, const Config& knobs, const TextSpan& span) {
    const long T = static_cast<long>(span.labels.size());
    if (span.x.rows() != engine.d_in())
        throw ConfigError("the text span has " + std::to_string(span.x.rows()) +
                          " features per character; the model takes " + std::to_string(engine.d_in()));
    MS_ASSERT(span.x.cols() == T && T > 0, "text span: one window per character");

    Config eval = knobs;
    if (!experts_choose(engine.policy())) eval.capacity_factor = 0;  // dropless: see the header

    std::vector<int32_t> ids(static_cast<size_t>(T));
    std::iota(ids.begin(), ids.end(), 0);  // a character's sample id is its position
    // The language model's id is the character, as in training (hash routing hashes the token)
    if (engine.structure().is_lm())
        for (long t = 0; t < T; ++t) ids[size_t(t)] = static_cast<int32_t>(span.x(0, t));
    Rng rng(static_cast<uint64_t>(knobs.seed) ^ kTokenStream);
    FirstChoices first;
    engine.first_choices(Pass::Region, {span.x.data(), span.labels.data(), ids.data(), T}, eval, rng, false, first);

    TokenExperts out;
    out.layers = engine.structure().layers;
    out.experts = engine.structure().experts;
    out.chars = T;
    out.top1.assign(first.expert.begin(), first.expert.end());
    if (first.k > 0 && first.topk_expert.size() == static_cast<size_t>(out.layers) * T * first.k) {
        out.k = first.k;
        out.topk_expert.assign(first.topk_expert.begin(), first.topk_expert.end());
        out.topk_gate = first.topk_gate;
    }
    return out;
}

}  // namespace moescope
