// Snapshots against hostile input, beyond damaged bytes (test_snapshot_files):
// crafted files whose every size is right but whose state is inconsistent or
// out of range must be refused with one clear DataError, and every file the
// loader accepts must survive resume, a step, a save and a load again. Saves
// refuse FIFOs, symlinks and other special files, and clear
// temp files left by killed saves. Runs under ASan/UBSan in scripts/test.
#include <QTemporaryDir>
#include <QtTest>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include <nlohmann/json.hpp>

#include "io/atomic_file.hpp"
#include "io/snapshot.hpp"
#include "snapshot_bytes.hpp"
#include "test_presets.hpp"

using namespace moescope;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace snapshot_bytes;

namespace {

Config tiny_config() {
    Config c = test_presets::tiny();
    c.dead_window = 10;
    return c;
}

// The message a load of `bytes` fails with ("" when it loads).
std::string load_error(const std::string& path, const std::string& bytes) {
    write_bytes(path, bytes);
    try {
        load_snapshot(path);
    } catch (const DataError& e) {
        return e.what();
    }
    return "";
}

bool is_fifo(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
}

}  // namespace

class TestSnapshotBadInput : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    std::string valid_;
    TrainerState state_;

    std::string path(const char* name) const { return dir_.filePath(name).toStdString(); }

    // The valid file with one edit of its header or of one metadata entry.
    std::string edited(const std::function<void(json&)>& edit) const {
        Parts p = split(valid_);
        edit(p.header);
        return join(p);
    }
    std::string meta_edited(const char* key, const std::function<void(json&)>& edit) const {
        return edited([&](json& h) {
            json m = json::parse(h["__metadata__"][key].get<std::string>());
            edit(m);
            h["__metadata__"][key] = m.dump();
        });
    }

