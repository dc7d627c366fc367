// Op parity for the sgemm behind the model (core/nn/gemm): every library this
// build links, every transpose pair, overwrite and accumulate, blocks with a
// leading dimension larger than their rows, and edge shapes, against a double
// reference; the model's sgemm is deterministic; float and double matmul agree.
#include <QtTest>

#include <cmath>
#include <random>

#include "nn/gemm.hpp"

using namespace moescope;

namespace {

struct Shape {
    long m, n, k;
};

// A column-major matrix of `cols` columns with leading dimension ld (padding
// rows included), filled with uniform [-1, 1).
std::vector<float> random_matrix(long cols, long ld, std::mt19937& rng) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> v(size_t(std::max(1L, ld * cols)));
    for (float& x : v) x = u(rng);
    return v;
}

// max |C − C_ref| ÷ (max |C_ref| + 1) over the m×n block; padding rows must be untouched.
double relative_error(const gemm::SgemmFn fn, bool ta, bool tb, Shape s, bool accumulate, bool* padding_ok) {
    std::mt19937 rng(unsigned(s.m * 131 + s.n * 17 + s.k + ta * 2 + tb));
    const long pad = 3;
    const long ar = ta ? s.k : s.m, ac = ta ? s.m : s.k, br = tb ? s.n : s.k, bc = tb ? s.k : s.n;
    const long lda = ar + pad, ldb = br + pad, ldc = s.m + pad;
    const std::vector<float> A = random_matrix(ac, lda, rng), B = random_matrix(bc, ldb, rng);
    std::vector<float> C = random_matrix(s.n, ldc, rng);
    const std::vector<float> C0 = C;
    fn(ta, tb, s.m, s.n, s.k, A.data(), lda, B.data(), ldb, C.data(), ldc, accumulate);
    double err = 0, scale = 0;
    *padding_ok = true;
    for (long j = 0; j < s.n; ++j) {
        for (long i = 0; i < s.m; ++i) {
            double ref = accumulate ? double(C0[size_t(i + j * ldc)]) : 0.0;
            for (long p = 0; p < s.k; ++p) {
                const double a = ta ? A[size_t(p + i * lda)] : A[size_t(i + p * lda)];
                const double b = tb ? B[size_t(j + p * ldb)] : B[size_t(p + j * ldb)];
                ref += a * b;
            }
            err = std::max(err, std::abs(ref - double(C[size_t(i + j * ldc)])));
            scale = std::max(scale, std::abs(ref));
        }
        for (long i = s.m; i < ldc; ++i) *padding_ok &= C[size_t(i + j * ldc)] == C0[size_t(i + j * ldc)];
    }
    return err / (scale + 1);
}

const Shape kShapes[] = {{1, 1, 1}, {7, 5, 3}, {33, 17, 65}, {64, 48, 100}, {130, 9, 257}, {5, 70, 1}};

}  // namespace

class TestGemm : public QObject {
    Q_OBJECT

private slots:
    void candidates_are_listed();
    void every_candidate_matches_the_reference();
    void model_sgemm_handles_empty_shapes();
    void model_sgemm_is_deterministic();
    void float_and_double_matmul_agree();
};

void TestGemm::candidates_are_listed() {
    const auto list = gemm::candidates();
    QVERIFY(!list.empty());
    int used = 0;
    for (const auto& c : list) {
        QVERIFY2(!c.name.empty() && !c.kernel.empty() && c.fn, qPrintable(QString::fromStdString(c.name)));
        used += c.used_by_model;
    }
    QCOMPARE(used, 1);
    QVERIFY(list.front().used_by_model);
    QCOMPARE(gemm::model_sgemm(), list.front().name + " (" + list.front().kernel + ")");
}

