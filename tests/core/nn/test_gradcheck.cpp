// Finite-difference gradient checks in double precision: every op on its own,
// every router loss term, and the whole model under every routing policy.
// Central differences with h = 1e-6 have truncation error ~h² and rounding
// error ~1e-16/h, so a correct gradient agrees to ~1e-8 relative; the bound
// below (1e-6) leaves room for that and catches any real mistake, which shows
// up at 1e-2 or worse.
#include <QtTest>

#include <cmath>
#include <functional>

#include "finite_difference.hpp"
#include "nn/model.hpp"
#include "nn/ops.hpp"
#include "train/knobs.hpp"

using namespace moescope;
using MatD = Mat<double>;
using VecD = Vec<double>;

namespace {

using test::gradient_error;
constexpr double kBound = test::kGradBound;

MatD random_matrix(long r, long c, Rng& rng, double scale = 1.0) {
    MatD m(r, c);
    for (long i = 0; i < m.size(); ++i) m.data()[i] = rng.normal() * scale;
    return m;
}

// Projects an op's output on fixed random weights R so the check has a scalar loss.
double project(const MatD& out, const MatD& R) { return out.cwiseProduct(R).sum(); }

// Every parameter tensor of `model` against central differences of its loss on `ws`; the worst relative error.
double worst_model_gradient(Model<double>& model, Workspace<double>& ws, const Config& cfg, Rng& rng) {
    model.sample_noise(ws, cfg, rng, true);
    model.forward(ws, cfg, true);
    model.backward(ws, cfg);
    const auto analytic = model.grads;
    auto loss = [&] { return double(model.forward(ws, cfg, true)); };
    double worst = 0;
    for (const auto& ti : model.layout().tensors) {
        const double e = gradient_error(model.params.data() + ti.offset, ti.size(), analytic.data() + ti.offset, loss);
        worst = std::max(worst, e);
        if (e >= kBound) qWarning("%s: rel err %.2e", ti.name.c_str(), e);
    }
    qInfo("%s: worst tensor rel err %.2e over %ld parameters", QTest::currentDataTag(), worst, model.layout().total);
    return worst;
}

void apply_sets(Config& cfg, const QString& sets) {
    for (const QString& s : sets.split(';', Qt::SkipEmptyParts)) {
        const auto kv = s.split('=');
        knob(kv[0].toStdString()).set_text(cfg, kv[1].toStdString());
    }
}

Config small_model(const std::string& policy, int k) {
    Config c;
    c.experts = 4;
    c.top_k = k;
    c.layers = 2;
    c.d_model = 6;
    c.d_ff = 8;
    c.policy = policy;
    c.router_init_std = 0.7;  // decided enough that gates differ, far from ties
    c.batch_tokens = 16;
    return c;
}

}  // namespace

class TestGradcheck : public QObject {
    Q_OBJECT

private slots:
    void linear();
    void gelu();
    void rmsnorm();
    void softmax();
    void cross_entropy();
    void balance_loss();
    void z_loss();
    void importance_cv2();
    void entropy_reg();
    void gelu_slope();
    void whole_model_data();
    void whole_model();
    void whole_transformer_data();
    void whole_transformer();
    void detects_a_wrong_gradient();
};

void TestGradcheck::linear() {
    Rng rng(1);
    MatD W = random_matrix(4, 3, rng), in = random_matrix(3, 5, rng), R = random_matrix(4, 5, rng);
    VecD b = random_matrix(4, 1, rng);
    MatD out(4, 5), din(3, 5), dW = MatD::Zero(4, 3);
    VecD db = VecD::Zero(4);
    auto f = [&] {
        ops::linear_forward<double>(out, W, b, in);
        return project(out, R);
    };
    f();
    ops::linear_backward<double>(din, dW, db, R, W, in);
    const double eW = gradient_error(W.data(), W.size(), dW.data(), f);
    const double eb = gradient_error(b.data(), b.size(), db.data(), f);
    const double ein = gradient_error(in.data(), in.size(), din.data(), f);
    qInfo("linear: rel err W %.2e b %.2e in %.2e", eW, eb, ein);
    QVERIFY(eW < kBound && eb < kBound && ein < kBound);
}

void TestGradcheck::gelu() {
    Rng rng(2);
    MatD in = random_matrix(5, 7, rng, 2.0), R = random_matrix(5, 7, rng), out(5, 7), din(5, 7);
    auto f = [&] {
        ops::gelu_forward(out.data(), in.data(), in.size());
        return project(out, R);
    };
    f();
    ops::gelu_backward(din.data(), R.data(), in.data(), in.size());
    const double e = gradient_error(in.data(), in.size(), din.data(), f);
    qInfo("gelu: rel err %.2e", e);
    QVERIFY(e < kBound);
}

