// Router logs of real jobs (docs/formats/routerlog.md): each line kind parsed,
// bad lines reported with their number and skipped, tailing that survives a
// writer caught mid-line, truncation, rotation and new rank files, Megatron's
// data- and expert-parallel merge checked by hand, 1,024 experts, and a
// million records at bounded memory with the collapse warning at its step.
#include <QTemporaryDir>
#include <QtTest>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "error.hpp"
#include "io/routerlog.hpp"
#include "monitor/metrics_history.hpp"
#include "monitor/run_watcher.hpp"

using namespace moescope;

namespace {

void append(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::app | std::ios::binary);
    f << text;
}

std::string record(long step, int layer, const std::string& counts) {
    return "{\"step\":" + std::to_string(step) + ",\"layer\":" + std::to_string(layer) + ",\"counts\":" + counts +
           "}\n";
}

std::string tpe(long iter, int layer, const std::string& lists) {
    return "{\"iter\":" + std::to_string(iter) + ",\"block\":\"decoder\",\"layer\":" + std::to_string(layer) +
           ",\"tpe\":" + lists + "}\n";
}

}  // namespace

class TestRouterLog : public QObject {
    Q_OBJECT

private slots:
    void parsesMoescopeRecords() {
        const RouterLine l = parse_router_line(
            R"({"step":7,"layer":2,"counts":[3,1],"mean_prob":[0.7,0.3],"router_entropy":0.5,"z_loss":1.5,"aux_loss":1.1,"tokens":4,"rank":3,"extra":"ignored"})");
        QVERIFY2(l.error.empty(), l.error.c_str());
        QVERIFY(l.record);
        QCOMPARE(l.record->step, 7L);
        QCOMPARE(l.record->layer, 2);
        QCOMPARE(l.record->counts, (std::vector<double>{3, 1}));
        QCOMPARE(l.record->mean_prob, (std::vector<double>{0.7, 0.3}));
        QCOMPARE(l.record->router_entropy, 0.5);
        QCOMPARE(l.record->tokens, 4.0);
        QCOMPARE(l.record->rank, 3);
    }

    void parsesMegatronRecordsSummingMicroBatches() {
        const RouterLine l = parse_router_line(tpe(100, 3, "[[128,64],[96,80]]"));
        QVERIFY2(l.error.empty(), l.error.c_str());
        QCOMPARE(l.record->kind, RouterLogKind::Megatron);
        QCOMPARE(l.record->step, 100L);
        QCOMPARE(l.record->counts, (std::vector<double>{224, 144}));
        const RouterLine mtp =
            parse_router_line(R"({"iter": 100, "block": "mtp", "mtp_idx": 0, "layer": 1, "tpe": [[50, 50]]})");
        QVERIFY2(mtp.error.empty(), mtp.error.c_str());
        QCOMPARE(mtp.record->layer, 1001);  // after every decoder layer
    }

    void badLinesSayWhatIsWrong() {
        const std::pair<const char*, const char*> cases[] = {
            {"{not json", "not valid JSON"},
            {"[1,2]", "not a JSON object"},
            {R"({"step":1,"layer":0})", "neither"},
            {R"({"step":-1,"layer":0,"counts":[1]})", "'step' is out of range"},
            {R"({"step":1.5,"layer":0,"counts":[1]})", "'step' must be a whole number"},
            {R"({"step":1,"layer":0,"counts":[]})", "'counts' must be a list"},
            {R"({"step":1,"layer":0,"counts":[1,-2]})", "from 0 to 1e12"},
            {R"({"step":1,"layer":0,"counts":[1,8e116]})", "from 0 to 1e12"},  // found by fuzz_routerlog
            {R"({"step":1,"layer":0,"counts":[1,2],"tokens":-3})", "'tokens' must be"},
            {R"({"step":1,"layer":0,"counts":[1,2],"mean_prob":[1]})", "differ in length"},
            {R"({"iter":1,"layer":0,"tpe":[[1,2],[3]]})", "differ in expert count"},
            {R"({"format":"moescope-routerlog","version":99})", "newer than this moescope reads"},
        };
        for (const auto& [line, want] : cases) {
            const RouterLine l = parse_router_line(line);
            QVERIFY2(!l.record && l.error.find(want) != std::string::npos,
                     (std::string(line) + " → " + l.error).c_str());
        }
        QVERIFY(parse_router_line("   ").error.empty());  // blank lines are neither
    }

