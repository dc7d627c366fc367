// The CUDA backend against the CPU reference. Op parity (math tests): every op
// of cuda/ops.cuh runs on the same inputs as core/ops.hpp (or Optimizer::step,
// or Eigen for sgemm) and must agree to fp32 rounding:
//   elementwise ops   |gpu − cpu| ≤ 1e-5 · max(1, |cpu|)  (relative; absolute below 1,
//                     where GELU's 1 + tanh cancels and single ulps of tanh show)
//   sgemm             ‖gpu − cpu‖_F ≤ 1e-5 · ‖cpu‖_F       (sums of k products in different orders)
// The parity tests need a usable GPU and skip with the probe's reason without one.
// The probe and the error macros are tested everywhere, GPU or not.
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "cublas_loader.hpp"
#include "cuda_check.hpp"
#include "device.hpp"
#include "device_buffer.hpp"
#include "error.hpp"
#include "nn/ops.hpp"
#include "nn/optimizer.hpp"
#include "nn/params.hpp"
#include "ops.cuh"
#include "train/config.hpp"

using namespace moescope;
using cuda_ops::DeviceBuffer;
using MatF = Mat<float>;

namespace {

constexpr double kTolerance = 1e-5;

#define REQUIRE_GPU()                                                                                 \
    do {                                                                                              \
        const cuda_ops::DeviceStatus gpu_ = cuda_ops::probe_device();                                 \
        if (!gpu_.usable) QSKIP(qPrintable("no usable GPU: " + QString::fromStdString(gpu_.reason))); \
    } while (0)

std::vector<float> uniform(size_t n, float lo, float hi, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    return v;
}

// max_i |gpu_i − cpu_i| / max(1, |cpu_i|)
double elementwise_error(const std::vector<float>& gpu, const float* cpu, size_t n) {
    if (gpu.size() != n) return INFINITY;
    double worst = 0;
    for (size_t i = 0; i < n; ++i) {
        const double e = std::abs(double(gpu[i]) - cpu[i]) / std::max(1.0, std::abs(double(cpu[i])));
        if (!(e <= worst)) worst = e;  // NaN wins
    }
    return worst;
}
double elementwise_error(const std::vector<float>& gpu, const std::vector<float>& cpu) {
    return elementwise_error(gpu, cpu.data(), cpu.size());
}
double elementwise_error(const std::vector<float>& gpu, const MatF& cpu) {
    return elementwise_error(gpu, cpu.data(), size_t(cpu.size()));
}

#define QVERIFY_CLOSE(err, what) \
    QVERIFY2((err) <= kTolerance, qPrintable(QString("%1: error %2 > %3").arg(what).arg(err).arg(kTolerance)))

MatF to_mat(const std::vector<float>& v, long rows, long cols) { return Eigen::Map<const MatF>(v.data(), rows, cols); }

}  // namespace

class TestCudaOps : public QObject {
    Q_OBJECT

private slots:
    // Runs everywhere: without a GPU the probe answers, it does not throw.
    void probe_answers_with_a_reason() {
        cuda_ops::DeviceStatus s;
        QVERIFY_THROWS_NO_EXCEPTION(s = cuda_ops::probe_device());
        if (s.usable) {
            QVERIFY2(s.reason.empty(), s.reason.c_str());
            QVERIFY(!s.name.empty());
            QVERIFY(s.cc_major >= 7);
            QVERIFY(s.memory > 0);
        } else {
            QVERIFY(!s.reason.empty());
            QVERIFY2(s.reason.find('\n') == std::string::npos, s.reason.c_str());
        }
        const cuda_ops::DeviceStatus again = cuda_ops::probe_device();
        QCOMPARE(again.usable, s.usable);
        QCOMPARE(again.reason, s.reason);
        qInfo("probe: %s", s.usable ? s.name.c_str() : s.reason.c_str());
    }

    void cuda_version_text_is_major_dot_minor() {
        QCOMPARE(cuda_ops::cuda_version_text(13000), std::string("13.0"));
        QCOMPARE(cuda_ops::cuda_version_text(12040), std::string("12.4"));
    }

    // Runs everywhere: a failing call throws Error naming file:line and the call.
    void check_macros_throw_with_file_line_and_call() {
        try {
            CUDA_CHECK(cudaSetDevice(-1));  // an invalid device number, with or without a GPU
            QFAIL("CUDA_CHECK did not throw");
        } catch (const Error& e) {
            const std::string m = e.what();
            QVERIFY2(m.find("test_cuda_ops.cpp:") != std::string::npos, e.what());
            QVERIFY2(m.find("cudaSetDevice(-1) failed: cuda") != std::string::npos, e.what());
        }
        cudaGetLastError();
        try {
            // Loads cuBLAS; a null handle then fails inside it before any GPU work.
            const cuda_ops::CublasApi& api = cuda_ops::cublas_api();
            const float one = 1.f;
            CUBLAS_CHECK(
                api.sgemm(nullptr, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, nullptr, 1, nullptr, 1, &one, nullptr, 1));
            QFAIL("CUBLAS_CHECK did not throw");
        } catch (const Error& e) {
            const std::string m = e.what();
            QVERIFY2(m.find("test_cuda_ops.cpp:") != std::string::npos, e.what());
            QVERIFY2(m.find("api.sgemm(nullptr") != std::string::npos, e.what());
            QVERIFY2(m.find("failed: CUBLAS_STATUS_NOT_INITIALIZED") != std::string::npos, e.what());
        }
    }

