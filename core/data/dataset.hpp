#pragma once
// Datasets: a fixed train set and a held-out set of feature columns with class
// labels. Every kind (clusters, blobs, moons, spirals, csv, text) produces the
// same value type, so the model and trainer never know which one they train on.
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "nn/rng.hpp"
#include "train/config.hpp"

namespace moescope {

struct Dataset {
    std::string kind;  // config.dataset
    int d_in = 0;      // features per token
    int num_classes = 0;
    std::vector<std::string> class_names;  // num_classes entries ("0".. or CSV labels / characters)
    Eigen::MatrixXf x_train;               // d_in × N_train, one token per column
    std::vector<int32_t> y_train;          // N_train labels in [0, num_classes)
    Eigen::MatrixXf x_test;                // d_in × N_test
    std::vector<int32_t> y_test;
    int sequence = 0;     // lm: tokens per sequence (context); batches, evaluation chunks and probes are whole ones
    std::string summary;  // one line for logs: "clusters: 20000 train / 2000 test, d_in 16, 10 classes"

    long train_size() const { return static_cast<long>(y_train.size()); }
    long test_size() const { return static_cast<long>(y_test.size()); }
};

// Builds the dataset named by cfg.dataset, deterministic from cfg.seed.
// Overrides nothing in cfg: callers read d_in/num_classes from the result.
// Throws DataError for unreadable or malformed files (message names the file
// and line), ConfigError for impossible parameters.
Dataset make_dataset(const Config& cfg);

// The lm dataset's corpus when text_path is empty: Shakespeare's plays as
// collected for char-rnn (resources/data/shakespeare.txt, public domain; 1.1 MB, 65 characters).
inline constexpr const char* kLmCorpus = "shakespeare.txt";
// The file the lm dataset reads: text_path, or the shipped corpus (shipped_data_path).
std::string lm_text_path(const Config& cfg);

// Indices of one training batch (with replacement), drawn from `rng`; for lm,
// batch_tokens / sequence runs of consecutive positions.
void sample_batch(const Dataset& ds, int batch_tokens, Rng& rng, std::vector<int32_t>& indices);

}  // namespace moescope
