// The metric table is the one list of metrics: each accessor reads its own
// field, every metric survives each file it goes through (CLI CSV and JSONL,
// the window's export, a snapshot's `latest` and history) with its value, the
// CLI's CSV and the export have the same columns, old JSON keys still read,
// and docs/metrics.md is the table as `moescope-cli metrics --markdown` prints it.
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/history_export.hpp"
#include "io/metrics_log.hpp"
#include "io/snapshot.hpp"
#include "monitor/metric_defs.hpp"
#include "monitor/metrics_history.hpp"

using namespace moescope;

namespace {

constexpr int kLayers = 2, kExperts = 3;

// A distinct whole number for every (metric, layer, expert): exact in 9 digits,
// and a field read by the wrong accessor shows up as a wrong value.
double distinct(size_t metric, int layer, int expert) {
    return 1000.0 * double(metric + 1) + 100.0 * (layer + 1) + expert + 1;
}

// Every metric of the table set to its distinct value.
StepMetrics distinct_step(long step) {
    StepMetrics m;
    m.step = step;
    m.layers.resize(kLayers);
    const auto& table = metric_table();
    for (size_t i = 0; i < table.size(); ++i) {
        const MetricDef& d = table[i];
        if (d.scope == MetricScope::Model) d.set(m, distinct(i, -1, -1));
        for (int l = 0; l < kLayers && d.scope != MetricScope::Model; ++l) {
            if (d.scope == MetricScope::Layer) d.set(m, distinct(i, l, -1), l);
            for (int e = 0; e < kExperts && d.scope == MetricScope::Expert; ++e) d.set(m, distinct(i, l, e), l, e);
        }
    }
    return m;
}

// Calls f(def, index, layer, expert) for every value of one step.
template <class F>
void for_each_value(F f) {
    const auto& table = metric_table();
    for (size_t i = 0; i < table.size(); ++i) {
        const MetricDef& d = table[i];
        if (d.scope == MetricScope::Model) f(d, i, -1, -1);
        for (int l = 0; l < kLayers && d.scope != MetricScope::Model; ++l) {
            if (d.scope == MetricScope::Layer) f(d, i, l, -1);
            for (int e = 0; e < kExperts && d.scope == MetricScope::Expert; ++e) f(d, i, l, e);
        }
    }
}

QString where(const MetricDef& d, int layer, int expert) {
    return QStringLiteral("%1 layer %2 expert %3")
        .arg(QString::fromUtf8(d.name.data(), int(d.name.size())))
        .arg(layer)
        .arg(expert);
}

// Every value of `m` is the distinct one; a metric the file does not keep (kept_only) is NaN.
QString first_wrong(const StepMetrics& m, bool kept_only = false) {
    QString wrong;
    for_each_value([&](const MetricDef& d, size_t i, int l, int e) {
        const double want = kept_only && !d.kept() ? kNaN : distinct(i, l, e);
        const double got = d.value(m, l, e);
        const bool ok = std::isnan(want) ? std::isnan(got) : got == want;
        if (!ok && wrong.isEmpty()) wrong = where(d, l, e) + QStringLiteral(": %1, expected %2").arg(got).arg(want);
    });
    return wrong;
}

std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::vector<std::string> split(const std::string& row) {
    std::vector<std::string> cells;
    std::stringstream ss(row);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    if (!row.empty() && row.back() == ',') cells.push_back("");
    return cells;
}

// The CSV cell of metric d at (layer, expert) on row `layer` of a one-step file.
std::string csv_cell(const std::vector<std::string>& lines, const MetricDef& d, int layer, int expert) {
    const std::vector<std::string> header = split(lines.at(0)), row = split(lines.at(size_t(1 + layer)));
    const std::string column = std::string(d.name) + (expert >= 0 ? "_" + std::to_string(expert) : "");
    for (size_t c = 0; c < header.size(); ++c)
        if (header[c] == column) return c < row.size() ? row[c] : "<short row>";
    return "<no column>";
}

// A small real run, for a snapshot's TrainerState (its config sets the layers and experts).
Config small_config() {
    Config c = load_preset("default");
    c.layers = kLayers;
    c.experts = kExperts;
    c.top_k = 1;
    c.batch_tokens = 32;
    c.train_samples = 500;
    c.test_samples = 100;
    c.validate();
    return c;
}

}  // namespace

