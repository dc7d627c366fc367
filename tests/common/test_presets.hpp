#pragma once
// Presets as the tests use them (tests/common is on every suite's include path).
#include <QtGlobal>
#include <string>

#include "train/config.hpp"

namespace test_presets {

// The preset, with its seed replaced by MOESCOPE_TEST_SEED when that is set: the
// behaviour and lesson thresholds were checked over seeds 1–6 in portable and
// x86-64-v3 builds (for s in 1 2 3 4 5 6; do MOESCOPE_TEST_SEED=$s ./core_test_...; done).
inline moescope::Config seeded(const std::string& name) {
    moescope::Config c = moescope::load_preset(name);
    bool ok = false;
    const int seed = qEnvironmentVariableIntValue("MOESCOPE_TEST_SEED", &ok);
    if (ok) c.seed = seed;
    return c;
}

// The preset at 256 tokens per step: window tests want many frames, quickly.
inline moescope::Config small(const std::string& name) {
    moescope::Config c = moescope::load_preset(name);
    c.batch_tokens = 256;
    return c;
}

// The default preset shrunk to a model that trains a step in well under a
// millisecond: 4 experts, 1 layer, d_model 16, 64 tokens, 1000/200 samples.
inline moescope::Config tiny() {
    moescope::Config c = moescope::load_preset("default");
    c.experts = 4;
    c.layers = 1;
    c.d_model = 16;
    c.d_ff = 32;
    c.batch_tokens = 64;
    c.train_samples = 1000;
    c.test_samples = 200;
    return c;
}

}  // namespace test_presets
