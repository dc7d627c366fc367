#pragma once
// The two builds of the CUDA engine as the tests see them: the emulation
// (cuda_emu, every build) and the GPU (cuda_dev, when CUDA is built and a
// device is usable; otherwise its rows QSKIP with the reason). Each test binary
// runs one of them, named by MOESCOPE_CUDA_VARIANT (emu by default): CTest runs
// cuda/test_cuda_engine* on the emulation and cuda/test_cuda_engine*_gpu on the
// GPU, so a machine without one shows the GPU tests as skipped and the emulation's as passed.
#include <QtTest>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/cpu_engine.hpp"
#include "engine/cuda_engine.hpp"
#include "engine/engine_factory.hpp"
#if MOESCOPE_CUDA_BUILT
#include "device.hpp"
#endif

namespace cuda_test {

using namespace moescope;

struct Variant {
    std::string name;
    std::unique_ptr<Engine> (*make)(const Config&, int, int, Rng&, bool host_noise) = nullptr;
    std::vector<float> (*gradients)(const Engine&) = nullptr;
    std::string (*refusal)(const Config&) = nullptr;
    std::string unusable;  // why this variant cannot run here ("" when it can)
};

inline Variant variant(const std::string& name) {
    Variant v;
    v.name = name;
    if (name == "emu") {
        v.make = [](const Config& c, int d_in, int classes, Rng& rng, bool host_noise) {
            return cuda_emu::make_engine(c, d_in, classes, rng, {host_noise});
        };
        v.gradients = &cuda_emu::gradients;
        v.refusal = &cuda_emu::refusal;
        return v;
    }
#if MOESCOPE_CUDA_BUILT
    v.make = [](const Config& c, int d_in, int classes, Rng& rng, bool host_noise) {
        return cuda_dev::make_engine(c, d_in, classes, rng, {host_noise});
    };
    v.gradients = &cuda_dev::gradients;
    v.refusal = &cuda_dev::refusal;
    const cuda_ops::DeviceStatus s = cuda_ops::probe_device();
    if (!s.usable) v.unusable = "no usable CUDA device: " + s.reason;
#else
    v.unusable = "no usable CUDA device: this build has no CUDA backend";
#endif
    return v;
}

// The variant this process tests: "emu" or "gpu".
inline std::vector<const char*> variants() {
    return {qEnvironmentVariable("MOESCOPE_CUDA_VARIANT") == "gpu" ? "gpu" : "emu"};
}
inline void add_variant_column() { QTest::addColumn<QString>("variant"); }
#define CUDA_TEST_VARIANT(v)                                                \
    QFETCH(QString, variant);                                               \
    const cuda_test::Variant v = cuda_test::variant(variant.toStdString()); \
    if (!v.unusable.empty()) QSKIP(qPrintable(QString::fromStdString(v.unusable)))

// A learnable batch: x ~ N(0, 1) (d_in × T), labels from a fixed random teacher, ids = first_id + t.
struct Batch {
    std::vector<float> x;
    std::vector<int32_t> labels, ids;
    HostBatch view() const { return {x.data(), labels.data(), ids.data(), long(labels.size())}; }
};
inline Batch make_batch(int d_in, int classes, long T, unsigned seed) {
    std::mt19937 teacher_rng(12345), rng(seed);
    std::normal_distribution<float> n(0.f, 1.f);
    std::vector<float> teacher(size_t(classes) * d_in);
    for (float& w : teacher) w = n(teacher_rng);
    Batch b;
    b.x.resize(size_t(d_in) * T);
    for (float& v : b.x) v = n(rng);
    for (long t = 0; t < T; ++t) {
        int best = 0;
        float best_s = -1e30f;
        for (int c = 0; c < classes; ++c) {
            float s = 0;
            for (int i = 0; i < d_in; ++i) s += teacher[size_t(c) * d_in + i] * b.x[size_t(t) * d_in + i];
            if (s > best_s) best_s = s, best = c;
        }
        b.labels.push_back(best);
        b.ids.push_back(int32_t(seed * 100000 + t));
    }
    return b;
}

// ‖a − b‖ / max(‖b‖, floor) over [begin, end)
inline double rel_error(const std::vector<float>& a, const std::vector<float>& b, long begin, long end,
                        double floor = 1e-30) {
    double num = 0, den = 0;
    for (long i = begin; i < end; ++i) {
        num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
        den += double(b[i]) * b[i];
    }
    return std::sqrt(num) / std::max(std::sqrt(den), floor);
}

}  // namespace cuda_test
