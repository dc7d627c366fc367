#include "data/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <sstream>

#include "data/csv_reader.hpp"
#include "data/shipped_data.hpp"
#include "data/text_corpus.hpp"
#include "error.hpp"

namespace moescope {
namespace {

// Mixed into cfg.seed so the data stream differs from the model-init stream seeded by the same number.
constexpr uint64_t kDataSeedSalt = 0xDA7A5E7D0C0FFEE5ull;
// Cluster centres ~ N(0, 3²·I): far apart next to the default cluster_std 1, so
// each cluster is easy to find, while random class labels keep classes non-linear.
constexpr double kCenterScale = 3.0;
constexpr double kBlobRadius = 1.5;
// Blob std = 3·data_noise: the default 0.1 gives blobs that touch but rarely overlap.
constexpr double kBlobStdPerNoise = 3.0;
constexpr double kSpiralMaxRadius = 2.0;
constexpr double kSpiralTurns = 1.5;
constexpr const char* kKinds = "clusters, blobs, moons, spirals, csv, text, lm";

std::string fmt(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

void require_at_least(long value, long min, const char* key) {
    if (value < min)
        throw ConfigError(std::string(key) + " must be at least " + std::to_string(min) + " (got " +
                          std::to_string(value) + ")");
}

void require_non_negative(double value, const char* key) {
    if (!(value >= 0.0) || !std::isfinite(value))
        throw ConfigError(std::string(key) + " must be a finite number >= 0 (got " + fmt(value) + ")");
}

void require_holdout(double holdout) {
    if (!(holdout >= 0.0 && holdout < 1.0)) throw ConfigError("holdout must be in [0, 1) (got " + fmt(holdout) + ")");
}

std::vector<std::string> numbered_class_names(int n) {
    std::vector<std::string> names;
    for (int c = 0; c < n; ++c) names.push_back(std::to_string(c));
    return names;
}

std::string split_summary(const Dataset& ds) {
    return std::to_string(ds.train_size()) + " train / " + std::to_string(ds.test_size()) + " test, d_in " +
           std::to_string(ds.d_in) + ", " + std::to_string(ds.num_classes) + " classes";
}

// The first m entries of a uniformly random permutation of 0..n-1 (partial Fisher–Yates).
std::vector<long> random_order(long n, long m, Rng& rng) {
    std::vector<long> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0L);
    for (long i = 0; i < m; ++i) {
        const long j = i + static_cast<long>(rng.below(static_cast<uint64_t>(n - i)));
        std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
    }
    order.resize(static_cast<size_t>(m));
    return order;
}

// Test-set size: the holdout share of n, but at least one row in each split.
long holdout_count(long n, double holdout) {
    return std::clamp(std::lround(holdout * static_cast<double>(n)), 1L, n - 1);
}

// ---- synthetic kinds: one sampler per kind, train and test from the same distribution ----

// Fills train then test with `sample(rng, column) -> label`, which writes ds.d_in features.
template <class Sampler>
void fill_from_sampler(Dataset& ds, const Config& cfg, Rng& rng, Sampler&& sample) {
    require_at_least(cfg.train_samples, 1, "train_samples");
    require_at_least(cfg.test_samples, 1, "test_samples");
    const auto fill = [&](Eigen::MatrixXf& x, std::vector<int32_t>& y, int n) {
        x.resize(ds.d_in, n);
        y.resize(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i) y[static_cast<size_t>(i)] = sample(rng, x.col(i).data());
    };
    fill(ds.x_train, ds.y_train, cfg.train_samples);
    fill(ds.x_test, ds.y_test, cfg.test_samples);
}

// Cumulative Zipf weights over clusters: w_c ∝ 1/(c+1)^zipf, normalised so the last entry is 1.
std::vector<double> zipf_cumulative(int clusters, double zipf) {
    std::vector<double> cum(static_cast<size_t>(clusters));
    double total = 0.0;
    for (int c = 0; c < clusters; ++c) cum[static_cast<size_t>(c)] = total += std::pow(c + 1.0, -zipf);
    for (double& v : cum) v /= total;
    return cum;
}

Dataset make_clusters(const Config& cfg, Rng& rng) {
    require_at_least(cfg.d_in, 1, "d_in");
    require_at_least(cfg.classes, 2, "classes");
    require_at_least(cfg.clusters, 1, "clusters");
    require_non_negative(cfg.zipf, "zipf");
    require_non_negative(cfg.cluster_std, "cluster_std");

    Dataset ds;
    ds.d_in = cfg.d_in;
    // With fewer clusters than classes only the labelled classes exist.
    ds.num_classes = std::min(cfg.classes, cfg.clusters);
    ds.class_names = numbered_class_names(ds.num_classes);

    Eigen::MatrixXf centers(cfg.d_in, cfg.clusters);
    for (Eigen::Index i = 0; i < centers.size(); ++i)
        centers.data()[i] = static_cast<float>(kCenterScale * rng.normal());
    // The first clusters take classes 0..K-1 so every class exists; the rest are random, so a class is a union of
    // far-apart clusters.
    std::vector<int32_t> cluster_class(static_cast<size_t>(cfg.clusters));
    for (int c = 0; c < cfg.clusters; ++c)
        cluster_class[static_cast<size_t>(c)] =
            c < ds.num_classes ? c : static_cast<int32_t>(rng.below(static_cast<uint64_t>(ds.num_classes)));
    const std::vector<double> cum = zipf_cumulative(cfg.clusters, cfg.zipf);

    const auto std_dev = static_cast<float>(cfg.cluster_std);
    fill_from_sampler(ds, cfg, rng, [&](Rng& r, float* x) {
        const double u = r.uniform();
        const auto c = std::min<long>(std::upper_bound(cum.begin(), cum.end(), u) - cum.begin(), cfg.clusters - 1);
        // x = center_c + cluster_std · N(0, I)
        for (int f = 0; f < cfg.d_in; ++f) x[f] = centers(f, c) + std_dev * static_cast<float>(r.normal());
        return cluster_class[static_cast<size_t>(c)];
    });
    ds.summary =
        "clusters: " + split_summary(ds) + ", " + std::to_string(cfg.clusters) + " clusters, zipf " + fmt(cfg.zipf);
    return ds;
}

// 2-D toys report d_in 2 whatever cfg.d_in says.
Dataset toy_dataset(int num_classes) {
    Dataset ds;
    ds.d_in = 2;
    ds.num_classes = num_classes;
    ds.class_names = numbered_class_names(num_classes);
    return ds;
}

Dataset make_blobs(const Config& cfg, Rng& rng) {
    require_at_least(cfg.classes, 2, "classes");
    require_non_negative(cfg.data_noise, "data_noise");
    Dataset ds = toy_dataset(cfg.classes);
    const double std_dev = kBlobStdPerNoise * cfg.data_noise;
    fill_from_sampler(ds, cfg, rng, [&](Rng& r, float* x) {
        const auto c = static_cast<int32_t>(r.below(static_cast<uint64_t>(cfg.classes)));
        // Centres evenly spaced on a circle: angle 2π·c/K.
        const double angle = 2.0 * std::numbers::pi * c / cfg.classes;
        x[0] = static_cast<float>(kBlobRadius * std::cos(angle) + std_dev * r.normal());
        x[1] = static_cast<float>(kBlobRadius * std::sin(angle) + std_dev * r.normal());
        return c;
    });
    ds.summary = "blobs: " + split_summary(ds) + ", noise " + fmt(cfg.data_noise);
    return ds;
}

Dataset make_moons(const Config& cfg, Rng& rng) {
    require_non_negative(cfg.data_noise, "data_noise");
    Dataset ds = toy_dataset(2);
    fill_from_sampler(ds, cfg, rng, [&](Rng& r, float* x) {
        const auto c = static_cast<int32_t>(r.below(2));
        const double t = std::numbers::pi * r.uniform();
        // Upper moon (cos t, sin t); lower moon (1 − cos t, ½ − sin t); both shifted by (−½, −¼) to centre them.
        const double px = c == 0 ? std::cos(t) : 1.0 - std::cos(t);
        const double py = c == 0 ? std::sin(t) : 0.5 - std::sin(t);
        x[0] = static_cast<float>(px - 0.5 + cfg.data_noise * r.normal());
        x[1] = static_cast<float>(py - 0.25 + cfg.data_noise * r.normal());
        return c;
    });
    ds.summary = "moons: " + split_summary(ds) + ", noise " + fmt(cfg.data_noise);
    return ds;
}

Dataset make_spirals(const Config& cfg, Rng& rng) {
    require_at_least(cfg.classes, 2, "classes");
    require_non_negative(cfg.data_noise, "data_noise");
    Dataset ds = toy_dataset(cfg.classes);
    fill_from_sampler(ds, cfg, rng, [&](Rng& r, float* x) {
        const auto c = static_cast<int32_t>(r.below(static_cast<uint64_t>(cfg.classes)));
        const double t = r.uniform();
        // Arm c: radius grows linearly with t while the angle sweeps kSpiralTurns turns from offset 2π·c/K.
        const double radius = kSpiralMaxRadius * t;
        const double angle = 2.0 * std::numbers::pi * (static_cast<double>(c) / cfg.classes + kSpiralTurns * t);
        x[0] = static_cast<float>(radius * std::cos(angle) + cfg.data_noise * r.normal());
        x[1] = static_cast<float>(radius * std::sin(angle) + cfg.data_noise * r.normal());
        return c;
    });
    ds.summary = "spirals: " + split_summary(ds) + ", noise " + fmt(cfg.data_noise);
    return ds;
}

// ---- csv ----

struct FeatureScaling {
    std::vector<double> mean, inv_std;
};

// Per-feature mean and 1/std over the training rows only, so the test set leaks nothing; std 0 → 1.
FeatureScaling train_scaling(const CsvTable& t, const std::vector<long>& train_rows) {
    const auto d = static_cast<size_t>(t.cols());
    FeatureScaling s{std::vector<double>(d, 0.0), std::vector<double>(d, 0.0)};
    for (const long r : train_rows)
        for (size_t f = 0; f < d; ++f) s.mean[f] += t.features[static_cast<size_t>(r) * d + f];
    for (double& m : s.mean) m /= static_cast<double>(train_rows.size());
    std::vector<double> var(d, 0.0);
    for (const long r : train_rows)
        for (size_t f = 0; f < d; ++f) {
            const double diff = t.features[static_cast<size_t>(r) * d + f] - s.mean[f];
            var[f] += diff * diff;
        }
    for (size_t f = 0; f < d; ++f) {
        const double sd = std::sqrt(var[f] / static_cast<double>(train_rows.size()));
        s.inv_std[f] = sd > 0.0 ? 1.0 / sd : 1.0;
    }
    return s;
}

// Writes the standardised rows `rows` of the table as columns of x: x_f = (v_f − mean_f) / std_f.
void fill_standardised(const CsvTable& t, const std::vector<long>& rows, const FeatureScaling& s, Eigen::MatrixXf& x,
                       std::vector<int32_t>& y) {
    const auto d = static_cast<size_t>(t.cols());
    x.resize(t.cols(), static_cast<Eigen::Index>(rows.size()));
    y.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
        const auto r = static_cast<size_t>(rows[i]);
        for (size_t f = 0; f < d; ++f)
            x(static_cast<Eigen::Index>(f), static_cast<Eigen::Index>(i)) =
                static_cast<float>((t.features[r * d + f] - s.mean[f]) * s.inv_std[f]);
        y[i] = t.labels[r];
    }
}

Dataset make_csv(const Config& cfg, Rng& rng) {
    if (cfg.csv_path.empty()) throw ConfigError("csv_path must name a CSV file when dataset is 'csv'");
    require_holdout(cfg.holdout);
    const CsvTable t = read_csv_table(cfg.csv_path, cfg.label_column);

    std::vector<long> train_rows = random_order(t.rows(), t.rows(), rng);
    const long n_test = holdout_count(t.rows(), cfg.holdout);
    const std::vector<long> test_rows(train_rows.end() - n_test, train_rows.end());
    train_rows.resize(static_cast<size_t>(t.rows() - n_test));

    Dataset ds;
    ds.d_in = static_cast<int>(t.cols());
    ds.num_classes = static_cast<int>(t.class_names.size());
    ds.class_names = t.class_names;
    const FeatureScaling scaling = train_scaling(t, train_rows);
    fill_standardised(t, train_rows, scaling, ds.x_train, ds.y_train);
    fill_standardised(t, test_rows, scaling, ds.x_test, ds.y_test);
    ds.summary = "csv " + cfg.csv_path + ": " + split_summary(ds) + ", label '" + t.label_name + "'";
    return ds;
}

// ---- text ----

Dataset make_text(const Config& cfg, Rng& rng) {
    if (cfg.text_path.empty()) throw ConfigError("text_path must name a UTF-8 text file when dataset is 'text'");
    require_at_least(cfg.context, 1, "context");
    require_at_least(cfg.train_samples, 1, "train_samples");
    require_at_least(cfg.test_samples, 1, "test_samples");
    require_holdout(cfg.holdout);
    const TextCorpus corpus = read_text_corpus(cfg.text_path, kTextVocabKept);
    const auto n = static_cast<long>(corpus.ids.size());
    if (n < cfg.context + 2)
        throw DataError(cfg.text_path + " has " + std::to_string(n) + " characters; context " +
                        std::to_string(cfg.context) + " needs at least " + std::to_string(cfg.context + 2));

    // Every position is a sample; a larger file contributes a random subset of train_samples + test_samples.
    const long m = std::min(n, static_cast<long>(cfg.train_samples) + cfg.test_samples);
    std::vector<long> train_targets = random_order(n, m, rng);
    const long n_test = holdout_count(m, cfg.holdout);
    const std::vector<long> test_targets(train_targets.end() - n_test, train_targets.end());
    train_targets.resize(static_cast<size_t>(m - n_test));

    Dataset ds;
    const auto vocab = static_cast<int>(corpus.vocab.size());
    ds.d_in = cfg.context * vocab;
    ds.num_classes = vocab;
    ds.class_names = corpus.vocab;
    text_windows(corpus.ids, train_targets, cfg.context, vocab, ds.x_train, ds.y_train);
    text_windows(corpus.ids, test_targets, cfg.context, vocab, ds.x_test, ds.y_test);
    ds.summary = "text " + cfg.text_path + ": " + split_summary(ds) + " (context " + std::to_string(cfg.context) +
                 " × vocabulary " + std::to_string(vocab) + ")";
    return ds;
}

// ---- lm: the language model's character sequences ----

// Positions [begin, begin + count) of the corpus as tokens: x holds each
// character's id (one row, as a float: ids are far below 2^24), y the next one's.
void lm_positions(const std::vector<int32_t>& ids, long begin, long count, Eigen::MatrixXf& x,
                  std::vector<int32_t>& y) {
    x.resize(1, count);
    y.resize(static_cast<size_t>(count));
    for (long i = 0; i < count; ++i) {
        x(0, i) = static_cast<float>(ids[static_cast<size_t>(begin + i)]);
        y[static_cast<size_t>(i)] = ids[static_cast<size_t>(begin + i + 1)];
    }
}

Dataset make_lm(const Config& cfg) {
    require_at_least(cfg.context, 2, "context");
    require_at_least(cfg.test_samples, 1, "test_samples");
    require_holdout(cfg.holdout);
    const std::string path = lm_text_path(cfg);
    const TextCorpus corpus = read_text_corpus(path, kTextVocabKept);
    const auto n = static_cast<long>(corpus.ids.size());
    const long seq = cfg.context;
    // The text's last `holdout` share is held out, whole: a sequence never spans both parts.
    const long split = n - std::lround(cfg.holdout * static_cast<double>(n));
    const long held = n - split - 1;  // held-out positions that have a next character
    const long test = std::min(held, std::max<long>(cfg.test_samples, seq)) / seq * seq;
    if (split - 1 < seq || test < seq)
        throw DataError(path + " has " + std::to_string(n) + " characters: too short for sequences of context " +
                        std::to_string(seq) + " in both its training part and its held-out " + fmt(100 * cfg.holdout) +
                        " %");
    Dataset ds;
    ds.d_in = 1;
    ds.num_classes = static_cast<int>(corpus.vocab.size());
    ds.class_names = corpus.vocab;
    ds.sequence = static_cast<int>(seq);
    lm_positions(corpus.ids, 0, split - 1, ds.x_train, ds.y_train);
    lm_positions(corpus.ids, split, test, ds.x_test, ds.y_test);
    ds.summary = "lm " + path + ": " + std::to_string(ds.train_size()) + " training characters, " +
                 std::to_string(ds.test_size()) + " held out (of " + std::to_string(held) + "), vocabulary " +
                 std::to_string(ds.num_classes) + ", sequences of " + std::to_string(seq);
    return ds;
}

}  // namespace