class TestMetricDefs : public QObject {
    Q_OBJECT

private slots:
    // (d) One spelling each, a scope that fits the field, and each accessor reads its own field.
    void namesAreUniqueAndScopesFitFields() {
        std::set<std::string_view> names, labels;
        for (const auto& d : metric_table()) {
            QVERIFY2(names.insert(d.name).second, d.name.data());
            QVERIFY2(labels.insert(d.label).second, d.label.data());
            // An old key never shadows a current one of the same JSON object (top level: model; "layers": the rest).
            const MetricDef* clash = d.old_name.empty() ? nullptr : find_metric(d.old_name);
            QVERIFY2(!clash || (clash->scope == MetricScope::Model) != (d.scope == MetricScope::Model), d.name.data());
            QVERIFY2(!d.help.empty(), d.name.data());
            const bool model = std::holds_alternative<double StepMetrics::*>(d.field);
            const bool expert = std::holds_alternative<std::vector<double> LayerMetrics::*>(d.field);
            QCOMPARE(d.scope == MetricScope::Model, model);
            QCOMPARE(d.scope == MetricScope::Expert, expert);
            QVERIFY(find_metric(d.name) == &d);
        }
        QVERIFY(find_metric("no_such_metric") == nullptr);
    }

    void accessorsReadTheirOwnFields() {
        StepMetrics m;
        m.loss = 1, m.ce = 2, m.aux = 3, m.zloss = 4, m.importance = 5, m.entropy_reg = 6, m.train_acc = 7;
        m.test_acc = 8, m.grad_norm = 9, m.router_grad_norm = 10, m.expert_grad_norm = 11, m.step_ms = 12;
        m.tokens_per_s = 13, m.test_bits = 14;
        m.layers.resize(2);
        LayerMetrics& l = m.layers[1];
        l.load_entropy = 21, l.router_entropy = 22, l.max_util = 23, l.cv = 24, l.dropped = 25, l.dead_experts = 26;
        l.mean_abs_logit = 27, l.max_abs_logit = 28, l.balance_loss = 29, l.z_loss = 30, l.importance_cv2 = 31;
        l.entropy_reg = 32, l.router_grad_norm = 33, l.expert_grad_norm = 34, l.churn = 35, l.nmi = 36;
        l.load = {41, 42}, l.mean_prob = {51, 52};
        const std::map<std::string_view, double> expected = {
            {"loss", 1},
            {"ce", 2},
            {"aux", 3},
            {"z_loss", 4},
            {"importance", 5},
            {"entropy_reg", 6},
            {"train_acc", 7},
            {"test_acc", 8},
            {"grad_norm", 9},
            {"router_grad_norm", 10},
            {"expert_grad_norm", 11},
            {"step_ms", 12},
            {"tokens_per_s", 13},
            {"test_bits", 14},
            {"load_entropy", 21},
            {"router_entropy", 22},
            {"max_util", 23},
            {"cv", 24},
            {"dropped", 25},
            {"dead_experts", 26},
            {"mean_abs_logit", 27},
            {"max_abs_logit", 28},
            {"layer_aux", 29},
            {"layer_z_loss", 30},
            {"layer_importance", 31},
            {"layer_entropy_reg", 32},
            {"layer_router_grad_norm", 33},
            {"layer_expert_grad_norm", 34},
            {"churn", 35},
            {"nmi", 36},
            {"load", 42},
            {"mean_prob", 52},
        };
        QCOMPARE(metric_table().size(), expected.size());
        for (const auto& d : metric_table()) {
            QVERIFY2(expected.count(d.name), d.name.data());
            QCOMPARE(d.value(m, 1, 1), expected.at(d.name));
            if (d.scope != MetricScope::Model) QVERIFY(std::isnan(d.value(m, 2, 1)));  // no such layer
        }
        QVERIFY(std::isnan(find_metric("load")->value(m, 1, 2)));  // no such expert
        QVERIFY(std::isnan(find_metric("load")->value(m, 0, 0)));  // layer 0 has no loads
    }

