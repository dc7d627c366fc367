// The report folder the window and the CLI share: config.json that loads back,
// metrics.csv with one row per step and layer, report.md with the per-layer
// table, the knob changes and the plots the caller names; a path that is a
// file is one clear error, a missing folder is created.
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "error.hpp"
#include "io/report.hpp"
#include "train/config.hpp"

using namespace moescope;
namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

MetricsHistory two_layer_history(long steps) {
    MetricsHistory h;
    h.reset(2, 4);
    for (long s = 1; s <= steps; ++s) {
        StepMetrics m;
        m.step = s;
        m.loss = 2.0 - 0.01 * double(s);
        m.train_acc = 0.25;
        m.layers.resize(2);
        for (int l = 0; l < 2; ++l) {
            m.layers[size_t(l)].load = {0.4, 0.3, 0.2, 0.1};
            m.layers[size_t(l)].load_entropy = 0.5 + 0.25 * l;
            m.layers[size_t(l)].router_entropy = 0.875;
            m.layers[size_t(l)].max_util = 1.6;
            m.layers[size_t(l)].dead_experts = l;
        }
        h.append(m);
    }
    return h;
}

}  // namespace

class TestReport : public QObject {
    Q_OBJECT

private slots:
    void writesConfigMetricsAndMarkdown() {
        QTemporaryDir tmp;
        const fs::path dir = fs::path(tmp.path().toStdString()) / "nested" / "report";  // created with its parent
        Config cfg = load_preset("default");
        const MetricsHistory h = two_layer_history(30);
        const std::vector<Intervention> changes = {{12, "aux_weight", "0.01", "0.1", "remedy"}};
        write_report(dir.string(), {&cfg, &h, &changes, " (branch)", "run.moesnap", {"entropy", "balance"}});

        QCOMPARE(load_config_file((dir / "config.json").string()).name, cfg.name);
        std::ifstream csv(dir / "metrics.csv");
        std::string line;
        int rows = 0;
        while (std::getline(csv, line)) ++rows;
        QCOMPARE(rows, 1 + 30 * 2);  // header, then one row per step and layer

        const std::string md = read(dir / "report.md");
        QVERIFY(md.find("# moescope report: default (branch)") == 0);
        QVERIFY(md.find("at step 30, run file `run.moesnap`") != std::string::npos);
        QVERIFY(md.find("| 0 | 0.500 | 0.875 | 1.60 | 0 |") != std::string::npos);
        QVERIFY(md.find("| 1 | 0.750 | 0.875 | 1.60 | 1 |") != std::string::npos);
        QVERIFY(md.find("- step 12: aux_weight 0.01 → 0.1 (remedy)") != std::string::npos);
        QVERIFY(md.find("![entropy](entropy.png)") != std::string::npos);
        QVERIFY(md.find("![balance](balance.png)") != std::string::npos);
    }

    void withoutPlotsOrChangesSaysSo() {
        QTemporaryDir tmp;
        Config cfg = load_preset("default");
        const MetricsHistory h = two_layer_history(3);
        const std::vector<Intervention> none;
        write_report(tmp.path().toStdString(), {&cfg, &h, &none, "", "", {}});  // an existing folder is fine
        const std::string md = read(fs::path(tmp.path().toStdString()) / "report.md");
        QVERIFY(md.find("## Knob changes\n\nNone.") != std::string::npos);
        QVERIFY(md.find("## Plots") == std::string::npos);
        QVERIFY(md.find("run file") == std::string::npos);
    }

    void aFileInTheWayIsOneClearError() {
        QTemporaryDir tmp;
        const std::string file = tmp.filePath("taken").toStdString();
        std::ofstream(file) << "not a folder";
        try {
            prepare_report_folder(file);
            QFAIL("no error for a file in the way");
        } catch (const ConfigError& e) {
            const std::string msg = e.what();
            QVERIFY2(msg.find(file) != std::string::npos && msg.find("not a folder") != std::string::npos, e.what());
        }
        try {
            prepare_report_folder(file + "/below");
            QFAIL("no error for a folder below a file");
        } catch (const DataError& e) {
            QVERIFY2(std::string(e.what()).find("cannot create the report folder") != std::string::npos, e.what());
        }
    }
};

QTEST_MAIN(TestReport)
#include "test_report.moc"
