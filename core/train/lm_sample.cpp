#include "train/lm_sample.hpp"

#include <algorithm>
#include <cmath>

#include "data/text_corpus.hpp"
#include "error.hpp"

namespace moescope {

std::string sample_lm_text(Engine& engine, const Config& knobs, const std::vector<std::string>& vocab,
                           const LmSampleOptions& options, Rng& rng) {
    if (!engine.structure().is_lm()) throw ConfigError("sampling text needs the language model (model transformer)");
    if (options.length < 0 || options.length > 100000)
        throw ConfigError("sample length must be in [0, 100000] characters, got " + std::to_string(options.length));
    if (!(options.temperature >= 0 && options.temperature <= 10))
        throw ConfigError("sample temperature must be in [0, 10], got " + std::to_string(options.temperature));
    std::vector<int32_t> ids = encode_text(options.prompt.empty() ? "\n" : options.prompt, vocab, "the prompt");
    const long n = engine.structure().context, C = static_cast<long>(vocab.size());
    // One sequence of `context` tokens: the last m characters, then filler the
    // causal model never lets the earlier positions see.
    std::vector<float> x(static_cast<size_t>(n), 0.0f), probs;
    std::vector<int32_t> labels(static_cast<size_t>(n), 0), token_ids(static_cast<size_t>(n), 0);
    std::vector<double> weight(static_cast<size_t>(C));
    std::string out;
    for (int i = 0; i < options.length; ++i) {
        const long m = std::min<long>(static_cast<long>(ids.size()), n);
        for (long t = 0; t < m; ++t) {
            token_ids[static_cast<size_t>(t)] = ids[ids.size() - static_cast<size_t>(m - t)];
            x[static_cast<size_t>(t)] = static_cast<float>(token_ids[static_cast<size_t>(t)]);
        }
        engine.predictions({x.data(), labels.data(), token_ids.data(), n}, knobs, rng, probs);
        const float* p = probs.data() + (m - 1) * C;
        int32_t next = static_cast<int32_t>(std::max_element(p, p + C) - p);
        if (options.temperature > 0) {
            // p^(1/τ), relative to the largest so nothing overflows
            double total = 0;
            for (long c = 0; c < C; ++c)
                total += weight[static_cast<size_t>(c)] =
                    std::pow(double(p[c]) / double(p[next]), 1.0 / options.temperature);
            double u = rng.uniform() * total;
            for (long c = 0; c < C; ++c)
                if ((u -= weight[static_cast<size_t>(c)]) < 0 || c == C - 1) {
                    next = static_cast<int32_t>(c);
                    break;
                }
        }
        ids.push_back(next);
        out += vocab[static_cast<size_t>(next)];
    }
    return out;
}

}  // namespace moescope