void TestGemm::every_candidate_matches_the_reference() {
    auto list = gemm::candidates();
    list.push_back({"gemm::sgemm", "model", gemm::sgemm, true});
    for (const auto& c : list)
        for (int t = 0; t < 4; ++t)
            for (bool acc : {false, true})
                for (const Shape& s : kShapes) {
                    bool padding_ok = false;
                    const double err = relative_error(c.fn, t & 1, t & 2, s, acc, &padding_ok);
                    const QString what = QString("%1 (%2) ta=%3 tb=%4 acc=%5 %6×%7×%8: error %9")
                                             .arg(QString::fromStdString(c.name), QString::fromStdString(c.kernel))
                                             .arg(t & 1)
                                             .arg((t & 2) >> 1)
                                             .arg(acc)
                                             .arg(s.m)
                                             .arg(s.n)
                                             .arg(s.k)
                                             .arg(err);
                    // float sums of ≤ 257 products of magnitude ≤ 1: ~1e-6 relative; a wrong index is O(1).
                    QVERIFY2(err < 1e-4, qPrintable(what));
                    QVERIFY2(padding_ok, qPrintable(what + ", wrote outside the block"));
                }
}

void TestGemm::model_sgemm_handles_empty_shapes() {
    std::vector<float> A(12, 1.0f), B(12, 1.0f), C(12, 5.0f);
    // k = 0: C = 0 (overwrite) or unchanged (accumulate)
    gemm::sgemm(false, false, 3, 4, 0, A.data(), 3, B.data(), 1, C.data(), 3, true);
    for (float v : C) QCOMPARE(v, 5.0f);
    gemm::sgemm(false, false, 3, 4, 0, A.data(), 3, B.data(), 1, C.data(), 3, false);
    for (float v : C) QCOMPARE(v, 0.0f);
    // m = 0 or n = 0: nothing to write
    std::fill(C.begin(), C.end(), 7.0f);
    gemm::sgemm(false, false, 0, 4, 3, A.data(), 1, B.data(), 3, C.data(), 1, false);
    gemm::sgemm(false, false, 3, 0, 3, A.data(), 3, B.data(), 3, C.data(), 3, false);
    for (float v : C) QCOMPARE(v, 7.0f);
}

void TestGemm::model_sgemm_is_deterministic() {
    std::mt19937 rng(5);
    const long m = 200, n = 150, k = 300;
    const auto A = random_matrix(k, m, rng), B = random_matrix(n, k, rng);
    std::vector<float> C1(size_t(m * n)), C2(size_t(m * n));
    gemm::sgemm(false, false, m, n, k, A.data(), m, B.data(), k, C1.data(), m, false);
    gemm::sgemm(false, false, m, n, k, A.data(), m, B.data(), k, C2.data(), m, false);
    QVERIFY(C1 == C2);
}

void TestGemm::float_and_double_matmul_agree() {
    const Mat<double> a = Mat<double>::Random(40, 30), b = Mat<double>::Random(40, 20);
    // out = aᵀ·b on a block of a wider matrix, then out += aᵀ·b
    Mat<double> wide_d = Mat<double>::Zero(30, 50);
    Mat<float> wide_f = Mat<float>::Zero(30, 50);
    gemm::matmul<double>(wide_d.middleCols(10, 20), a, true, b, false, false);
    gemm::matmul<float>(wide_f.middleCols(10, 20), a.cast<float>().eval(), true, b.cast<float>().eval(), false, false);
    const Mat<double> ref = a.transpose() * b;
    QVERIFY((wide_d.middleCols(10, 20) - ref).norm() < 1e-12 * ref.norm());
    QVERIFY((wide_f.middleCols(10, 20).cast<double>() - ref).norm() < 1e-5 * ref.norm());
    QCOMPARE(wide_f.leftCols(10).norm(), 0.0f);
    gemm::matmul<double>(wide_d.middleCols(10, 20), a, true, b, false, true);
    QVERIFY((wide_d.middleCols(10, 20) - 2 * ref).norm() < 1e-12 * ref.norm());
}

QTEST_APPLESS_MAIN(TestGemm)
#include "test_gemm.moc"
