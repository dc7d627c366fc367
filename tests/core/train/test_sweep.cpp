// Sweeps: axis and spec errors name the problem; a run depends only on its
// config and seed (same cell twice, 1 vs 2 threads: identical numbers); a
// cancelled sweep keeps its finished cells; the .moesweep file round-trips
// exactly and a damaged one is one DataError; and lesson 11's map has the
// collapsed corner and the healthy side its text promises.
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "io/sweep_file.hpp"
#include "monitor/metrics.hpp"
#include "test_presets.hpp"
#include "train/sweep_runner.hpp"

using namespace moescope;
using nlohmann::json;

namespace {

// A few milliseconds per run.
Config tiny_config() {
    Config c = test_presets::tiny();
    c.eval_every = 0;
    return c;
}

SweepSpec tiny_spec(int nx = 2, int ny = 2, int seeds = 1) {
    return make_sweep_spec(tiny_config(), parse_sweep_axis("aux_weight=1e-3:1:" + std::to_string(nx), true),
                           parse_sweep_axis("router_lr=1e-3:0.1:" + std::to_string(ny), true), 30, seeds);
}

// The error message of `f`, or "" when it throws nothing of type E.
template <class E, class F>
QString error_of(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

bool same_results(const SweepResult& a, const SweepResult& b) {
    if (a.cells.size() != b.cells.size()) return false;
    for (size_t i = 0; i < a.cells.size(); ++i) {
        const SweepCell &p = a.cells[i], &q = b.cells[i];
        if (p.ix != q.ix || p.iy != q.iy || p.runs.size() != q.runs.size()) return false;
        for (size_t s = 0; s < p.runs.size(); ++s) {
            if (p.runs[s].seed != q.runs[s].seed) return false;
            for (int m = 0; m < kSweepMeasures; ++m)
                if (!same_bits(p.runs[s].values[size_t(m)], q.runs[s].values[size_t(m)])) return false;
        }
    }
    return true;
}

}  // namespace

class TestSweep : public QObject {
    Q_OBJECT

private slots:
    void axis_values();
    void axis_parse_errors_data();
    void axis_parse_errors();
    void spec_errors_data();
    void spec_errors();
    void script_is_cleared_and_seeds_count_up();
    void same_cell_twice_is_identical();
    void one_and_two_threads_agree();
    void cancel_keeps_finished_cells();
    void file_round_trip();
    void bad_files_data();
    void bad_files();
    void cell_exports();
    void lesson11_map_has_collapsed_and_healthy_regions();
    void cell_median_and_disagreement();
};

void TestSweep::axis_values() {
    const SweepAxis lin = parse_sweep_axis("router_lr=0:0.1:5", false);
    QCOMPARE(lin.knob, std::string("router_lr"));
    QCOMPARE(lin.value(0), 0.0);
    QCOMPARE(lin.value(2), 0.05);
    QCOMPARE(lin.value(4), 0.1);
    const SweepAxis lg = parse_sweep_axis("train.aux_weight=1e-3:1:4", true);
    QCOMPARE(lg.knob, std::string("aux_weight"));
    QVERIFY(std::abs(lg.value(1) - 1e-2) < 1e-15 && std::abs(lg.value(2) - 1e-1) < 1e-15);
    QCOMPARE(lg.value(3), 1.0);
    QCOMPARE(parse_sweep_axis("aux_weight=0.5:0.5:1", true).value(0), 0.5);  // one point: lo
    QCOMPARE(parse_sweep_axis("experts=2:9:3", false).value(1), 6.0);        // whole-number knob: 5.5 rounds to 6
    QCOMPARE(sweep_axis_text(lg), std::string("aux_weight=0.001:1:4"));
    QCOMPARE(sweep_window(600), 50L);
    QCOMPARE(sweep_window(100), 10L);
    QCOMPARE(sweep_window(5), 1L);
}

void TestSweep::axis_parse_errors_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("message");
    QTest::newRow("no =") << "aux_weight"
                          << "expected KNOB=LO:HI:N";
    QTest::newRow("two parts") << "aux_weight=0:1"
                               << "expected KNOB=LO:HI:N";
    QTest::newRow("four parts") << "aux_weight=0:1:3:4"
                                << "expected KNOB=LO:HI:N";
    QTest::newRow("unknown knob") << "aux_wieght=0:1:3"
                                  << "did you mean 'aux_weight'";
    QTest::newRow("bad lo") << "aux_weight=x:1:3"
                            << "lo 'x' is not a number";
    QTest::newRow("bad hi") << "aux_weight=0:1e:3"
                            << "hi '1e' is not a number";
    QTest::newRow("N zero") << "aux_weight=0:1:0"
                            << "N must be a whole number in [1, 64]";
    QTest::newRow("N fraction") << "aux_weight=0:1:2.5"
                                << "N must be a whole number";
}

