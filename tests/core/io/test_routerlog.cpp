// Router logs of real jobs (docs/formats/routerlog.md): each line kind parsed,
// bad lines reported with their number and skipped, tailing that survives a
// writer caught mid-line, truncation, rotation and new rank files, Megatron's
// data- and expert-parallel merge checked by hand, 1,024 experts, and a
// million records at bounded memory with the collapse warning at its step.
#include <QTemporaryDir>
#include <QtTest>

#include <sys/stat.h>

#include <cmath>
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

std::string write_rank(const QTemporaryDir& dir, const QString& name, const std::string& text) {
    const std::string p = dir.filePath(name).toStdString();
    append(p, text);
    return p;
}

bool any_problem(const std::vector<std::string>& problems, const std::string& want) {
    for (const auto& p : problems)
        if (p.find(want) != std::string::npos) return true;
    return false;
}

std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += s + "\n";
    return out;
}

const Warning* raised(const std::vector<WatchedStep>& steps, const std::string& id) {
    for (const auto& s : steps)
        for (const auto& ev : s.events)
            if (ev.kind == MonitorEvent::Raised && ev.warning.id == id) return &ev.warning;
    return nullptr;
}

// Peak resident memory of this process (VmHWM), in bytes.
size_t peak_rss() {
    std::ifstream f("/proc/self/status");
    std::string key;
    size_t kb = 0;
    while (f >> key)
        if (key == "VmHWM:") {
            f >> kb;
            break;
        }
    return kb * 1024;
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
        // steps 1 and 2 (a later step has begun), then 3: the first step fixed the layer count at 1
        QCOMPARE(got.size(), size_t(3));
        QCOMPARE(got[1].metrics.layers[0].load, (std::vector<double>{0.25, 0.75}));
        QVERIFY(w.take_problems().empty());
    }

    void truncationAndRotationReadTheNewFileFromItsStart() {
        QTemporaryDir dir;
        const std::string p = dir.filePath("log.jsonl").toStdString();
        append(p, record(1, 0, "[1,1]") + record(2, 0, "[1,1]"));
        RunWatcher w(p, {});
        QCOMPARE(w.poll().size(), size_t(2));  // step 1, then step 2: the first step fixed the layer count
        // truncated: the job restarted and writes again from step 3
        std::filesystem::resize_file(p, 0);
        append(p, record(3, 0, "[4,0]") + record(4, 0, "[4,0]"));
        auto got = w.poll();
        QCOMPARE(got.size(), size_t(2));  // steps 3 and 4 of a new run segment
        QCOMPARE(got.back().metrics.step, 4L);
        QCOMPARE(w.segments(), 2L);
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

    // Defect 1 of the watch issue: an expert-parallel rank whose file appears
    // after the first step must not freeze the expert count at the partial
    // width (it was 2 of 4, and every later step was dropped).
    void lateExpertParallelRankDoesNotFreezeThePartialWidth() {
        QTemporaryDir dir;
        std::string r0, r1;
        for (int s = 1; s <= 10; ++s) r0 += tpe(s, 0, "[[10,20]]");
        for (int s = 6; s <= 10; ++s) r1 += tpe(s, 0, "[[30,40]]");  // rank 1 starts 5 steps late
        write_rank(dir, "rank0.jsonl", r0);
        WatchOptions opt;
        opt.ep = 2;
        RunWatcher w(dir.path().toStdString(), opt);
        QCOMPARE(w.poll().size(), size_t(0));  // waits for the second expert-parallel rank
        write_rank(dir, "rank1.jsonl", r1);
        auto got = w.poll();
        const auto rest = w.finish();
        got.insert(got.end(), rest.begin(), rest.end());
        QCOMPARE(w.experts(), 4);
        // steps 1–5 have only rank 0's slice: skipped, and said so; 6–10 are whole
        QCOMPARE(got.size(), size_t(5));
        QCOMPARE(got[0].metrics.step, 6L);
        QCOMPARE(got[4].metrics.layers[0].load, (std::vector<double>{0.1, 0.2, 0.3, 0.4}));
        const auto problems = w.take_problems();
        QVERIFY2(any_problem(problems, "only 1 of 2 expert-parallel ranks"), joined(problems).c_str());
    }

    // Defect 2: the logger writes NaN as null; the step is still read, counted and warned about.
    void nonFiniteRouterStatisticsRaiseACriticalWarning() {
        QTemporaryDir dir;
        const std::string p = dir.filePath("log.jsonl").toStdString();
        for (int s = 1; s <= 5; ++s) append(p, record(s, 0, "[5,5]"));
        append(p, R"({"step":6,"layer":0,"counts":[9,1],"mean_prob":[null,null],"router_entropy":null,"z_loss":null})"
                  "\n");
        RunWatcher w(p, {});
        const auto got = w.finish();
        QCOMPARE(got.size(), size_t(6));
        QCOMPARE(w.bad_lines(), 0L);
        QCOMPARE(w.non_finite_records(), 1L);
        QCOMPARE(got[5].metrics.layers[0].load, (std::vector<double>{0.9, 0.1}));  // the counts are still shown
        const Warning* nf = raised(got, "non_finite");
        QVERIFY(nf);
        QCOMPARE(nf->severity, Severity::Critical);
        QVERIFY2(nf->message.find("non-finite router statistics") != std::string::npos, nf->message.c_str());
        QVERIFY(nf->remedy.text.find("learning rate") != std::string::npos);
    }

    // Defect 3: a layer far below the collapse threshold, or with most experts dead, is critical.
    void severitiesCriticalWhenMostExpertsAreDead() {
        QTemporaryDir dir;
        const std::string p = dir.filePath("log.jsonl").toStdString();
        for (int s = 1; s <= 80; ++s) append(p, record(s, 0, s < 10 ? "[4,4,4,4]" : "[16,0,0,0]"));
        RunWatcher w(p, {});
        w.finish();
        bool collapse = false, dead = false;
        for (const auto& wn : w.monitor().active()) {
            collapse = collapse || (wn.id == "collapse" && wn.severity == Severity::Critical);
            dead = dead || (wn.id == "dead_experts" && wn.severity == Severity::Critical);
        }
        QVERIFY(collapse && dead);
        // a mild imbalance stays a warning
        const std::string q = dir.filePath("mild.jsonl").toStdString();
        for (int s = 1; s <= 80; ++s) append(q, record(s, 0, "[40,40,15,5]"));
        RunWatcher m(q, {});
        m.finish();
        for (const auto& wn : m.monitor().active()) QVERIFY2(wn.severity != Severity::Critical, wn.message.c_str());
    }

    // Defect 4: router entropy and z-loss are enough to see a saturated router.
    void saturationFromRouterEntropyAndZLoss() {
        QTemporaryDir dir;
        const std::string p = dir.filePath("log.jsonl").toStdString();
        for (int s = 1; s <= 30; ++s)  // the monitor's hysteresis is 20 steps
            append(p, "{\"step\":" + std::to_string(s) +
                          R"(,"layer":0,"counts":[60,60,60,60],"router_entropy":0.009,"z_loss":6000})"
                          "\n");
        RunWatcher w(p, {});
        const auto got = w.finish();
        const Warning* sat = raised(got, "router_saturation");
        QVERIFY(sat);
        QVERIFY2(sat->message.find("at least") != std::string::npos, sat->message.c_str());
        // √6000 − ln 4 = 76.07: a lower bound on max |logit|
        QVERIFY(std::abs(got.back().metrics.layers[0].max_abs_logit - (std::sqrt(6000.0) - std::log(4.0))) < 1e-9);
    }

    // Defect 5: warnings name the job's layer id; a zero-count layer does not shift the ids.
    void warningsNameTheJobsLayerIds() {
        QTemporaryDir dir;
        const std::string p = dir.filePath("log.jsonl").toStdString();
        for (int s = 1; s <= 30; ++s) {
            append(p, record(s, 2, s == 1 ? "[0,0,0,0]" : "[4,4,4,4]"));
            append(p, record(s, 5, "[16,0,0,0]"));
        }
        RunWatcher w(p, {});
        const auto got = w.finish();
        QCOMPARE(w.layer_ids(), (std::vector<int>{2, 5}));
        const Warning* c = raised(got, "collapse");
        QVERIFY(c);
        QCOMPARE(c->layer, 1);
        QVERIFY2(c->message.rfind("layer 5: ", 0) == 0, c->message.c_str());
        QVERIFY2(w.monitor().active().front().message.rfind("layer 5: ", 0) == 0, "history keeps the job's id");
    }

    // Defect 6: fractional counts (schema-valid) never give an internal error.
    void fractionalCountsAreRead() {
        QTemporaryDir dir;
        const std::string p = dir.filePath("log.jsonl").toStdString();
        append(p, R"({"step":1,"layer":0,"counts":[0.3,0.1]})"
                  "\n"
                  R"({"step":2,"layer":0,"counts":[2.5,1.5],"tokens":0.4})"
                  "\n"
                  R"({"step":3,"layer":0,"counts":[2.5,1.5]})"
                  "\n");
        WatchOptions opt;
        opt.top_k = 1;
        RunWatcher w(p, opt);
        const auto got = w.finish();
        QCOMPARE(got.size(), size_t(3));
        QVERIFY(std::isnan(got[0].metrics.layers[0].load_entropy));  // less than one token: nothing to judge
        QCOMPARE(got[2].metrics.layers[0].load, (std::vector<double>{2.5 / 4, 1.5 / 4}));
    }

    // Defect 7: a line longer than the limit is one counted bad line, and reading goes on.
    void tooLongLineIsOneBadLineAndReadingGoesOn() {
        QTemporaryDir dir;
        const std::string p = dir.filePath("log.jsonl").toStdString();
        append(p, record(1, 0, "[1,1]"));
        append(p, std::string(LogTail::kMaxLineBytes + 100, ' ') + "\n");
        append(p, record(2, 0, "[1,1]") + record(3, 0, "[2,0]"));
        RunWatcher w(p, {});
        const auto got = w.finish();
        QCOMPARE(got.size(), size_t(3));
        QCOMPARE(w.bad_lines(), 1L);
        QVERIFY(any_problem(w.take_problems(), "log.jsonl:2: longer than 16 MB"));
    }

    // Defect 7: --once reads with bounded memory: steps are handed on as they complete.
    void finishHandsStepsOnAsTheyComplete() {
        QTemporaryDir dir;
        const std::string p = dir.filePath("log.jsonl").toStdString();
        {
            std::FILE* f = std::fopen(p.c_str(), "wb");
            for (long s = 1; s <= 40000; ++s) std::fprintf(f, "{\"step\":%ld,\"layer\":0,\"counts\":[3,1]}\n", s);
            std::fclose(f);
        }
        RunWatcher w(p, {});
        size_t most_pending = 0;
        long steps = 0;
        w.finish([&](WatchedStep&&) {
            ++steps;
            most_pending = std::max(most_pending, w.pending_steps());
        });
        QCOMPARE(steps, 40000L);
        QVERIFY2(most_pending < 4000, std::to_string(most_pending).c_str());  // was every step of the file
    }

    // Defect 8: a rerun that truncates and rewrites the log, past where the watcher was, with the same header.
    void rerunThatRewritesTheLogStartsANewSegment() {
        QTemporaryDir dir;
        const std::string p = dir.filePath("log.jsonl").toStdString();
        const std::string header = R"({"format":"moescope-routerlog","version":1,"experts":2,"layers":1})"
                                   "\n";
        auto rec = [](long s, double t) {
            return "{\"step\":" + std::to_string(s) + ",\"layer\":0,\"counts\":[1,1],\"time\":" + std::to_string(t) +
                   "}\n";
        };
        std::string first = header, second = header;
        for (int s = 1; s <= 10; ++s) first += rec(s, 1000 + s);
        for (int s = 1; s <= 30; ++s) second += rec(s, 2000 + s);
        append(p, first);
        RunWatcher w(p, {});
        QCOMPARE(w.poll().size(), size_t(10));
        {
            std::ofstream f(p, std::ios::trunc | std::ios::binary);
            f << second;
        }
        const auto got = w.poll();
        QCOMPARE(got.size(), size_t(30));
        QCOMPARE(w.bad_lines(), 0L);
        QCOMPARE(w.segments(), 2L);
        QVERIFY(any_problem(w.take_problems(), "run segment 2 begins"));
    }

    // Defect 9: one bad line or one empty layer leaves the rest of its step shown;
    // an expert count that changes mid-file is a counted bad line.
    void oneBadLineDropsOnlyItsLayer() {
        QTemporaryDir dir;
        const std::string p = dir.filePath("log.jsonl").toStdString();
        for (int s = 1; s <= 4; ++s) append(p, record(s, 0, "[3,1]") + record(s, 1, "[2,2]"));
        append(p, R"({"step":5,"layer":0,"counts":"oops"})"
                  "\n" +
                      record(5, 1, "[4,0]") + record(6, 0, "[1,1,1]") + record(6, 1, "[1,1]"));
        RunWatcher w(p, {});
        const auto got = w.finish();
        QCOMPARE(got.size(), size_t(6));
        QVERIFY(std::isnan(got[4].metrics.layers[0].load_entropy));
        QCOMPARE(got[4].metrics.layers[1].load, (std::vector<double>{1, 0}));
        QCOMPARE(w.bad_lines(), 2L);
        const auto problems = w.take_problems();
        QVERIFY2(any_problem(problems, "holds 3 experts; the job has 2"), joined(problems).c_str());
        QVERIFY(!any_problem(problems, "check --ep"));
    }

    // Defect 11: a re-logged step is reported in --once as it is live; a newer
    // version's records are not read; the logger's NaN-free, token-weighted merge.
    void reloggedStepsAndNewerVersionsAreReported() {
        QTemporaryDir dir;
        const std::string p = dir.filePath("log.jsonl").toStdString();
        append(p, record(1, 0, "[3,1]") + record(1, 0, "[0,4]") + record(2, 0, "[1,1]"));
        RunWatcher w(p, {});
        const auto got = w.finish();
        QCOMPARE(got[0].metrics.layers[0].load, (std::vector<double>{0.75, 0.25}));  // the first record is kept
        QCOMPARE(w.bad_lines(), 1L);
        QVERIFY(any_problem(w.take_problems(), "already logged by this writer"));

        const std::string q = dir.filePath("v2.jsonl").toStdString();
        append(q, R"({"format":"moescope-routerlog","version":2})"
                  "\n" +
                      record(1, 0, "[3,1]") + record(2, 0, "[3,1]"));
        RunWatcher v(q, {});
        QCOMPARE(v.finish().size(), size_t(0));
        QCOMPARE(v.records(), 0L);
        QCOMPARE(v.bad_lines(), 3L);
    }

    void meanProbabilitiesAreWeightedByTokens() {
        QTemporaryDir dir;
        const std::string p = dir.filePath("log.jsonl").toStdString();
        append(p,
               R"({"step":1,"layer":0,"counts":[3,1],"mean_prob":[0.9,0.1],"router_entropy":0.2,"tokens":300,"rank":0})"
               "\n"
               R"({"step":1,"layer":0,"counts":[1,0],"mean_prob":[0.1,0.9],"router_entropy":0.6,"tokens":100,"rank":1})"
               "\n");
        RunWatcher w(p, {});
        const auto got = w.finish();
        QCOMPARE(got.size(), size_t(1));
        const LayerMetrics& l = got[0].metrics.layers[0];
        QVERIFY(std::abs(l.mean_prob[0] - 0.7) < 1e-12);  // (300·0.9 + 100·0.1) / 400
        QVERIFY(std::abs(l.router_entropy - 0.3) < 1e-12);
    }

    // Issue "nothing lost" item 7: rank files without a distinct rank number are two writers, summed.
    void rankFilesAreKnownByTheirWholeName() {
        QTemporaryDir dir;
        write_rank(dir, "rank0.jsonl", record(1, 0, "[4,0]") + record(2, 0, "[4,0]"));
        write_rank(dir, "rank00.jsonl", record(1, 0, "[0,4]") + record(2, 0, "[0,4]"));
        write_rank(dir, "worker.jsonl", record(1, 0, "[2,2]") + record(2, 0, "[2,2]"));
        RunWatcher w(dir.path().toStdString(), {});
        const auto got = w.finish();
        QCOMPARE(got.size(), size_t(2));
        QCOMPARE(got[1].metrics.layers[0].load, (std::vector<double>{0.5, 0.5}));
        QCOMPARE(got[1].metrics.layers[0].load_entropy, 1.0);
    }

    // Issue "nothing overwritten" item 5: a FIFO among the rank files is refused with a line, never read (no hang).
    void nonRegularRankFilesAreRefused() {
        QTemporaryDir dir;
        write_rank(dir, "rank0.jsonl", record(1, 0, "[1,1]"));
        const std::string fifo = dir.filePath("rank1.jsonl").toStdString();
        QCOMPARE(::mkfifo(fifo.c_str(), 0600), 0);
        RunWatcher w(dir.path().toStdString(), {});
        QCOMPARE(w.finish().size(), size_t(1));
        QCOMPARE(w.sources(), size_t(1));
        QVERIFY(any_problem(w.take_problems(), "rank1.jsonl: not a regular file"));
    }

    // Issue "nothing overwritten" item 4: no JSON library text, no internal error.
    void wrongTypesAndBadBytesAreOurOwnWords() {
        const std::pair<std::string, const char*> cases[] = {
            {R"({"iter":1,"block":5,"layer":0,"tpe":[[1]]})", "'block' must be"},
            {"{\"step\":1,\"layer\":0,\"counts\":[1],\"x\":\"a\xff\"}", "not valid JSON (or not UTF-8)"},
            {R"({"format":"moescope-routerlog","version":1,"framework":3})", ""},
        };
        for (const auto& [line, want] : cases) {
            const RouterLine l = parse_router_line(line);
            QVERIFY2(l.error.find(want) != std::string::npos && l.error.find("json.exception") == std::string::npos,
                     (line + " → " + l.error).c_str());
        }
        QTemporaryDir dir;
        const std::string p = dir.filePath("log.jsonl").toStdString();
        append(p, R"({"step":1,"layer":0,"counts":[0,0],"tokens":0})"
                  "\n" +
                      record(2, 0, "[0,0]"));
        RunWatcher w(p, {});
        QCOMPARE(w.finish().size(), size_t(2));  // zero tokens: no balance to judge, no internal error
    }

    // Issue "nothing lost" item 4: 96 layers × 65,536 experts must not amplify into gigabytes.
    void hugeLayoutStaysWithinMemory() {
        QTemporaryDir dir;
        const std::string p = dir.filePath("big.jsonl").toStdString();
        {
            std::string counts = "[1";
            for (int e = 1; e < 65536; ++e) counts += ",0";
            counts += "]";
            std::FILE* f = std::fopen(p.c_str(), "wb");
            for (int s = 1; s <= 2; ++s)
                for (int l = 0; l < 96; ++l) std::fprintf(f, "%s", record(s, l, counts).c_str());
            std::fclose(f);
        }
        const size_t before = peak_rss();
        RunWatcher w(p, {});
        long steps = 0;
        w.finish([&](WatchedStep&&) { ++steps; });
        QCOMPARE(steps, 2L);
        QCOMPARE(w.experts(), 65536);
        // the dead-expert window shrinks to fit 64 MB (it was 2.5 GB at the window of 50)
        QVERIFY(double(w.config().dead_window) * 96 * 65536 * 8 <= 64.0 * (1 << 20));
        const size_t grew = peak_rss() - before;
        QVERIFY2(grew < (1u << 30), std::to_string(grew >> 20).c_str());
    }

    // The record fast path gives exactly what the general (nlohmann) reader
    // gives, on the common lines (which it must take) and on 20,000 mutations of
    // them (which it may hand on).
    void fastPathAgreesWithTheGeneralReader() {
        const std::string base[] = {
            R"({"step":7,"layer":2,"counts":[3,1],"mean_prob":[0.7,0.3],"router_entropy":0.5,"z_loss":1.5,"aux_loss":1.1,"tokens":4,"rank":3,"time":1796187550.3})",
            R"({"step": 4, "layer": 1, "counts": [0, 64], "mean_prob": [null, null], "router_entropy": null, "z_loss": null, "aux_loss": null, "tokens": 64, "max_abs_logit": null, "time": 1.5e9})",
            R"({"iter": 100, "block": "decoder", "layer": 3, "tpe": [[128, 64], [96, 80]]})",
            R"({"iter": 100, "block": "mtp", "mtp_idx": 0, "layer": 1, "tpe": [[50, 50]]})",
            R"({"step":1,"layer":0,"counts":[0.25,1e3,2E-1],"dropped":0.0,"extra":["a",[1,true],null],"tokens":null})",
            // 15 digits are exact in a double, 16 and more go through the conversion routine
            R"({"step":1,"layer":0,"counts":[999999999999,5],"time":1234567890123456789,"max_abs_logit":9999999999999999,"tokens":-0})",
        };
        auto same = [](double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; };
        auto same_v = [&](const std::vector<double>& a, const std::vector<double>& b) {
            if (a.size() != b.size()) return false;
            for (size_t i = 0; i < a.size(); ++i)
                if (!same(a[i], b[i])) return false;
            return true;
        };
        auto check = [&](const std::string& line) {
            const RouterLine f = parse_router_line(line), g = detail::parse_router_line_general(line);
            const bool ok =
                f.error == g.error && bool(f.record) == bool(g.record) && bool(f.header) == bool(g.header) &&
                (!f.record ||
                 (f.record->kind == g.record->kind && f.record->step == g.record->step &&
                  f.record->layer == g.record->layer && same_v(f.record->counts, g.record->counts) &&
                  same_v(f.record->mean_prob, g.record->mean_prob) &&
                  same(f.record->router_entropy, g.record->router_entropy) &&
                  same(f.record->z_loss, g.record->z_loss) && same(f.record->aux_loss, g.record->aux_loss) &&
                  same(f.record->dropped, g.record->dropped) && same(f.record->tokens, g.record->tokens) &&
                  same(f.record->time, g.record->time) && same(f.record->max_abs_logit, g.record->max_abs_logit) &&
                  f.record->rank == g.record->rank && f.record->non_finite == g.record->non_finite));
            QVERIFY2(ok, (line + "\nfast: " + f.error + "\ngeneral: " + g.error).c_str());
        };
        for (const auto& line : base) {
            RouterLine out;
            QVERIFY2(detail::parse_router_record_fast(line, out), line.c_str());
            check(line);
        }
        const std::string alphabet = "{}[],:\" 0123456789.-+eEnulltruefalse\\\xff";
        uint64_t seed = 12345;
        auto rnd = [&](uint64_t n) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            return (seed >> 33) % n;
        };
        for (int i = 0; i < 20000; ++i) {
            std::string line = base[rnd(std::size(base))];
            for (int m = 0, n = 1 + int(rnd(3)); m < n; ++m) {
                const size_t at = rnd(line.size());
                switch (rnd(3)) {
                    case 0:
                        line[at] = alphabet[rnd(alphabet.size())];
                        break;
                    case 1:
                        line.erase(at, 1);
                        break;
                    default:
                        line.insert(at, 1, alphabet[rnd(alphabet.size())]);
                }
            }
            check(line);
        }
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