void TestGradcheck::rmsnorm() {
    Rng rng(3);
    MatD x = random_matrix(6, 5, rng), R = random_matrix(6, 5, rng), out(6, 5);
    VecD g = VecD::Constant(6, 1.0) + random_matrix(6, 1, rng, 0.3), rstd(5);
    auto f = [&] {
        ops::rmsnorm_forward<double>(out, rstd, x, g);
        return project(out, R);
    };
    f();
    MatD dx = MatD::Zero(6, 5);
    VecD dg = VecD::Zero(6);
    ops::rmsnorm_backward_add<double>(dx, dg, R, x, rstd, g);
    const double ex = gradient_error(x.data(), x.size(), dx.data(), f);
    const double eg = gradient_error(g.data(), g.size(), dg.data(), f);
    qInfo("rmsnorm: rel err x %.2e g %.2e", ex, eg);
    QVERIFY(ex < kBound && eg < kBound);
}

void TestGradcheck::softmax() {
    Rng rng(4);
    MatD z = random_matrix(5, 6, rng, 2.0), R = random_matrix(5, 6, rng), p(5, 6);
    const double inv_tau = 1.0 / 0.7;
    auto f = [&] {
        ops::softmax_columns<double>(p, z, inv_tau);
        return project(p, R);
    };
    f();
    MatD dz = MatD::Zero(5, 6);
    ops::softmax_backward_add<double>(dz, p, R, inv_tau);
    const double e = gradient_error(z.data(), z.size(), dz.data(), f);
    qInfo("softmax (τ=0.7): rel err %.2e", e);
    QVERIFY(e < kBound);
}

void TestGradcheck::cross_entropy() {
    Rng rng(5);
    MatD logits = random_matrix(4, 9, rng, 2.0), probs(4, 9), dlogits(4, 9);
    std::vector<int32_t> y(9);
    for (auto& v : y) v = static_cast<int32_t>(rng.below(4));
    auto f = [&] { return double(ops::cross_entropy_forward<double>(probs, logits, y.data(), nullptr)); };
    f();
    ops::cross_entropy_backward<double>(dlogits, probs, y.data());
    const double e = gradient_error(logits.data(), logits.size(), dlogits.data(), f);
    qInfo("cross-entropy: rel err %.2e", e);
    QVERIFY(e < kBound);
}

// Router loss terms are functions of the probabilities p (or logits z).
static MatD random_probs(int E, long T, Rng& rng) {
    MatD z = random_matrix(E, T, rng, 1.5), p(E, T);
    ops::softmax_columns<double>(p, z);
    return p;
}

void TestGradcheck::balance_loss() {
    Rng rng(6);
    MatD p = random_probs(5, 12, rng);
    VecD f = random_probs(5, 1, rng);  // any constant load fractions
    auto loss = [&] { return ops::balance_loss<double>(p, f); };
    MatD dp = MatD::Zero(5, 12);
    ops::balance_loss_backward_add<double>(dp, f, 12, 1.0);
    const double e = gradient_error(p.data(), p.size(), dp.data(), loss);
    qInfo("balance loss: rel err %.2e", e);
    QVERIFY(e < kBound);
    // Hand value: uniform p and uniform f give E·Σ (1/E)(1/E) = 1.
    MatD pu = MatD::Constant(4, 3, 0.25);
    VecD fu = VecD::Constant(4, 0.25);
    QCOMPARE(ops::balance_loss<double>(pu, fu), 1.0);
}

void TestGradcheck::z_loss() {
    Rng rng(7);
    MatD z = random_matrix(5, 8, rng, 3.0);
    VecD lse(8);
    auto loss = [&] { return ops::z_loss<double>(z, lse); };
    loss();
    MatD dz = MatD::Zero(5, 8);
    ops::z_loss_backward_add<double>(dz, z, lse, 1.0);
    const double e = gradient_error(z.data(), z.size(), dz.data(), loss);
    qInfo("z-loss: rel err %.2e", e);
    QVERIFY(e < kBound);
    // Hand value: all-zero logits over E experts give lse = ln E, so L_z = (ln E)².
    MatD z0 = MatD::Zero(4, 3);
    VecD lse0(3);
    QVERIFY(std::abs(ops::z_loss<double>(z0, lse0) - std::log(4.0) * std::log(4.0)) < 1e-12);
}