void TestSweep::axis_parse_errors() {
    QFETCH(QString, text);
    QFETCH(QString, message);
    const QString e = error_of<ConfigError>([&] { parse_sweep_axis(text.toStdString(), false); });
    QVERIFY2(e.contains(message), qPrintable(e));
}

void TestSweep::spec_errors_data() {
    QTest::addColumn<QString>("x");
    QTest::addColumn<bool>("xlog");
    QTest::addColumn<QString>("y");
    QTest::addColumn<int>("seeds");
    QTest::addColumn<QString>("message");
    QTest::newRow("text knob") << "policy=0:1:2" << false << "router_lr=0:1:2" << 1 << "knob 'policy' is not numeric";
    QTest::newRow("out of range") << "aux_weight=0:20:3" << false << "router_lr=0:1:2" << 1
                                  << "0:20 leaves the range [0, 10] of knob 'aux_weight'";
    QTest::newRow("log from 0") << "aux_weight=0:1:3" << true << "router_lr=0:1:2" << 1 << "a log axis needs lo > 0";
    QTest::newRow("lo above hi") << "aux_weight=1:0.1:3" << false << "router_lr=0:1:2" << 1 << "lo 1 is above hi 0.1";
    QTest::newRow("same knob") << "aux_weight=0:1:3" << false << "aux_weight=0:1:2" << 1 << "both sweep knob";
    QTest::newRow("seeds") << "aux_weight=0:1:3" << false << "router_lr=0:1:2" << 0 << "seeds must be in [1, 64]";
    QTest::newRow("bad cell") << "top_k=1:6:2" << false << "router_lr=0:1:2" << 1 << "sweep cell top_k=6";
}

void TestSweep::spec_errors() {
    QFETCH(QString, x);
    QFETCH(bool, xlog);
    QFETCH(QString, y);
    QFETCH(int, seeds);
    QFETCH(QString, message);
    const QString e = error_of<ConfigError>([&] {
        make_sweep_spec(tiny_config(), parse_sweep_axis(x.toStdString(), xlog),
                        parse_sweep_axis(y.toStdString(), false), 10, seeds)
            .validate();
    });
    QVERIFY2(e.contains(message), qPrintable(e));
}

void TestSweep::script_is_cleared_and_seeds_count_up() {
    const SweepSpec spec = make_sweep_spec(load_preset("lesson2_collapse"), parse_sweep_axis("aux_weight=0:1:2", false),
                                           parse_sweep_axis("router_lr=0:1:2", false), 10, 3);
    QVERIFY(!load_preset("lesson2_collapse").script.empty());
    QVERIFY(spec.base.script.empty());
    const Config c = sweep_run_config(spec, 1, 0, 2);
    QCOMPARE(c.aux_weight, 1.0);
    QCOMPARE(c.router_lr, 0.0);
    QCOMPARE(c.seed, spec.base.seed + 2);
    SweepSpec scripted = spec;
    scripted.base.script.push_back({5, "aux_weight", "0.1"});
    QVERIFY(error_of<ConfigError>([&] { scripted.validate(); }).contains("no lesson script"));
}

void TestSweep::same_cell_twice_is_identical() {
    const SweepSpec spec = tiny_spec();
    SweepRun a, b;
    QVERIFY(run_sweep_cell(spec, 1, 0, 0, a));
    QVERIFY(run_sweep_cell(spec, 1, 0, 0, b));
    for (int m = 0; m < kSweepMeasures; ++m) QVERIFY(same_bits(a.values[size_t(m)], b.values[size_t(m)]));
    QVERIFY(a.values[kLoadEntropy] > 0 && a.values[kLoadEntropy] <= 1);
    QVERIFY(a.values[kLoadEntropyWorst] <= a.values[kLoadEntropy]);  // worst window is the lowest one
    QVERIFY(a.values[kMaxUtilWorst] >= a.values[kMaxUtil]);
    QVERIFY(a.values[kTestAcc] >= 0 && a.values[kTestAcc] <= 1);
    QCOMPARE(a.values[kHalted], 0.0);
    SweepRun other_seed;
    QVERIFY(run_sweep_cell(spec, 1, 0, 1, other_seed));
    QVERIFY(!same_bits(a.values[kLoadEntropy], other_seed.values[kLoadEntropy]));
}

