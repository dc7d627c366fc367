// Causal multi-head self-attention (core/nn/attention.hpp), the first piece of
// the MoE language model: finite-difference gradient checks in double for
// every weight and the input (as tests/core/nn/test_gradcheck does for the
// other ops: h = 1e-6, bound 1e-6), causality (a token's output never depends
// on a later token), each attention column a distribution, and the float path
// (the model's sgemm) against double; and the whole op against PyTorch's own
// torch.nn.MultiheadAttention (tests/python/attention_reference.py; skipped
// without python3-torch).
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

#include <cmath>
#include <functional>

#include "finite_difference.hpp"
#include "nn/attention.hpp"
#include "nn/rng.hpp"
#include "python_reference.hpp"

using namespace moescope;

namespace {

using test::gradient_error;
constexpr double kBound = test::kGradBound;

template <class S>
Mat<S> random_matrix(long r, long c, Rng& rng, double scale) {
    Mat<S> m(r, c);
    for (long i = 0; i < m.size(); ++i) m.data()[i] = S(rng.normal() * scale);
    return m;
}

// Weights, input and a fixed projection R of the output (the scalar loss Σ R ⊙ y).
template <class S>
struct Case {
    AttentionShape shape;
    Mat<S> Wq, Wk, Wv, Wo, x, R;
    explicit Case(AttentionShape s, uint64_t seed = 7) : shape(s) {
        Rng rng(seed);
        const double ws = 1.0 / std::sqrt(double(s.d));
        Wq = random_matrix<S>(s.d, s.d, rng, 2 * ws);  // scores far from uniform: a real softmax
        Wk = random_matrix<S>(s.d, s.d, rng, 2 * ws);
        Wv = random_matrix<S>(s.d, s.d, rng, ws);
        Wo = random_matrix<S>(s.d, s.d, rng, ws);
        x = random_matrix<S>(s.d, s.tokens(), rng, 1.0);
        R = random_matrix<S>(s.d, s.tokens(), rng, 1.0);
    }
    AttentionWeights<S> weights() const { return {Wq.data(), Wk.data(), Wv.data(), Wo.data()}; }
    Mat<S> forward(AttentionCache<S>* keep = nullptr) const {
        AttentionCache<S> cache;
        Mat<S> y;
        attention_forward(shape, weights(), x, keep ? *keep : cache, y);
        return y;
    }
    double loss() const { return double(forward().cwiseProduct(R).sum()); }
};

}  // namespace

class TestAttention : public QObject {
    Q_OBJECT

private slots:
    void gradientsMatchFiniteDifferences_data() {
        QTest::addColumn<int>("d");
        QTest::addColumn<int>("heads");
        QTest::addColumn<int>("batch");
        QTest::addColumn<int>("len");
        QTest::newRow("one head") << 6 << 1 << 1 << 5;
        QTest::newRow("two heads, two sequences") << 8 << 2 << 2 << 4;
        QTest::newRow("four heads, one token") << 8 << 4 << 3 << 1;
    }
    void gradientsMatchFiniteDifferences() {
        QFETCH(int, d);
        QFETCH(int, heads);
        QFETCH(int, batch);
        QFETCH(int, len);
        Case<double> c({d, heads, batch, len});
        AttentionCache<double> cache;
        c.forward(&cache);
        Mat<double> gq(d, d), gk(d, d), gv(d, d), go(d, d), dx;
        attention_backward(c.shape, c.weights(), c.x, cache, c.R, {gq.data(), gk.data(), gv.data(), go.data()}, dx);
        const auto f = [&] { return c.loss(); };
        const struct {
            const char* name;
            Mat<double>* param;
            const Mat<double>* grad;
        } checks[] = {{"Wq", &c.Wq, &gq}, {"Wk", &c.Wk, &gk}, {"Wv", &c.Wv, &gv}, {"Wo", &c.Wo, &go}, {"x", &c.x, &dx}};
        for (const auto& k : checks) {
            const double err = gradient_error(k.param->data(), k.param->size(), k.grad->data(), f);
            QVERIFY2(err < kBound, qPrintable(QString("%1: relative error %2").arg(k.name).arg(err)));
        }
    }

    // Changing token t+1.. of a sequence leaves tokens ≤ t of it, and every other sequence, unchanged.
    void aTokenNeverSeesLaterTokens() {
        Case<double> c({8, 2, 2, 6});
        const Mat<double> before = c.forward();
        const long t = 2, L = 6;
        for (long s = t + 1; s < L; ++s) c.x.col(s) += Vec<double>::Constant(8, 3.0);  // sequence 0, after t
        const Mat<double> after = c.forward();
        QCOMPARE((after.leftCols(t + 1) - before.leftCols(t + 1)).norm(), 0.0);
        QCOMPARE((after.rightCols(L) - before.rightCols(L)).norm(), 0.0);  // sequence 1
        QVERIFY((after.col(t + 1) - before.col(t + 1)).norm() > 1e-3);
    }