    void gelu_matches_cpu() {
        REQUIRE_GPU();
        const long n = 4099;  // not a multiple of the block size
        const std::vector<float> x = uniform(n, -6.f, 6.f, 1), dy = uniform(n, -1.f, 1.f, 2);
        std::vector<float> y(n), dx(n);
        ops::gelu_forward(y.data(), x.data(), n);
        ops::gelu_backward(dx.data(), dy.data(), x.data(), n);

        DeviceBuffer<float> dX(x), dDY(dy), dY(n), dDX(n);
        cuda_ops::gelu_forward(dY.data(), dX.data(), n);
        cuda_ops::gelu_backward(dDX.data(), dDY.data(), dX.data(), n);
        QVERIFY_CLOSE(elementwise_error(dY.to_host(), y), "gelu_forward");
        QVERIFY_CLOSE(elementwise_error(dDX.to_host(), dx), "gelu_backward");

        // din may alias dout, as on the CPU
        cuda_ops::gelu_backward(dDY.data(), dDY.data(), dX.data(), n);
        QVERIFY_CLOSE(elementwise_error(dDY.to_host(), dx), "gelu_backward in place");
    }

    void softmax_columns_matches_cpu_data() {
        QTest::addColumn<int>("rows");
        QTest::addColumn<float>("inv_temperature");
        QTest::newRow("8 experts") << 8 << 1.f;
        QTest::newRow("37 rows, two passes per lane") << 37 << 1.f;
        QTest::newRow("temperature 2") << 16 << 0.5f;
        QTest::newRow("1 row") << 1 << 1.f;
    }
    void softmax_columns_matches_cpu() {
        REQUIRE_GPU();
        QFETCH(int, rows);
        QFETCH(float, inv_temperature);
        const int cols = 1003;
        const std::vector<float> z = uniform(size_t(rows) * cols, -8.f, 8.f, 3);
        MatF p(rows, cols);
        ops::softmax_columns<float>(p, to_mat(z, rows, cols), inv_temperature);

        DeviceBuffer<float> dZ(z), dP(z.size());
        cuda_ops::softmax_columns(dP.data(), dZ.data(), rows, cols, inv_temperature);
        QVERIFY_CLOSE(elementwise_error(dP.to_host(), p), "softmax_columns");
        cuda_ops::softmax_columns(dZ.data(), dZ.data(), rows, cols, inv_temperature);  // in place
        QVERIFY_CLOSE(elementwise_error(dZ.to_host(), p), "softmax_columns in place");
    }

    void cross_entropy_matches_cpu_data() {
        QTest::addColumn<int>("classes");
        QTest::newRow("10 classes") << 10;
        QTest::newRow("40 classes") << 40;
    }
    void cross_entropy_matches_cpu() {
        REQUIRE_GPU();
        QFETCH(int, classes);
        const int T = 777;
        const std::vector<float> z = uniform(size_t(classes) * T, -4.f, 4.f, 4);
        std::vector<int32_t> y(T);
        std::mt19937 rng(5);
        for (auto& l : y) l = int32_t(rng() % unsigned(classes));

        const MatF logits = to_mat(z, classes, T);
        MatF probs(classes, T), dlogits(classes, T);
        long correct = -1;
        const float loss = ops::cross_entropy_forward<float>(probs, logits, y.data(), &correct);
        ops::cross_entropy_backward<float>(dlogits, probs, y.data());

        DeviceBuffer<float> dZ(z), dProbs(z.size()), dLoss(T), dDlogits(z.size());
        DeviceBuffer<int32_t> dY(y), dCorrect(T);
        cuda_ops::cross_entropy_forward(dProbs.data(), dLoss.data(), dCorrect.data(), dZ.data(), dY.data(), classes, T);
        long gpu_correct = -1;
        const float gpu_loss = cuda_ops::cross_entropy_mean(dLoss.data(), dCorrect.data(), T, &gpu_correct);
        cuda_ops::cross_entropy_backward(dDlogits.data(), dProbs.data(), dY.data(), classes, T);

        QVERIFY_CLOSE(std::abs(double(gpu_loss) - loss) / std::abs(double(loss)), "cross-entropy loss");
        QCOMPARE(gpu_correct, correct);
        QVERIFY_CLOSE(elementwise_error(dProbs.to_host(), probs), "cross-entropy probs");
        QVERIFY_CLOSE(elementwise_error(dDlogits.to_host(), dlogits), "cross_entropy_backward");
    }