void TestGradcheck::importance_cv2() {
    Rng rng(8);
    MatD p = random_probs(5, 10, rng);
    VecD imp(5);
    auto loss = [&] { return ops::importance_cv2<double>(p, imp); };
    loss();
    MatD dp = MatD::Zero(5, 10);
    ops::importance_cv2_backward_add<double>(dp, imp, 1.0);
    const double e = gradient_error(p.data(), p.size(), dp.data(), loss);
    qInfo("importance CV²: rel err %.2e", e);
    QVERIFY(e < kBound);
    // Hand value: importance {2, 0} → mean 1, variance 1, CV² = 1.
    MatD ph(2, 2);
    ph << 1, 1, 0, 0;
    QVERIFY(std::abs(ops::importance_cv2<double>(ph, imp) - 1.0) < 1e-12);
}

void TestGradcheck::entropy_reg() {
    Rng rng(9);
    MatD p = random_probs(5, 7, rng);
    auto loss = [&] { return ops::entropy_reg<double>(p); };
    MatD dp = MatD::Zero(5, 7);
    ops::entropy_reg_backward_add<double>(dp, p, 1.0);
    const double e = gradient_error(p.data(), p.size(), dp.data(), loss);
    qInfo("router entropy term: rel err %.2e", e);
    QVERIFY(e < kBound);
    QVERIFY(std::abs(ops::entropy_reg<double>(MatD::Constant(4, 3, 0.25)) - 1.0) < 1e-12);
}

void TestGradcheck::whole_model_data() {
    QTest::addColumn<QString>("policy");
    QTest::addColumn<int>("k");
    QTest::addColumn<QString>("sets");  // extra knob settings "name=value;..."
    const QString all_terms = "aux_weight=0.3;z_weight=0.05;importance_weight=0.2;entropy_weight=0.15";
    QTest::newRow("topk k=1 (Switch gate)") << "topk" << 1 << all_terms;
    QTest::newRow("topk k=2 renormalised") << "topk" << 2 << all_terms;
    QTest::newRow("topk k=2 temperature+noise") << "topk" << 2 << all_terms + ";temperature=0.6;noise_std=0.5";
    QTest::newRow("topk k=2 capacity drops") << "topk" << 2 << all_terms + ";capacity_factor=0.75";
    QTest::newRow("noisy_topk k=2") << "noisy_topk" << 2 << all_terms;
    QTest::newRow("noisy_topk k=1") << "noisy_topk" << 1 << all_terms;
    QTest::newRow("expert_choice") << "expert_choice" << 2 << all_terms + ";capacity_factor=1.0";
    QTest::newRow("bias_balanced k=2") << "bias_balanced" << 2 << all_terms;
    QTest::newRow("hash") << "hash" << 2 << all_terms;
    QTest::newRow("random") << "random" << 2 << all_terms;
    QTest::newRow("CE only") << "topk" << 2 << "aux_weight=0";
    QTest::newRow("aux only") << "topk" << 2 << "aux_weight=1";
    QTest::newRow("z-loss only") << "topk" << 2 << "aux_weight=0;z_weight=0.5";
    QTest::newRow("importance only") << "topk" << 2 << "aux_weight=0;importance_weight=1";
    QTest::newRow("entropy only") << "topk" << 2 << "aux_weight=0;entropy_weight=-0.5";
}

void TestGradcheck::whole_model() {
    QFETCH(QString, policy);
    QFETCH(int, k);
    QFETCH(QString, sets);
    Config cfg = small_model(policy.toStdString(), k);
    apply_sets(cfg, sets);
    const int d_in = 5, classes = 3;
    const long T = cfg.batch_tokens;
    Rng rng(42);
    Model<double> model(cfg, d_in, classes, rng);
    // Non-trivial biases and gains so their gradients are exercised away from init.
    for (auto& b : model.selection_bias) b = rng.normal() * 0.3;
    for (int t : {model.layout().b_in, model.layout().norm_f, model.layout().b_out})
        for (long i = 0; i < model.param(t).size(); ++i) model.param(t).data()[i] += rng.normal() * 0.2;
    Workspace<double> ws;
    ws.resize(T, d_in, cfg, classes);
    ws.x = random_matrix(d_in, T, rng);
    for (long t = 0; t < T; ++t) {
        ws.labels[t] = static_cast<int32_t>(rng.below(classes));
        ws.ids[t] = static_cast<int32_t>(t * 7 + 3);
    }
    QVERIFY2(worst_model_gradient(model, ws, cfg, rng) < kBound, QTest::currentDataTag());
}