    // (a) The CLI's CSV (MetricsLog) and the window's export have the same header, column for column.
    void cliCsvAndExportShareTheHeader() {
        QTemporaryDir dir;
        const std::string cli = dir.filePath("cli.csv").toStdString(), exp = dir.filePath("export.csv").toStdString();
        {
            MetricsLog log(cli, kExperts);
            log.write(distinct_step(1));
        }
        MetricsHistory h;
        h.reset(kLayers, kExperts);
        h.append(distinct_step(1));
        QCOMPARE(export_history(h, exp), 1L);
        const auto a = split(read_lines(cli).at(0)), b = split(read_lines(exp).at(0));
        QCOMPARE(a.size(), b.size());
        for (size_t c = 0; c < a.size(); ++c) QCOMPARE(QString::fromStdString(a[c]), QString::fromStdString(b[c]));
        QCOMPARE(a.size(), split(metrics_csv_header(kExperts)).size());
        QCOMPARE(QString::fromStdString(a.at(0)), QStringLiteral("step"));
        QCOMPARE(QString::fromStdString(a.at(1)), QStringLiteral("layer"));
        // The JSONL lines have the same keys, but for what only a live step knows.
        const std::string cli_j = dir.filePath("cli.jsonl").toStdString();
        const std::string exp_j = dir.filePath("export.jsonl").toStdString();
        {
            MetricsLog log(cli_j, kExperts);
            log.write(distinct_step(1));
        }
        export_history(h, exp_j);
        nlohmann::json x = nlohmann::json::parse(read_lines(cli_j).at(0)),
                       y = nlohmann::json::parse(read_lines(exp_j).at(0));
        x.erase("finite");
        x.erase("dead_util");
        auto keys = [](const nlohmann::json& j) {
            std::vector<std::string> k;
            for (const auto& [key, v] : j.items()) k.push_back(key);
            for (const auto& [key, v] : j["layers"][0].items()) k.push_back("layers." + key);
            return k;
        };
        QVERIFY(keys(x) == keys(y));
    }

    // (b) CSV and JSONL of the CLI: every value back.
    void everyMetricRoundTripsThroughTheCliFiles() {
        QTemporaryDir dir;
        const std::string csv = dir.filePath("m.csv").toStdString(), jsonl = dir.filePath("m.jsonl").toStdString();
        const StepMetrics m = distinct_step(7);
        QVERIFY2(first_wrong(m).isEmpty(), qPrintable(first_wrong(m)));
        for (const std::string& path : {csv, jsonl}) {
            MetricsLog log(path, kExperts);
            log.write(m);
        }
        const auto lines = read_lines(csv);
        QCOMPARE(lines.size(), size_t(1 + kLayers));
        for_each_value([&](const MetricDef& d, size_t i, int l, int e) {
            const std::string cell = csv_cell(lines, d, std::max(l, 0), e);
            QVERIFY2(cell == csv_number(distinct(i, l, e)),
                     qPrintable(where(d, l, e) + ": " + QString::fromStdString(cell)));
        });
        const StepMetrics back =
            step_metrics_from_json(nlohmann::json::parse(read_lines(jsonl).at(0)), kLayers, kExperts);
        QCOMPARE(back.step, 7L);
        QVERIFY2(first_wrong(back).isEmpty(), qPrintable(first_wrong(back)));
    }

    // (b) The window's export: kept metrics back, the others empty / null.
    void everyKeptMetricRoundTripsThroughTheExport() {
        QTemporaryDir dir;
        const std::string csv = dir.filePath("e.csv").toStdString(), jsonl = dir.filePath("e.jsonl").toStdString();
        MetricsHistory h;
        h.reset(kLayers, kExperts);
        h.append(distinct_step(7));
        export_history(h, csv);
        export_history(h, jsonl);
        const auto lines = read_lines(csv);
        QCOMPARE(lines.size(), size_t(1 + kLayers));
        for_each_value([&](const MetricDef& d, size_t i, int l, int e) {
            const std::string cell = csv_cell(lines, d, std::max(l, 0), e);
            const std::string want = d.kept() ? csv_number(distinct(i, l, e)) : "";
            QVERIFY2(cell == want, qPrintable(where(d, l, e) + ": " + QString::fromStdString(cell)));
        });
        const StepMetrics back =
            step_metrics_from_json(nlohmann::json::parse(read_lines(jsonl).at(0)), kLayers, kExperts);
        QVERIFY2(first_wrong(back, true).isEmpty(), qPrintable(first_wrong(back, true)));
    }