    // Three AdamW steps of the real optimizer (three parameter groups, own router
    // LR, weight decay on matrices only) against adamw_step called per group.
    void adamw_step_matches_optimizer() {
        REQUIRE_GPU();
        Config c;
        c.optimizer = "adamw";
        c.lr = 3e-3;
        c.router_lr = 2e-2;
        c.weight_decay = 0.1;
        const ParamLayout layout = ParamLayout::build(c, c.d_in, c.classes);
        const long n = layout.total;
        const std::vector<float> init = uniform(n, -1.f, 1.f, 6);
        AlignedVector<float> params(init.begin(), init.end());
        std::vector<uint8_t> decay(n, 0);
        for (const auto& t : layout.tensors)
            if (t.decay) std::fill(decay.begin() + t.offset, decay.begin() + t.offset + t.size(), 1);

        DeviceBuffer<float> dP(init), dG(n), dM(std::vector<float>(n, 0.f)), dV(std::vector<float>(n, 0.f));
        DeviceBuffer<uint8_t> dDecay(decay);
        Optimizer opt(layout);
        for (long t = 1; t <= 3; ++t) {
            const std::vector<float> grads = uniform(n, -0.5f, 0.5f, 10 + unsigned(t));
            opt.step(params, AlignedVector<float>(grads.begin(), grads.end()), c);
            dG.upload(grads.data(), grads.size());
            for (int g = 0; g < kParamGroups; ++g) {
                const long b = layout.group_begin[g], e = layout.group_end[g];
                cuda_ops::AdamWStep s;
                s.lr = float(g == int(ParamGroup::Router) ? c.router_lr : c.lr);
                s.weight_decay = float(c.weight_decay);
                s.t = t;
                cuda_ops::adamw_step(dP.data() + b, dG.data() + b, dM.data() + b, dV.data() + b, dDecay.data() + b,
                                     e - b, s);
            }
        }
        QVERIFY_CLOSE(elementwise_error(dP.to_host(), params.data(), params.size()), "AdamW parameters");
        QVERIFY_CLOSE(elementwise_error(dM.to_host(), opt.first_moment()), "AdamW first moment");
        QVERIFY_CLOSE(elementwise_error(dV.to_host(), opt.second_moment()), "AdamW second moment");
    }

    void sgemm_matches_eigen_data() {
        QTest::addColumn<bool>("ta");
        QTest::addColumn<bool>("tb");
        QTest::addColumn<float>("beta");
        QTest::newRow("W·X (forward)") << false << false << 0.f;
        QTest::newRow("Wᵀ·dY (input gradient)") << true << false << 0.f;
        QTest::newRow("dW += dY·Xᵀ (weight gradient)") << false << true << 1.f;
        QTest::newRow("Aᵀ·Bᵀ") << true << true << 0.f;
    }
    void sgemm_matches_eigen() {
        REQUIRE_GPU();
        QFETCH(bool, ta);
        QFETCH(bool, tb);
        QFETCH(float, beta);
        const int m = 301, n = 203, k = 157;
        // Stored shapes: A is m×k (k×m when transposed), B is k×n (n×k).
        const int ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
        const std::vector<float> a = uniform(size_t(ar) * ac, -1.f, 1.f, 7), b = uniform(size_t(br) * bc, -1.f, 1.f, 8),
                                 c0 = uniform(size_t(m) * n, -1.f, 1.f, 9);
        const MatF A = to_mat(a, ar, ac), B = to_mat(b, br, bc);
        const MatF opA = ta ? MatF(A.transpose()) : A, opB = tb ? MatF(B.transpose()) : B;
        // C = 0.5·op(A)·op(B) + beta·C0
        const MatF C = 0.5f * (opA * opB) + beta * to_mat(c0, m, n);

        const cuda_ops::Blas blas;
        DeviceBuffer<float> dA(a), dB(b), dC(c0);
        cuda_ops::sgemm(blas, ta, tb, m, n, k, 0.5f, dA.data(), ar, dB.data(), br, beta, dC.data(), m);
        const MatF got = to_mat(dC.to_host(), m, n);
        const double err = (got - C).norm() / C.norm();
        QVERIFY_CLOSE(err, "sgemm");
    }

    void sgemm_peak_is_positive() {
        REQUIRE_GPU();
        const double gflops = cuda_ops::measure_sgemm_peak(1024, 512, 256);
        QVERIFY2(gflops > 100 && std::isfinite(gflops), qPrintable(QString::number(gflops)));
        qInfo("cuBLAS sgemm 1024×512×256: %.0f GFLOP/s", gflops);
    }
};

QTEST_GUILESS_MAIN(TestCudaOps)
#include "test_cuda_ops.moc"