// The language model (docs/lm.md): token and position embeddings, per layer a
// pre-RMSNorm causal attention block then the MoE block, on 3 sequences of 4 tokens.
void TestGradcheck::whole_transformer_data() {
    QTest::addColumn<QString>("policy");
    QTest::addColumn<int>("k");
    QTest::addColumn<QString>("sets");
    const QString all_terms = "aux_weight=0.3;z_weight=0.05;importance_weight=0.2;entropy_weight=0.15";
    QTest::newRow("topk k=2, 2 heads") << "topk" << 2 << all_terms + ";heads=2";
    QTest::newRow("topk k=1, 1 head") << "topk" << 1 << all_terms + ";heads=1";
    QTest::newRow("topk k=2, 3 heads, noise") << "topk" << 2 << all_terms + ";heads=3;noise_std=0.5";
    QTest::newRow("noisy_topk") << "noisy_topk" << 2 << all_terms + ";heads=2";
    QTest::newRow("expert_choice") << "expert_choice" << 2 << all_terms + ";heads=2;capacity_factor=1.0";
    QTest::newRow("hash") << "hash" << 2 << all_terms + ";heads=2";
    QTest::newRow("topk capacity drops") << "topk" << 2 << all_terms + ";heads=2;capacity_factor=0.75";
}

void TestGradcheck::whole_transformer() {
    QFETCH(QString, policy);
    QFETCH(int, k);
    QFETCH(QString, sets);
    Config cfg = small_model(policy.toStdString(), k);
    cfg.model = "transformer";
    cfg.dataset = "lm";
    cfg.context = 4;
    cfg.batch_tokens = 12;
    apply_sets(cfg, sets);
    cfg.validate();
    const int vocab = 5;
    const long T = cfg.batch_tokens;
    Rng rng(43);
    Model<double> model(cfg, 1, vocab, rng);
    QVERIFY(model.layout().find("layer1.attn.Wq") && model.layout().find("embed.pos"));
    QCOMPARE(model.layout().find("embed.W")->cols, long(vocab));
    for (auto& b : model.selection_bias) b = rng.normal() * 0.3;
    for (const auto& L : model.layout().layers)
        for (int t : {L.attn_norm, L.norm_g})
            for (long i = 0; i < model.param(t).size(); ++i) model.param(t).data()[i] += rng.normal() * 0.2;
    Workspace<double> ws;
    ws.resize(T, 1, cfg, vocab);
    for (long t = 0; t < T; ++t) {
        ws.x(0, t) = double(rng.below(vocab));
        ws.labels[t] = static_cast<int32_t>(rng.below(vocab));
        ws.ids[t] = static_cast<int32_t>(ws.x(0, t));
    }
    QVERIFY2(worst_model_gradient(model, ws, cfg, rng) < kBound, QTest::currentDataTag());
}

// The expert forward leaves GELU's slope for the backward (ops::linear_gelu_forward).
void TestGradcheck::gelu_slope() {
    Rng rng(5);
    MatD x = random_matrix(37, 3, rng, 2.0), act(37, 3), slope = x, ones = MatD::Ones(37, 3), expected(37, 3),
         value(37, 3);
    ops::gelu_forward_keep_slope(act.data(), slope.data(), x.size());
    ops::gelu_forward(value.data(), x.data(), x.size());
    ops::gelu_backward(expected.data(), ones.data(), x.data(), x.size());
    QVERIFY((act - value).cwiseAbs().maxCoeff() < 1e-15);
    QVERIFY((slope - expected).cwiseAbs().maxCoeff() < 1e-15);
}

// The harness itself must be able to fail: a gradient off by 1 % is caught.
void TestGradcheck::detects_a_wrong_gradient() {
    Rng rng(11);
    MatD W = random_matrix(3, 3, rng), in = random_matrix(3, 4, rng), R = random_matrix(3, 4, rng), out(3, 4),
         din(3, 4), dW = MatD::Zero(3, 3);
    VecD b = VecD::Zero(3), db = VecD::Zero(3);
    auto f = [&] {
        ops::linear_forward<double>(out, W, b, in);
        return project(out, R);
    };
    ops::linear_backward<double>(din, dW, db, R, W, in);
    dW(1, 2) *= 1.01;
    QVERIFY(gradient_error(W.data(), W.size(), dW.data(), f) > kBound);
}

QTEST_APPLESS_MAIN(TestGradcheck)
#include "test_gradcheck.moc"
