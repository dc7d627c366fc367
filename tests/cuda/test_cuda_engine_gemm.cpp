// The emulation's reference GEMM (cuda/emu/backend_emu.cpp) against a
// double-precision triple loop written from cuBLAS's definition: column-major,
// C = alpha·op(A)·op(B) + beta·C with op(X) = X or Xᵀ, leading dimensions larger
// than the rows, beta = 0 not reading C (a NaN there does not propagate), and
// grouped products leaving out the empty ones. Bound: 5e-6 relative to the sum of
// |products| (fp32 sums of 37 terms: at worst 37·2⁻²⁴ ≈ 2.2e-6). The GPU build calls cuBLAS itself.
#include <QtTest>

#include <cmath>
#include <random>
#include <vector>

#define MOESCOPE_ENGINE_NS cuda_emu
#include "engine/backend.hpp"

using namespace moescope::cuda_emu;

namespace {

struct Case {
    bool ta, tb;
    int m, n, k, lda, ldb, ldc;
    float alpha, beta;
};

// C(i, j) = alpha Σ_p op(A)(i, p) op(B)(p, j) + beta C(i, j), with its scale Σ|terms|.
void reference(const Case& c, const std::vector<float>& A, const std::vector<float>& B, const std::vector<float>& C0,
               std::vector<double>& out, std::vector<double>& scale) {
    out.assign(C0.size(), 0.0);
    scale.assign(C0.size(), 0.0);
    for (int j = 0; j < c.n; ++j)
        for (int i = 0; i < c.m; ++i) {
            double s = 0, a = 0;
            for (int p = 0; p < c.k; ++p) {
                const double x = c.ta ? A[p + size_t(i) * c.lda] : A[i + size_t(p) * c.lda];
                const double y = c.tb ? B[j + size_t(p) * c.ldb] : B[p + size_t(j) * c.ldb];
                s += x * y;
                a += std::abs(x * y);
            }
            const size_t o = i + size_t(j) * c.ldc;
            const double old = c.beta == 0.f ? 0.0 : c.beta * double(C0[o]);
            out[o] = c.alpha * s + old;
            scale[o] = std::abs(c.alpha) * a + std::abs(old) + 1e-30;
        }
}

}  // namespace

class TestCudaEngineGemm : public QObject {
    Q_OBJECT
private slots:
    void matches_the_cublas_definition();
    void grouped_products_leave_out_empty_ones();
};

void TestCudaEngineGemm::matches_the_cublas_definition() {
    std::mt19937 rng(3);
    std::normal_distribution<float> nd(0.f, 1.f);
    for (const bool ta : {false, true})
        for (const bool tb : {false, true})
            for (const float beta : {0.f, 1.f, -0.5f}) {
                const Case c{ta, tb, 7, 5, 37, (ta ? 37 : 7) + 3, (tb ? 5 : 37) + 2, 7 + 4, 0.75f, beta};
                std::vector<float> A(size_t(c.lda) * (ta ? c.m : c.k)), B(size_t(c.ldb) * (tb ? c.k : c.n));
                std::vector<float> C(size_t(c.ldc) * c.n);
                for (float& x : A) x = nd(rng);
                for (float& x : B) x = nd(rng);
                for (float& x : C) x = beta == 0.f ? NAN : nd(rng);  // beta = 0: C is not read
                std::vector<double> want, scale;
                reference(c, A, B, C, want, scale);
                const std::vector<float> before = C;
                gemm({ta, tb, c.m, c.n, c.k, A.data(), c.lda, B.data(), c.ldb, C.data(), c.ldc}, c.alpha, beta);
                for (int j = 0; j < c.n; ++j)
                    for (int i = 0; i < c.ldc; ++i) {
                        const size_t o = i + size_t(j) * c.ldc;
                        if (i >= c.m) {
                            // rows past m belong to the caller: untouched
                            QVERIFY(C[o] == before[o] || (std::isnan(C[o]) && std::isnan(before[o])));
                            continue;
                        }
                        const double e = std::abs(C[o] - want[o]) / scale[o];
                        QVERIFY2(e <= 5e-6, qPrintable(QString("ta=%1 tb=%2 beta=%3 C(%4,%5): %6 vs %7")
                                                           .arg(ta)
                                                           .arg(tb)
                                                           .arg(beta)
                                                           .arg(i)
                                                           .arg(j)
                                                           .arg(C[o])
                                                           .arg(want[o])));
                    }
            }
}

void TestCudaEngineGemm::grouped_products_leave_out_empty_ones() {
    // Two experts' products into one C; the empty one (n = 0) must not touch C or read its pointers.
    std::vector<float> A = {1, 2, 3, 4}, B = {1, 1, 2, 0}, C(4, -1.f);
    std::vector<Gemm> g(3);
    g[0] = {false, false, 2, 1, 2, A.data(), 2, B.data(), 2, C.data(), 2};         // C[:,0] = A·[1,1]
    g[1] = {false, false, 2, 0, 2, nullptr, 2, nullptr, 2, nullptr, 2};            // empty
    g[2] = {true, false, 2, 1, 2, A.data(), 2, B.data() + 2, 2, C.data() + 2, 2};  // C[:,1] = Aᵀ·[2,0]
    gemm_grouped(g, 1.f, 0.f);
    QCOMPARE(C, (std::vector<float>{4, 6, 2, 6}));
}

QTEST_GUILESS_MAIN(TestCudaEngineGemm)
#include "test_cuda_engine_gemm.moc"