    void badLinesAreSkippedWithTheirNumber() {
        QTemporaryDir dir;
        const std::string p = dir.filePath("log.jsonl").toStdString();
        append(p, record(1, 0, "[1,1]") + "garbage\n" + record(2, 0, "[1,1]") + record(3, 0, "[2,0]"));
        RunWatcher w(p, {});
        const auto steps = w.finish();
        QCOMPARE(steps.size(), size_t(3));
        const auto problems = w.take_problems();
        QCOMPARE(problems.size(), size_t(1));
        QVERIFY2(problems[0].find("log.jsonl:2: not valid JSON") != std::string::npos, problems[0].c_str());
        QCOMPARE(w.bad_lines(), 1L);
    }

    void partialLineWaitsForItsNewline() {
        QTemporaryDir dir;
        const std::string p = dir.filePath("log.jsonl").toStdString();
        const std::string a = record(1, 0, "[3,1]"), b = record(2, 0, "[1,3]");
        append(p, a + b.substr(0, 10));  // the writer is mid-line
        RunWatcher w(p, {});
        QCOMPARE(w.poll().size(), size_t(0));  // step 1 could still gain layers
        append(p, b.substr(10) + record(3, 0, "[2,2]"));
        const auto got = w.poll();
        QCOMPARE(got.size(), size_t(2));  // steps 1 and 2: a later step has begun
        QCOMPARE(got[1].metrics.layers[0].load, (std::vector<double>{0.25, 0.75}));
        QVERIFY(w.take_problems().empty());
    }

    void truncationAndRotationReadTheNewFileFromItsStart() {
        QTemporaryDir dir;
        const std::string p = dir.filePath("log.jsonl").toStdString();
        append(p, record(1, 0, "[1,1]") + record(2, 0, "[1,1]"));
        RunWatcher w(p, {});
        QCOMPARE(w.poll().size(), size_t(1));  // step 1; step 2 could still gain layers
        // truncated: the job restarted and writes again from step 3
        std::filesystem::resize_file(p, 0);
        append(p, record(3, 0, "[4,0]") + record(4, 0, "[4,0]"));
        auto got = w.poll();
        QCOMPARE(got.size(),
                 size_t(3));  // steps 2, 3 and 4: with the layer count known, a step is done when its layers are in
        QCOMPARE(got.back().metrics.step, 4L);
        // rotated: the old file moved away, a new one in its place
        std::filesystem::rename(p, p + ".1");
        append(p, record(5, 0, "[0,4]") + record(6, 0, "[0,4]"));
        got = w.poll();
        QCOMPARE(got.size(), size_t(2));  // steps 5 and 6
        QCOMPARE(got.back().metrics.step, 6L);
        QCOMPARE(got.back().metrics.layers[0].load, (std::vector<double>{0, 1}));
    }

    // Four Megatron ranks, expert-parallel size 2: ranks 0 and 2 hold experts
    // 0–1 (their counts add up), ranks 1 and 3 hold experts 2–3.
    void megatronRanksMergeDataParallelSumExpertParallelConcat() {
        QTemporaryDir dir;
        const QString tpe_dir = dir.filePath("tokens_per_expert");
        QDir().mkpath(tpe_dir);
        auto rank = [&](int r) { return (tpe_dir + QStringLiteral("/rank%1.jsonl").arg(r)).toStdString(); };
        append(rank(0), tpe(10, 0, "[[1,2]]"));
        append(rank(1), tpe(10, 0, "[[3,4]]"));
        WatchOptions opt;
        opt.ep = 2;
        RunWatcher w(dir.path().toStdString(), opt);
        QCOMPARE(w.sources(), size_t(2));
        w.poll();
        // two more ranks appear while the job runs
        append(rank(2), tpe(10, 0, "[[10,20]]"));
        append(rank(3), tpe(10, 0, "[[30,40]]"));
        const auto got = w.finish();
        QCOMPARE(w.sources(), size_t(4));
        QCOMPARE(got.size(), size_t(1));
        const LayerMetrics& l = got[0].metrics.layers[0];
        // counts [11, 22, 33, 44] of 110 → load = C_i / ΣC
        QCOMPARE(l.load, (std::vector<double>{0.1, 0.2, 0.3, 0.4}));
        QCOMPARE(w.experts(), 4);
    }