void TestSweep::one_and_two_threads_agree() {
    const SweepSpec spec = tiny_spec(2, 2, 2);
    SweepOptions one, two;
    one.threads = 1;
    two.threads = 2;
    int cells_seen = 0;
    SweepProgress last;
    two.on_cell = [&](const SweepCell& c, const SweepProgress&) { cells_seen += int(c.runs.size() == 2); };
    two.on_run = [&](const SweepProgress& p) { last = p; };
    const SweepResult a = run_sweep(spec, one), b = run_sweep(spec, two);
    QVERIFY(a.complete() && b.complete());
    QCOMPARE(cells_seen, 4);
    QCOMPARE(last.runs_done, 8L);
    QCOMPARE(last.cells_done, 4);
    QCOMPARE(last.eta_s, 0.0);
    QVERIFY(same_results(a, b));
    QCOMPARE(a.cells[3].runs[1].seed, spec.base.seed + 1);
}

void TestSweep::cancel_keeps_finished_cells() {
    const SweepSpec spec = tiny_spec(3, 3);
    std::atomic<bool> cancel{false};
    SweepOptions opt;
    opt.threads = 1;
    opt.cancel = &cancel;
    opt.on_cell = [&](const SweepCell& c, const SweepProgress& p) {
        if (p.cells_done == 2) cancel = true;
    };
    const SweepResult r = run_sweep(spec, opt);
    QCOMPARE(int(r.cells.size()), 2);
    QVERIFY(!r.complete());
    QVERIFY(r.cell(0, 0) && r.cell(1, 0) && !r.cell(2, 0));
    // The kept cells are exactly what an uncancelled sweep computes.
    SweepRun fresh;
    QVERIFY(run_sweep_cell(spec, 1, 0, 0, fresh));
    QVERIFY(same_bits(fresh.values[kLoadEntropy], r.cell(1, 0)->runs[0].values[kLoadEntropy]));
}

void TestSweep::file_round_trip() {
    QTemporaryDir dir;
    SweepResult r;
    r.spec = tiny_spec(3, 2, 2);
    r.spec.x.log = false;
    SweepCell c{2, 1, r.spec.x.value(2), r.spec.y.value(1), {}};
    for (int s = 0; s < 2; ++s) {
        SweepRun run{r.spec.base.seed + s, {}};
        for (int m = 0; m < kSweepMeasures; ++m) run.values[size_t(m)] = 0.1 * m + 1.0 / 3.0 + s;
        run.values[kTestAcc] = kNaN;  // written as null, read back as NaN
        c.runs.push_back(run);
    }
    r.cells.push_back(c);
    const std::string path = dir.filePath("a.moesweep").toStdString();
    save_sweep(r, path);
    const SweepResult back = load_sweep(path);
    QVERIFY(same_results(r, back));
    QCOMPARE(back.spec.x.knob, r.spec.x.knob);
    QCOMPARE(back.spec.x.log, false);
    QCOMPARE(back.spec.y.log, true);
    QCOMPARE(back.spec.steps, r.spec.steps);
    QCOMPARE(back.spec.seeds, 2);
    QCOMPARE(back.spec.base.d_model, 16);
    QVERIFY(!back.complete());
    QCOMPARE(back.cells[0].stat(kLoadEntropy).n, 2);
    QCOMPARE(back.cells[0].stat(kTestAcc).n, 0);
    // the atomic save leaves no temp file beside the sweep
    const std::filesystem::path saved(path);
    for (const auto& e : std::filesystem::directory_iterator(saved.parent_path()))
        QVERIFY2(e.path().filename().string().find(".tmp-") == std::string::npos, e.path().c_str());
}