    // (b) A snapshot: `latest` has every metric, the history every kept one.
    void everyMetricRoundTripsThroughASnapshot() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("run.moesnap").toStdString();
        Trainer tr(small_config());
        tr.step();
        MetricsHistory h;
        h.reset(kLayers, kExperts);
        StepMetrics m = distinct_step(1);
        m.dead_util = 0.375;
        h.append(m);
        save_snapshot(path, tr.export_state(), &h);
        const Snapshot snap = load_snapshot(path);
        QVERIFY2(first_wrong(snap.history.latest()).isEmpty(), qPrintable(first_wrong(snap.history.latest())));
        QCOMPARE(snap.history.latest().dead_util, 0.375);
        for_each_value([&](const MetricDef& d, size_t i, int l, int e) {
            const DecimatedSeries* s = snap.history.series(std::string(d.name), l, e);
            if (!d.kept()) {
                QVERIFY2(!s, qPrintable(where(d, l, e)));
                return;
            }
            QVERIFY2(s && s->size() == 1, qPrintable(where(d, l, e)));
            QCOMPARE(s->x()[0], 1.0);
            QCOMPARE(s->y()[0], distinct(i, l, e));
        });
    }

    // Snapshots written before the table: old keys (importance_cv2, balance_loss, per-layer
    // z_loss and grad norms) read into the renamed metrics; metrics they lacked read as NaN.
    void oldKeysStillRead() {
        nlohmann::json j = step_metrics_json(distinct_step(3));
        int renamed = 0;
        for (const auto& d : metric_table()) {
            if (d.old_name.empty()) continue;
            ++renamed;
            const std::string name(d.name), old(d.old_name);
            if (d.scope == MetricScope::Model) {
                j[old] = j[name];
                j.erase(name);
            } else {
                for (auto& lj : j["layers"]) {
                    lj[old] = lj[name];
                    lj.erase(name);
                }
            }
        }
        QVERIFY(renamed >= 5);
        QVERIFY(j.contains("importance_cv2") && !j.contains("importance"));
        const StepMetrics back = step_metrics_from_json(j, kLayers, kExperts);
        QVERIFY2(first_wrong(back).isEmpty(), qPrintable(first_wrong(back)));

        for (auto& lj : j["layers"]) lj.erase("layer_importance");
        j.erase("dead_util");
        const StepMetrics older = step_metrics_from_json(j, kLayers, kExperts);
        QVERIFY(std::isnan(older.layers[1].importance_cv2));
        QCOMPARE(older.dead_util, StepMetrics{}.dead_util);
        // A wrong type is still an error naming the field.
        j["layers"][0]["cv"] = "high";
        try {
            step_metrics_from_json(j, kLayers, kExperts);
            QFAIL("a text metric was accepted");
        } catch (const DataError& e) {
            QVERIFY2(QString(e.what()).contains("'cv'"), e.what());
        }
    }

    // The history keeps what the table says, with the table's capacities.
    void historyKeepsWhatTheTableSays() {
        MetricsHistory h;
        h.reset(kLayers, kExperts);
        h.append(distinct_step(1));
        size_t expected = 0;
        for (const auto& d : metric_table())
            if (d.kept())
                expected += d.scope == MetricScope::Model   ? 1
                            : d.scope == MetricScope::Layer ? kLayers
                                                            : size_t(kLayers) * kExperts;
        QCOMPARE(h.all_series().size(), expected);
        QVERIFY(!h.series("step_ms") && !h.series("mean_prob", 0, 0));
        QVERIFY(h.series("layer_router_grad_norm", 1) && !h.series("layer_router_grad_norm"));
        QVERIFY(h.series("router_grad_norm") && !h.series("router_grad_norm", 0));
    }

    // (c) docs/metrics.md holds exactly the generated table between its markers, and the CLI prints it.
    void docsMatchTheTable() {
        QFile f(QStringLiteral(MOESCOPE_SOURCE_DIR "/docs/metrics.md"));
        QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(f.fileName()));
        const QString doc = QString::fromUtf8(f.readAll());
        const QString begin = QStringLiteral("<!-- metrics:begin -->\n"), end = QStringLiteral("<!-- metrics:end -->");
        const qsizetype b = doc.indexOf(begin), e = doc.indexOf(end);
        QVERIFY2(b >= 0 && e > b, "markers missing");
        const QString between = doc.mid(b + begin.size(), e - b - begin.size());
        const QString generated = QString::fromStdString(metric_table_markdown());
        QVERIFY2(between == generated,
                 "docs/metrics.md is out of date: rerun `moescope-cli metrics --markdown` and paste it between the "
                 "markers");

        QProcess cli;
        cli.start(QStringLiteral(MOESCOPE_CLI), {QStringLiteral("metrics"), QStringLiteral("--markdown")});
        QVERIFY(cli.waitForFinished(30000));
        QCOMPARE(cli.exitCode(), 0);
        QCOMPARE(QString::fromUtf8(cli.readAllStandardOutput()), generated);
        cli.start(QStringLiteral(MOESCOPE_CLI), {QStringLiteral("metrics")});
        QVERIFY(cli.waitForFinished(30000));
        QCOMPARE(QString::fromUtf8(cli.readAllStandardOutput()), QString::fromStdString(metric_table_text()));
        cli.start(QStringLiteral(MOESCOPE_CLI), {QStringLiteral("metrics"), QStringLiteral("--html")});
        QVERIFY(cli.waitForFinished(30000));
        QCOMPARE(cli.exitCode(), 2);
        QVERIFY(QString::fromUtf8(cli.readAllStandardError()).contains(QStringLiteral("--markdown")));
    }
};

QTEST_GUILESS_MAIN(TestMetricDefs)
#include "test_metric_defs.moc"