    void headerStatesTopKAndLayers() {
        QTemporaryDir dir;
        const std::string p = dir.filePath("log.jsonl").toStdString();
        append(p, R"({"format":"moescope-routerlog","version":1,"experts":2,"layers":2,"top_k":2})"
                  "\n" +
                      std::string(R"({"step":1,"layer":0,"counts":[3,1],"tokens":2})"
                                  "\n"));
        RunWatcher w(p, {});
        QCOMPARE(w.poll().size(), size_t(0));  // layer 1 of step 1 not yet written
        append(p, R"({"step":1,"layer":1,"counts":[2,2],"tokens":2})"
                  "\n");
        const auto got = w.poll();  // complete without waiting for step 2: the header says 2 layers
        QCOMPARE(got.size(), size_t(1));
        QCOMPARE(got[0].metrics.layers[0].load, (std::vector<double>{0.75, 0.25}));  // C / (T·k)
        QCOMPARE(w.header().top_k, 2);
    }

    void thousandExperts() {
        QTemporaryDir dir;
        const std::string p = dir.filePath("log.jsonl").toStdString();
        std::string counts = "[";
        for (int e = 0; e < 1024; ++e) counts += (e ? "," : "") + std::to_string(e % 7);
        counts += "]";
        for (int s = 1; s <= 3; ++s) append(p, record(s, 0, counts));
        RunWatcher w(p, {});
        const auto got = w.finish();
        QCOMPARE(got.size(), size_t(3));
        QCOMPARE(w.experts(), 1024);
        QCOMPARE(got[0].metrics.layers[0].load.size(), size_t(1024));
    }

    // A million records (8 layers × 125,000 steps): every step arrives, the
    // history stays within its folding bound, and the collapse that starts at
    // step 100,000 raises the collapse warning within the monitor's streak.
    void millionRecordsBoundedMemoryCollapseAtItsStep() {
        QTemporaryDir dir;
        const std::string p = dir.filePath("big.jsonl").toStdString();
        {
            std::FILE* f = std::fopen(p.c_str(), "wb");
            for (long s = 1; s <= 125000; ++s)
                for (int l = 0; l < 8; ++l)
                    std::fprintf(f, "{\"step\":%ld,\"layer\":%d,\"counts\":%s}\n", s, l,
                                 s < 100000 ? "[9,8,9,8]" : "[30,1,1,2]");
            std::fclose(f);
        }
        RunWatcher w(p, {});
        MetricsHistory h;
        h.reset(8, 4);
        long steps = 0, collapse_step = -1;
        auto take = [&](const std::vector<WatchedStep>& got) {
            for (const auto& s : got) {
                h.append(s.metrics);
                ++steps;
                for (const auto& ev : s.events)
                    if (ev.kind == MonitorEvent::Raised && ev.warning.id == "collapse" && collapse_step < 0)
                        collapse_step = ev.warning.first_step;
            }
        };
        for (int i = 0; i < 1000 && steps < 125000; ++i) take(w.poll());
        take(w.finish());
        QCOMPARE(steps, 125000L);
        QCOMPARE(w.records(), 1000000L);
        QCOMPARE(collapse_step, 100000L);
        QVERIFY2(h.memory_bytes() < 48u << 20, std::to_string(h.memory_bytes()).c_str());
    }

    void missingPathIsOneClearError() {
        try {
            RunWatcher w("/nonexistent/moescope/log.jsonl", {});
            QFAIL("no error");
        } catch (const ConfigError& e) {
            QVERIFY(std::string(e.what()).find("no such file or directory") != std::string::npos);
        }
    }
};

QTEST_APPLESS_MAIN(TestRouterLog)
#include "test_routerlog.moc"
