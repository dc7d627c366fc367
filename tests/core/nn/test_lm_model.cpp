// The MoE language model (model transformer, docs/lm.md) as a whole: its loss
// and every parameter's gradient against the same model written in PyTorch
// (tests/python/lm_reference.py, float64; skipped without python3-torch), a
// token never influencing an earlier one's prediction nor another sequence's,
// and the float path (the model's sgemm) against double. Finite differences of
// the whole model are in test_gradcheck (whole_transformer).
#include <QJsonArray>
#include <QJsonObject>
#include <QtTest>

#include <cmath>

#include "nn/model.hpp"
#include "python_reference.hpp"

using namespace moescope;

namespace {

Config lm_config(int k) {
    Config c;
    c.model = "transformer";
    c.dataset = "lm";
    c.d_model = 8;
    c.heads = 2;
    c.layers = 2;
    c.experts = 4;
    c.top_k = k;
    c.d_ff = 6;
    c.context = 5;
    c.batch_tokens = 15;  // 3 sequences
    c.router_init_std = 0.7;
    c.aux_weight = 0.3;
    c.z_weight = 0.05;
    c.validate();
    return c;
}

constexpr int kVocab = 7;

template <class S>
struct Run {
    Config cfg;
    Rng rng{7};
    Model<S> model;
    Workspace<S> ws;
    explicit Run(const Config& c) : cfg(c), model(c, 1, kVocab, rng) {
        ws.resize(c.batch_tokens, 1, c, kVocab);
        Rng data(3);
        for (long t = 0; t < ws.T; ++t) {
            ws.x(0, t) = S(data.below(kVocab));
            ws.labels[size_t(t)] = int32_t(data.below(kVocab));
            ws.ids[size_t(t)] = int32_t(ws.x(0, t));
        }
    }
    S forward() {
        model.sample_noise(ws, cfg, rng, false);
        return model.forward(ws, cfg, false);
    }
};

}  // namespace

class TestLmModel : public QObject {
    Q_OBJECT

private slots:
    void matchesPytorch_data() {
        QTest::addColumn<int>("k");
        QTest::newRow("top-2, renormalised gates") << 2;
        QTest::newRow("top-1, Switch gate") << 1;
    }

    void matchesPytorch() {
        QFETCH(int, k);
        Run<double> run(lm_config(k));
        const double loss = run.forward();
        run.model.backward(run.ws, run.cfg);
        const Config& c = run.cfg;
        QJsonObject params;
        for (const auto& ti : run.model.layout().tensors) {
            QJsonArray data;
            for (long i = 0; i < ti.size(); ++i) data.append(run.model.params[size_t(ti.offset + i)]);
            params[QString::fromStdString(ti.name)] =
                QJsonObject{{"rows", int(ti.rows)}, {"cols", int(ti.cols)}, {"data", data}};
        }
        QJsonArray tokens, labels;
        for (long t = 0; t < run.ws.T; ++t) {
            tokens.append(int(run.ws.x(0, t)));
            labels.append(run.ws.labels[size_t(t)]);
        }
        const QJsonObject in{{"d", c.d_model},         {"heads", c.heads}, {"layers", c.layers},
                             {"experts", c.experts},   {"top_k", c.top_k}, {"d_ff", c.d_ff},
                             {"context", c.context},   {"vocab", kVocab},  {"aux_weight", c.aux_weight},
                             {"z_weight", c.z_weight}, {"params", params}, {"tokens", tokens},
                             {"labels", labels}};
        QJsonObject out;
        RUN_PYTHON_REFERENCE("lm_reference.py", in, out);
        qInfo("loss: moescope %.15f, PyTorch %.15f", loss, out["loss"].toDouble());
        QVERIFY(std::abs(out["loss"].toDouble() - loss) <= 1e-12 * std::abs(loss));
        const QJsonObject grads = out["grads"].toObject();
        double worst = 0;
        for (const auto& ti : run.model.layout().tensors) {
            const QJsonArray theirs = grads[QString::fromStdString(ti.name)].toArray();
            QCOMPARE(long(theirs.size()), ti.size());
            double diff = 0, norm = 0;
            for (long i = 0; i < ti.size(); ++i) {
                const double ours = run.model.grads[size_t(ti.offset + i)];
                diff = std::max(diff, std::abs(theirs[int(i)].toDouble() - ours));
                norm = std::max(norm, std::abs(ours));
            }
            worst = std::max(worst, diff / std::max(1e-3, norm));
            QVERIFY2(diff <= 1e-10 * std::max(1e-3, norm),
                     qPrintable(QString("%1: max difference %2 (largest gradient %3)")
                                    .arg(QString::fromStdString(ti.name))
                                    .arg(diff)
                                    .arg(norm)));
        }
        qInfo("worst gradient difference, relative to the tensor's largest: %.2e over %zu tensors", worst,
              run.model.layout().tensors.size());
    }

    // Changing token 3 of sequence 1 changes predictions at positions 3, 4 of that sequence only.
    // (Within rounding: the changed token may move to another expert, and an
    // expert's GEMM over a different number of tokens may sum in another order.)
    void causalAndSequencesIndependent() {
        const Config c = lm_config(2);
        Run<double> run(c);
        run.forward();
        const Mat<double> before = run.ws.logits;
        const long changed = 1 * c.context + 3;
        run.ws.x(0, changed) = double((long(run.ws.x(0, changed)) + 1) % kVocab);
        run.forward();
        for (long t = 0; t < run.ws.T; ++t) {
            const bool may_change = t >= changed && t < 2 * c.context;
            const double diff = (run.ws.logits.col(t) - before.col(t)).cwiseAbs().maxCoeff();
            if (!may_change) QVERIFY2(diff < 1e-12, qPrintable(QString("token %1 changed by %2").arg(t).arg(diff)));
            if (t == changed) QVERIFY(diff > 1e-3);
        }
    }

    // The float model (the model's sgemm) computes what the double one does.
    void floatMatchesDouble() {
        Run<double> d(lm_config(2));
        Run<float> f(lm_config(2));
        for (size_t i = 0; i < d.model.params.size(); ++i) f.model.params[i] = float(d.model.params[i]);
        const double ld = d.forward(), lf = f.forward();
        QVERIFY2(std::abs(lf - ld) <= 1e-5 * std::abs(ld), qPrintable(QString("%1 vs %2").arg(lf).arg(ld)));
        const double rel = (f.ws.logits.cast<double>() - d.ws.logits).norm() / d.ws.logits.norm();
        QVERIFY2(rel < 1e-5, qPrintable(QString::number(rel)));
    }
};

QTEST_APPLESS_MAIN(TestLmModel)
#include "test_lm_model.moc"
