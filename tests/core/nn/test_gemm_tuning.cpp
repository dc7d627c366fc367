// MOESCOPE_GEMM=auto, the default (core/nn/gemm_tuning.cpp): the first product
// of a shape class times every linked library and keeps the fastest for the
// class; the choice holds for the class (m, n, k by their powers of two), lands in the
// per-machine cache, and travels in snapshots, where a resume on the same
// machine adopts it (its products then run that library, bit for bit) and one
// from another machine is ignored. A damaged cache is ignored and rewritten.
// Tests elsewhere pin MOESCOPE_GEMM=untuned; this one sets auto itself.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "io/snapshot.hpp"
#include "nn/gemm.hpp"
#include "train/trainer.hpp"

using namespace moescope;

namespace {

std::vector<float> random_vector(size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> v(n);
    for (float& x : v) x = u(rng);
    return v;
}

// C = A·B (m×k times k×n) through the model's sgemm.
std::vector<float> product(long m, long n, long k, gemm::SgemmFn fn = gemm::sgemm) {
    const auto A = random_vector(size_t(m * k), 1), B = random_vector(size_t(k * n), 2);
    std::vector<float> C(size_t(m * n));
    fn(false, false, m, n, k, A.data(), m, B.data(), k, C.data(), m, false);
    return C;
}

const gemm::TunedChoice* find(const std::vector<gemm::TunedChoice>& all, const std::string& shape) {
    for (const auto& c : all)
        if (c.shape == shape) return &c;
    return nullptr;
}

}  // namespace

class TestGemmTuning : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    std::string cache_;

private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        cache_ = dir_.filePath("cache/gemm.json").toStdString();
        qputenv("MOESCOPE_GEMM", "auto");  // before the first product: the choice is made once per process
        qputenv("MOESCOPE_GEMM_CACHE", QByteArray::fromStdString(cache_));
        QCOMPARE(gemm::model_key(), std::string("auto"));
        QVERIFY(gemm::tuned_choices().empty());
    }

    void firstProductChoosesPerClass() {
        const std::vector<float> C = product(64, 37, 128);
        auto choices = gemm::tuned_choices();
        QCOMPARE(choices.size(), size_t(1));
        QCOMPARE(choices[0].shape, std::string("NN m<=64 n<=64 k<=128"));
        bool known = false;
        for (const auto& c : gemm::candidates()) known |= c.kernel != "MOESCOPE_GEMM=auto";
        QVERIFY(known);
        // Its product is right (any library: against a plain double sum).
        const auto A = random_vector(64 * 128, 1), B = random_vector(128 * 37, 2);
        for (long j = 0; j < 37; j += 9)
            for (long i = 0; i < 64; i += 7) {
                double ref = 0;
                for (long p = 0; p < 128; ++p) ref += double(A[size_t(i + p * 64)]) * B[size_t(p + j * 128)];
                QVERIFY(std::abs(C[size_t(i + j * 64)] - ref) < 1e-4);
            }
        product(64, 50, 128);  // the same class: no new timing
        QCOMPARE(gemm::tuned_choices().size(), size_t(1));
        product(64, 100, 128);  // n ≤ 128: a new class
        choices = gemm::tuned_choices();
        QCOMPARE(choices.size(), size_t(2));
        QVERIFY(find(choices, "NN m<=64 n<=128 k<=128"));
    }

    void cacheHoldsTheChoices() {
        std::ifstream in(cache_);
        QVERIFY2(in.good(), cache_.c_str());
        const nlohmann::json j = nlohmann::json::parse(in);
        QCOMPARE(j.value("format", std::string()), std::string("moescope-gemm-tuning"));
        QCOMPARE(j.at("choices").size(), size_t(2));
    }

    // A snapshot's choices from this machine replace the process's for their classes.
    void adoptedChoicesRunThatLibrary() {
        nlohmann::json t = nlohmann::json::parse(gemm::tuning_json());
        QVERIFY(t.contains("machine"));
        const std::vector<gemm::Candidate> libs = gemm::candidates();
        QVERIFY(libs.size() >= 2);
        const std::vector<gemm::TunedChoice> before = gemm::tuned_choices();
        const auto* now = find(before, "NN m<=64 n<=64 k<=128");
        QVERIFY(now);
        // Another library than the tuned one, by its MOESCOPE_GEMM key.
        const std::string other = now->library == "eigen" ? "openblas" : "eigen";
        gemm::SgemmFn other_fn = nullptr;
        for (const auto& c : libs)
            if ((other == "eigen" && c.name.rfind("Eigen", 0) == 0 && c.kernel != "AVX-512") ||
                (other == "openblas" && c.name.rfind("OpenBLAS", 0) == 0))
                other_fn = c.fn;
        if (!other_fn) QSKIP("this build links no second library to adopt");
        for (auto& [key, v] : t["choices"].items())
            if (v[0] == "NN m<=64 n<=64 k<=128") v[1] = other;
        QVERIFY(gemm::adopt_tuning_json(t.dump()));
        QCOMPARE(find(gemm::tuned_choices(), "NN m<=64 n<=64 k<=128")->library, other);  // used at once, no dangling
        const std::vector<float> via_model = product(64, 37, 128), via_other = product(64, 37, 128, other_fn);
        QVERIFY(std::memcmp(via_model.data(), via_other.data(), via_model.size() * sizeof(float)) == 0);
        // From another machine: ignored.
        t["machine"] = "another CPU";
        for (auto& [key, v] : t["choices"].items()) v[1] = now->library;
        QVERIFY(!gemm::adopt_tuning_json(t.dump()));
        QCOMPARE(find(gemm::tuned_choices(), "NN m<=64 n<=64 k<=128")->library, other);
        QVERIFY(!gemm::adopt_tuning_json("not json"));
    }

    // The trainer's state carries them, and a snapshot keeps them.
    void snapshotsCarryTheChoices() {
        Config c = load_preset("default");
        c.batch_tokens = 64;
        Trainer tr(c);
        for (int i = 0; i < 3; ++i) tr.step();
        const TrainerState st = tr.export_state();
        QVERIFY(!st.gemm.empty());
        const std::string path = dir_.filePath("s.moesnap").toStdString();
        save_snapshot(path, st, nullptr);
        QCOMPARE(load_snapshot(path).state.gemm, st.gemm);
        QVERIFY(gemm::tuned_choices().size() > 2);  // the model's own shapes were tuned
    }

    // A damaged cache: training runs, and the cache is written anew.
    void damagedCacheIsRewritten() {
        const QString cache = dir_.filePath("bad.json");
        {
            std::ofstream out(cache.toStdString());
            out << "{\"machine\": 7, \"choices\": [";
        }
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("MOESCOPE_GEMM", "auto");
        env.insert("MOESCOPE_GEMM_CACHE", cache);
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(MOESCOPE_CLI), {"train", "--preset", "default", "--steps", "3", "--quiet"});
        QVERIFY(p.waitForFinished(60000));
        QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
        std::ifstream in(cache.toStdString());
        const nlohmann::json j = nlohmann::json::parse(in);
        QVERIFY(j.at("choices").size() > 0);
    }
};

QTEST_GUILESS_MAIN(TestGemmTuning)
#include "test_gemm_tuning.moc"