void TestSweep::bad_files_data() {
    QTest::addColumn<QString>("edit");  // a JSON pointer to change, or a special case
    QTest::addColumn<QString>("value");
    QTest::addColumn<QString>("message");
    QTest::newRow("not json") << "text"
                              << "{\"format\": "
                              << "not valid JSON";
    QTest::newRow("format") << "/format"
                            << "\"moescope-snapshot\""
                            << "expected \"moescope-sweep\"";
    QTest::newRow("version") << "/version"
                             << "99"
                             << "version 99 is not supported";
    QTest::newRow("config") << "/config/train/aux_weight"
                            << "-1"
                            << "config: ";
    QTest::newRow("axis knob") << "/spec/x/knob"
                               << "\"nope\""
                               << "unknown knob 'nope'";
    QTest::newRow("axis n") << "/spec/y/n"
                            << "\"2\""
                            << "'spec.y.n' must be a whole number";
    QTest::newRow("steps gone") << "-/spec/steps"
                                << ""
                                << "missing key 'spec.steps'";
    QTest::newRow("measures") << "/measures/0"
                              << "\"loss\""
                              << "measure 0 is \"loss\"";
    QTest::newRow("cell outside") << "/cells/0/ix"
                                  << "7"
                                  << "cells[0].ix/iy (7, 0) lies outside the 2×2 grid";
    QTest::newRow("cell twice") << "/cells/1/iy"
                                << "0"
                                << "cells[1].cell appears twice";
    QTest::newRow("runs") << "/cells/0/runs"
                          << "[]"
                          << "runs must hold one run per seed";
    QTest::newRow("seed") << "/cells/0/runs/0/seed"
                          << "5"
                          << "seed 5 should be";
    QTest::newRow("values") << "/cells/0/runs/0/values"
                            << "[1, 2]"
                            << "values must hold 12 numbers";
    QTest::newRow("value type") << "/cells/0/runs/0/values/3"
                                << "\"x\""
                                << "values[3] must be a number or null";
}

void TestSweep::bad_files() {
    QFETCH(QString, edit);
    QFETCH(QString, value);
    QFETCH(QString, message);
    QTemporaryDir dir;
    SweepResult r;
    r.spec = tiny_spec();
    for (int iy = 0; iy < 2; ++iy) r.cells.push_back({0, iy, r.spec.x.value(0), r.spec.y.value(iy), {{1, {}}}});
    json j = sweep_to_json(r);
    std::string text;
    if (edit == "text")
        text = value.toStdString();
    else if (edit.startsWith('-'))
        j.at(json::json_pointer(edit.mid(1).toStdString()).parent_pointer())
            .erase(json::json_pointer(edit.mid(1).toStdString()).back());
    else
        j[json::json_pointer(edit.toStdString())] = json::parse(value.toStdString());
    if (text.empty()) text = j.dump();
    const std::string path = dir.filePath("bad.moesweep").toStdString();
    std::ofstream(path) << text;
    const QString e = error_of<DataError>([&] { load_sweep(path); });
    QVERIFY2(e.startsWith(QString::fromStdString("sweep file '" + path + "': ")), qPrintable(e));
    QVERIFY2(e.contains(message), qPrintable(e));
    const QString missing = error_of<DataError>([&] { load_sweep(dir.filePath("none.moesweep").toStdString()); });
    QVERIFY2(missing.contains("no such file"), qPrintable(missing));
}

void TestSweep::cell_exports() {
    QTemporaryDir dir;
    SweepResult r;
    r.spec = tiny_spec(2, 2, 2);
    SweepCell c{1, 0, r.spec.x.value(1), r.spec.y.value(0), {}};
    c.runs = {{1, {}}, {2, {}}};
    c.runs[0].values[kLoadEntropy] = 0.5;
    c.runs[1].values[kLoadEntropy] = 0.7;
    r.cells.push_back(c);
    const std::string csv = dir.filePath("c.csv").toStdString(), jsonl = dir.filePath("c.jsonl").toStdString();
    export_sweep_cells(r, csv);
    export_sweep_cells(r, jsonl);
    std::ifstream in(csv);
    std::string header, row, more;
    std::getline(in, header);
    std::getline(in, row);
    QVERIFY(!std::getline(in, more));
    QVERIFY(QString::fromStdString(header).startsWith(
        "ix,iy,aux_weight,router_lr,seeds,collapsed,disputed,load_entropy_mean,"
        "load_entropy_median,load_entropy_min,load_entropy_max,"
        "load_entropy_worst_mean"));
    QVERIFY2(QString::fromStdString(row).startsWith("1,0,1,0.001,2,1,0,0.6,0.6,0.5,0.7,"), row.c_str());
    std::ifstream jin(jsonl);
    std::getline(jin, row);
    const json j = json::parse(row);
    QCOMPARE(j["aux_weight"].get<double>(), 1.0);
    QCOMPARE(j["load_entropy"]["max"].get<double>(), 0.7);
    QCOMPARE(j["seeds"].get<int>(), 2);
    QVERIFY(error_of<ConfigError>([&] {
                export_sweep_cells(r, dir.filePath("c.txt").toStdString());
            }).contains("must end in .csv or .jsonl"));
}