    void eachColumnIsADistribution() {
        Case<double> c({8, 2, 1, 7});
        AttentionCache<double> cache;
        c.forward(&cache);
        QCOMPARE(cache.p.size(), size_t(2));
        for (const auto& P : cache.p)
            for (long t = 0; t < 7; ++t) {
                QVERIFY(std::abs(P.col(t).sum() - 1.0) < 1e-12);
                for (long s = 0; s < 7; ++s) QVERIFY(s <= t ? P(s, t) > 0 : P(s, t) == 0);
            }
        QCOMPARE(cache.p[0](0, 0), 1.0);  // the first token attends only to itself
    }

    // torch.nn.MultiheadAttention (bias=False, a causal mask), float64: the same output and gradients.
    void matchesPytorch() {
        Case<double> c({12, 3, 2, 5});
        AttentionCache<double> cache;
        const Mat<double> y = c.forward(&cache);
        Mat<double> gq(12, 12), gk(12, 12), gv(12, 12), go(12, 12), dx;
        attention_backward(c.shape, c.weights(), c.x, cache, c.R, {gq.data(), gk.data(), gv.data(), go.data()}, dx);
        auto array = [](const Mat<double>& m) {
            QJsonArray a;
            for (long i = 0; i < m.size(); ++i) a.append(m.data()[i]);
            return a;
        };
        const QJsonObject in{{"d", 12},           {"heads", 3},        {"batch", 2},        {"len", 5},
                             {"Wq", array(c.Wq)}, {"Wk", array(c.Wk)}, {"Wv", array(c.Wv)}, {"Wo", array(c.Wo)},
                             {"x", array(c.x)},   {"R", array(c.R)}};
        QJsonObject out;
        RUN_PYTHON_REFERENCE("attention_reference.py", in, out);
        const struct {
            const char* key;
            const Mat<double>* ours;
        } checks[] = {{"y", &y}, {"Wq", &gq}, {"Wk", &gk}, {"Wv", &gv}, {"Wo", &go}, {"x", &dx}};
        for (const auto& k : checks) {
            const QJsonArray theirs = out.value(k.key).toArray();
            QCOMPARE(long(theirs.size()), long(k.ours->size()));
            double diff = 0, norm = 0;
            for (long i = 0; i < k.ours->size(); ++i) {
                diff = std::max(diff, std::abs(theirs[int(i)].toDouble() - k.ours->data()[i]));
                norm = std::max(norm, std::abs(k.ours->data()[i]));
            }
            QVERIFY2(diff <= 1e-12 * std::max(1.0, norm),
                     qPrintable(QString("%1: max difference %2").arg(k.key).arg(diff)));
        }
    }

    // The float path (the model's sgemm: oneDNN, OpenBLAS or Eigen) agrees with double.
    void floatMatchesDouble() {
        Case<double> cd({16, 4, 2, 9});
        Case<float> cf({16, 4, 2, 9});
        const Mat<double> yd = cd.forward();
        const Mat<float> yf = cf.forward();
        QVERIFY2((yf.cast<double>() - yd).norm() / yd.norm() < 1e-5,
                 qPrintable(QString::number((yf.cast<double>() - yd).norm() / yd.norm())));
        AttentionCache<double> kd;
        AttentionCache<float> kf;
        cd.forward(&kd);
        cf.forward(&kf);
        Mat<double> gd[4] = {Mat<double>(16, 16), Mat<double>(16, 16), Mat<double>(16, 16), Mat<double>(16, 16)}, dxd;
        Mat<float> gf[4] = {Mat<float>(16, 16), Mat<float>(16, 16), Mat<float>(16, 16), Mat<float>(16, 16)}, dxf;
        attention_backward(cd.shape, cd.weights(), cd.x, kd, cd.R,
                           {gd[0].data(), gd[1].data(), gd[2].data(), gd[3].data()}, dxd);
        attention_backward(cf.shape, cf.weights(), cf.x, kf, cf.R,
                           {gf[0].data(), gf[1].data(), gf[2].data(), gf[3].data()}, dxf);
        for (int i = 0; i < 4; ++i) QVERIFY((gf[i].cast<double>() - gd[i]).norm() / gd[i].norm() < 1e-4);
        QVERIFY((dxf.cast<double>() - dxd).norm() / dxd.norm() < 1e-4);
    }
};

QTEST_GUILESS_MAIN(TestAttention)
#include "test_attention.moc"
