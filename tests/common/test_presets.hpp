#pragma once
// Presets as the tests use them (tests/common is on every suite's include path).
#include <QtGlobal>
#include <string>

#include "train/config.hpp"

namespace test_presets {

// The seed a multi-seed suite is playing (tests/common/lesson_claims.hpp sets
// it per Qt Test global data row); 0: none.
inline int g_seed = 0;

// The preset, with its seed replaced by the suite's current seed, else by
// MOESCOPE_TEST_SEED when that is set.
inline moescope::Config seeded(const std::string& name) {
    moescope::Config c = moescope::load_preset(name);
    bool ok = false;
    const int seed = qEnvironmentVariableIntValue("MOESCOPE_TEST_SEED", &ok);
    if (g_seed > 0)
        c.seed = g_seed;
    else if (ok)
        c.seed = seed;
    return c;
}

// The preset (seeded as above) with its script dropped and `change` applied:
// a lesson's control run.
template <class F>
moescope::Config control_of(const std::string& name, F change) {
    moescope::Config c = seeded(name);
    c.script.clear();
    change(c);
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