// Lesson 11's claims on its fast-router row (router_lr 0.3), 600 steps and
// three seeds per cell as the lesson runs them. On 30 seeds and two GEMM paths
// (docs/lesson_seeds.md) aux 1 was healthy on every seed, while aux 0.001
// collapsed on most seeds but not all (56 of 60 runs at router_lr 0.3), so a
// cell's three seeds can disagree there: the test asserts only what held on
// every seed, with a margin.
void TestSweep::lesson11_map_has_collapsed_and_healthy_regions() {
    const SweepSpec spec =
        make_sweep_spec(test_presets::seeded("lesson11_phase"), parse_sweep_axis("aux_weight=1e-3:1:2", true),
                        parse_sweep_axis("router_lr=0.3:0.3:1", false), 600, 3);
    QElapsedTimer clock;
    clock.start();
    SweepOptions opt;
    opt.threads = 1;
    const SweepResult r = run_sweep(spec, opt);
    QVERIFY(r.complete());
    const Config& base = spec.base;
    const SweepCell &low = *r.cell(0, 0), &high = *r.cell(1, 0);
    const SweepStat hl = low.stat(kLoadEntropy), hh = high.stat(kLoadEntropy);
    const SweepStat ul = low.stat(kMaxUtil), uh = high.stat(kMaxUtil);
    qInfo(
        "lesson11 router_lr 0.3: aux 0.001 load entropy %.3f (seeds %.3f-%.3f), max util %.2f-%.2f; aux 1 %.3f "
        "(%.3f-%.3f), max util %.2f-%.2f, held-out %.3f-%.3f; %.1f s",
        hl.median, hl.min, hl.max, ul.min, ul.max, hh.median, hh.min, hh.max, uh.min, uh.max, high.stat(kTestAcc).min,
        high.stat(kTestAcc).max, clock.elapsed() / 1000.0);
    // aux 1: healthy on every seed (30 seeds × 2 paths: load entropy 0.856 or more, max util 1.76 or less).
    QVERIFY(!sweep_cell_collapsed(high, base) && !sweep_cell_disputed(high, base));
    QVERIFY(hh.min > base.collapse_entropy + 0.05);
    QVERIFY(high.stat(kTestAcc).min > 0.99);
    // aux 0.001: the busiest expert carries more than at aux 1 on every seed (2.09× or more against 1.76×).
    QVERIFY(ul.min > uh.max);
}

// Median, spread and disagreement over a cell's seeds (hand-made runs).
void TestSweep::cell_median_and_disagreement() {
    Config base;
    SweepCell c;
    for (double h : {0.9, 0.5, 0.8}) {
        SweepRun run;
        run.values.fill(0);
        run.values[kLoadEntropy] = h;
        c.runs.push_back(run);
    }
    const SweepStat s = c.stat(kLoadEntropy);
    QCOMPARE(s.median, 0.8);
    QCOMPARE(s.min, 0.5);
    QCOMPARE(s.max, 0.9);
    QVERIFY(std::abs(s.mean - 2.2 / 3) < 1e-12);
    QVERIFY(base.collapse_entropy > 0.5 && base.collapse_entropy < 0.8);
    QVERIFY(!sweep_cell_collapsed(c, base));  // the median seed is healthy
    QVERIFY(sweep_cell_disputed(c, base));    // one seed collapsed
    c.runs[1].values[kLoadEntropy] = 0.85;
    QVERIFY(!sweep_cell_disputed(c, base));
    c.runs.pop_back();  // an even count: the median is the mean of the middle two
    QCOMPARE(c.stat(kLoadEntropy).median, 0.875);
    for (SweepRun& run : c.runs) run.values[kHalted] = 1;
    QVERIFY(sweep_cell_collapsed(c, base));  // every seed halted
}

QTEST_GUILESS_MAIN(TestSweep)
#include "test_sweep.moc"