private slots:
    void initTestCase() {
        Trainer tr(tiny_config());
        MetricsHistory history;
        history.reset(1, 4);
        for (int i = 0; i < 25; ++i) history.append(tr.step());
        save_snapshot(path("valid.moesnap"), tr.export_state(), &history);
        valid_ = read_bytes(path("valid.moesnap"));
        state_ = tr.export_state();
    }

    void inconsistentStateIsRefused_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("message");
        auto row = [](const char* name, const std::string& bytes, const char* message) {
            QTest::newRow(name) << QByteArray(bytes.data(), qsizetype(bytes.size())) << QString(message);
        };
        auto set_meta = [&](const char* key, const std::string& value) {
            return edited([&](json& h) { h["__metadata__"][key] = value; });
        };
        row("step 2^63-1", set_meta("step", "9223372036854775807"), "is not a step number in [0, 9007199254740992]");
        row("step behind the history", set_meta("step", "3"), "inconsistent state: ");
        row("dead_seen 2^62", meta_edited("trainer", [](json& t) { t["dead_seen"] = {1LL << 62}; }),
            "trainer dead_seen must be a whole number in [0, 9007199254740992]");
        row("optimizer ahead of the step", meta_edited("trainer", [](json& t) { t["optimizer_steps"] = 26; }),
            "optimizer_steps 26 is not in [0, step 25]");
        row("intervention after the step",
            meta_edited(
                "interventions",
                [](json& iv) {
                    iv = json::array({{{"step", 99}, {"knob", "lr"}, {"old", "1"}, {"new", "2"}, {"source", "user"}}});
                }),
            "intervention on 'lr' at step 99 is after step 25");
        row("rule streak after the step", meta_edited("monitor", [](json& m) { m["rules"][0]["streak_start"] = 80; }),
            "monitor refers to step 80");
        row("rule without streak_start", meta_edited("monitor", [](json& m) { m["rules"][0].erase("streak_start"); }),
            "missing key 'streak_start'");
        row("trainer entry is a number", set_meta("trainer", "5"),
            "metadata 'trainer': expected an object, found a number");
        row("latest entry is no JSON", set_meta("latest", "F"), "metadata 'latest' is not valid JSON text");
    }

    void inconsistentStateIsRefused() {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, message);
        const std::string what = load_error(path("bad.moesnap"), bytes.toStdString());
        QVERIFY2(!what.empty(), "an inconsistent file loaded");
        QVERIFY2(QString::fromStdString(what).startsWith(QString::fromStdString(path("bad.moesnap")) + ": "),
                 what.c_str());
        QVERIFY2(QString::fromStdString(what).contains(message), what.c_str());
        // One prefix, not "metadata 'latest': ...: metadata 'latest' ..."
        QVERIFY2(QString::fromStdString(what).count(QString::fromStdString(path("bad.moesnap"))) == 1, what.c_str());
        QVERIFY2(!QString::fromStdString(what).contains("json.exception"), what.c_str());
    }

    // History is F64 [2, n]: row 0 steps. A step of 1e300 (or any step past the
    // snapshot's) would be saved again and then refused: refuse it now.
    void historyStepsBeyondTheStep() {
        Parts p = split(valid_);
        const auto& loss = p.header["history/loss"];
        const size_t n = loss["shape"][1].get<size_t>(), begin = loss["data_offsets"][0].get<size_t>();
        for (double bad : {1e300, 26.0}) {
            Parts q = p;
            std::memcpy(q.data.data() + begin + (n - 1) * sizeof(double), &bad, sizeof bad);
            const std::string what = load_error(path("bad.moesnap"), join(q));
            QVERIFY2(QString::fromStdString(what).contains("history series 'loss' has step"), what.c_str());
        }
    }

    // An empty series used to pass a null pointer to memcpy (UBSan): now it is no series.
    void emptyHistorySeriesLoads() {
        Parts p = split(valid_);
        p.header["history/loss"]["shape"] = {2, 0};
        p.header["history/loss"]["data_offsets"] = {0, 0};
        write_bytes(path("empty.moesnap"), join(p));
        const Snapshot snap = load_snapshot(path("empty.moesnap"));
        QVERIFY(snap.history.series("loss") == nullptr || snap.history.series("loss")->size() == 0);
    }

    // Negative (finite) Adam second moments once loaded, stepped to NaN weights
    // and then claimed "the last finite state kept". The loader refuses them; a
    // state given directly still cannot take a step that makes a weight non-finite.
    void negativeSecondMomentsAreRefused() {
        TrainerState st = state_;
        st.moment2[3] = -1.0f;
        QVERIFY_THROWS_EXCEPTION(DataError, save_snapshot(path("neg.moesnap"), st, nullptr));
        Parts p = split(valid_);
        const size_t at = p.header["optim.v.embed.W"]["data_offsets"][0].get<size_t>();
        const float neg = -1e-3f;
        std::memcpy(p.data.data() + at, &neg, sizeof neg);
        const std::string what = load_error(path("neg.moesnap"), join(p));
        QVERIFY2(QString::fromStdString(what).contains("negative value"), what.c_str());

        st.moment2.assign(st.moment2.size(), -1e30f);
        auto tr = Trainer::from_state(st);
        const StepMetrics m = tr->step();
        QVERIFY(!m.finite && tr->halted());
        QCOMPARE(tr->steps_done(), state_.steps);
        const std::vector<float> params = tr->engine().export_params();
        for (float w : params) QVERIFY(std::isfinite(w));
        QVERIFY(params == st.params);
    }

    // Whatever the loader accepts must load again after resume, step and save.
    void acceptedFilesRoundTrip() {
        std::vector<std::string> files = {valid_};
        files.push_back(meta_edited("trainer", [](json& t) { t["dead_seen"] = {1LL << 52}; }));
        files.push_back(edited([](json& h) { h["__metadata__"]["step"] = "1000000"; }));
        files.push_back(meta_edited("monitor", [](json& m) { m["loss_seen"] = 0; }));
        for (size_t i = 0; i < files.size(); ++i) {
            write_bytes(path("in.moesnap"), files[i]);
            Snapshot snap = load_snapshot(path("in.moesnap"));
            auto tr = Trainer::from_state(snap.state);
            for (int s = 0; s < 3; ++s) snap.history.append(tr->step());
            save_snapshot(path("out.moesnap"), tr->export_state(), &snap.history);
            QCOMPARE(load_snapshot(path("out.moesnap")).state.steps, snap.state.steps + 3);
        }
    }

    void specialFilesAreNotReplaced() {
        const std::string fifo = path("fifo.moesnap");
        QCOMPARE(::mkfifo(fifo.c_str(), 0644), 0);
        for (auto attempt : {+[](const std::string&p, const TrainerState&s) { save_snapshot(p, s, nullptr); },
                             +[](const std::string&p, const TrainerState&) { check_writable_target(p); }}) {
            try {
                attempt(fifo, state_);
                QFAIL("saved over a FIFO");
            } catch (const DataError& e) {
                QVERIFY2(QString(e.what()).contains("not a regular file"), e.what());
            }
            QVERIFY(is_fifo(fifo));
        }
        QVERIFY_THROWS_EXCEPTION(DataError, save_snapshot(dir_.path().toStdString(), state_, nullptr));
        QVERIFY_THROWS_EXCEPTION(DataError, save_snapshot("", state_, nullptr));
        QVERIFY_THROWS_EXCEPTION(DataError, check_writable_target(path("no_such_dir/s.moesnap")));
    }

    // A symlink at the target is refused (never written through, never
    // replaced): the link and the file it names stay as they were.
    void symlinkIsRefused() {
        fs::create_directories(path("real"));
        save_snapshot(path("real/target.moesnap"), state_, nullptr);
        const long before = static_cast<long>(fs::file_size(path("real/target.moesnap")));
        fs::create_symlink("real/target.moesnap", path("link.moesnap"));
        try {
            save_snapshot(path("link.moesnap"), state_, nullptr);
            QFAIL("saved through a symlink");
        } catch (const DataError& e) {
            QVERIFY2(QString(e.what()).contains("symbolic link, not a regular file"), e.what());
        }
        QVERIFY(fs::is_symlink(path("link.moesnap")));
        QCOMPARE(static_cast<long>(fs::file_size(path("real/target.moesnap"))), before);
        fs::create_symlink("loop_b", path("loop_a"));
        fs::create_symlink("loop_a", path("loop_b"));
        QVERIFY_THROWS_EXCEPTION(DataError, save_snapshot(path("loop_a"), state_, nullptr));
    }

    // Temp files of saves killed mid-way are removed by the next save; a live
    // process's temp file is left alone.
    void staleTempFilesAreRemoved() {
        const std::string target = path("tmp.moesnap");
        const pid_t child = fork();
        if (child == 0) _exit(0);
        waitpid(child, nullptr, 0);  // its pid now names no process
        const std::string stale = target + ".tmp-" + std::to_string(child);
        const std::string live = target + ".tmp-" + std::to_string(getppid());
        write_bytes(stale, "torn");
        write_bytes(live, "in progress");
        save_snapshot(target, state_, nullptr);
        QVERIFY(!std::filesystem::exists(stale));
        QVERIFY(std::filesystem::exists(live));
        QCOMPARE(load_snapshot(target).state.steps, state_.steps);
    }
};

QTEST_APPLESS_MAIN(TestSnapshotBadInput)
#include "test_snapshot_badinput.moc"