std::string lm_text_path(const Config& cfg) {
    return shipped_data_path(cfg.text_path.empty() ? std::string(kLmCorpus) : cfg.text_path);
}

Dataset make_dataset(const Config& cfg) {
    Rng rng(static_cast<uint64_t>(cfg.seed) ^ kDataSeedSalt);
    Dataset ds;
    if (cfg.dataset == "clusters")
        ds = make_clusters(cfg, rng);
    else if (cfg.dataset == "blobs")
        ds = make_blobs(cfg, rng);
    else if (cfg.dataset == "moons")
        ds = make_moons(cfg, rng);
    else if (cfg.dataset == "spirals")
        ds = make_spirals(cfg, rng);
    else if (cfg.dataset == "csv")
        ds = make_csv(cfg, rng);
    else if (cfg.dataset == "text")
        ds = make_text(cfg, rng);
    else if (cfg.dataset == "lm")
        ds = make_lm(cfg);
    else
        throw ConfigError("dataset '" + cfg.dataset + "' is unknown; valid kinds: " + kKinds);
    ds.kind = cfg.dataset;
    return ds;
}

void sample_batch(const Dataset& ds, int batch_tokens, Rng& rng, std::vector<int32_t>& indices) {
    MS_ASSERT(ds.train_size() > 0, "sample_batch needs a non-empty training set");
    MS_ASSERT(batch_tokens >= 0, "batch_tokens must not be negative");
    indices.resize(static_cast<size_t>(batch_tokens));
    if (ds.sequence > 0) {
        // lm: batch_tokens / sequence runs of consecutive positions, each from a random start
        const long seq = ds.sequence, starts = ds.train_size() - seq + 1;
        MS_ASSERT(batch_tokens % seq == 0 && starts > 0, "lm batches are whole sequences");
        for (long b = 0; b < batch_tokens / seq; ++b) {
            const auto start = static_cast<int32_t>(rng.below(static_cast<uint64_t>(starts)));
            for (long i = 0; i < seq; ++i) indices[static_cast<size_t>(b * seq + i)] = start + static_cast<int32_t>(i);
        }
        return;
    }
    for (int32_t& i : indices) i = static_cast<int32_t>(rng.below(static_cast<uint64_t>(ds.train_size())));
}

}  // namespace moescope
