// Every file the core writes goes through one helper (io/atomic_file.hpp), and
// each writer is attacked the same way: a symlink planted at the target, at the
// temp name the saves used to use ("<target>.tmp-<pid>"), a FIFO and a device
// at the target. Nothing outside is written, nothing special is replaced, no
// save blocks, and the refusal is one clear line naming the file.
#include <QTemporaryDir>
#include <QtTest>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "error.hpp"
#include "io/atomic_file.hpp"
#include "io/history_export.hpp"
#include "io/metrics_log.hpp"
#include "io/report.hpp"
#include "io/snapshot.hpp"
#include "io/snapshot_history.hpp"
#include "io/sweep_file.hpp"
#include "test_presets.hpp"
#include "train/config.hpp"
#include "train/trainer.hpp"

using namespace moescope;
namespace fs = std::filesystem;

namespace {

std::string read(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write(const std::string& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

mode_t kind(const std::string& p) {
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0 ? st.st_mode & S_IFMT : 0;
}

MetricsHistory history(int layers, int experts, long steps) {
    MetricsHistory h;
    h.reset(layers, experts);
    for (long s = 1; s <= steps; ++s) {
        StepMetrics m;
        m.step = s;
        m.loss = 1.0;
        m.layers.resize(size_t(layers));
        for (auto& l : m.layers) l.load.assign(size_t(experts), 1.0 / experts);
        h.append(m);
    }
    return h;
}

struct Writer {
    const char* name;
    const char* ext;
    std::function<void(const std::string&)> write;
};

}  // namespace

class TestSafeWrite : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    std::string path(const std::string& name) const {
        return dir_.filePath(QString::fromStdString(name)).toStdString();
    }
    Config config_ = test_presets::tiny();
    TrainerState state_;
    MetricsHistory history_;
    SweepResult sweep_;
    std::vector<Intervention> interventions_;
    std::vector<Writer> writers_;

private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        config_.dead_window = 10;
        Trainer tr(config_);
        history_.reset(config_.layers, config_.experts);
        for (int s = 0; s < 2; ++s) history_.append(tr.step());
        state_ = tr.export_state();
        sweep_.spec = make_sweep_spec(config_, parse_sweep_axis("aux_weight=1e-3:1:2", true),
                                      parse_sweep_axis("router_lr=1e-3:0.1:2", true), 5, 1);
        writers_ = {
            {"snapshot", ".moesnap", [this](const std::string& p) { save_snapshot(p, state_, &history_); }},
            {"history snapshot", ".moesnap",
             [](const std::string& p) {
                 JobInfo job;
                 job.layers = 1, job.experts = 4, job.last_step = 3;
                 save_history_snapshot(p, job, history(1, 4, 3), {});
             }},
            {"config", ".json", [this](const std::string& p) { save_config_file(config_, p); }},
            {"sweep file", ".moesweep", [this](const std::string& p) { save_sweep(sweep_, p); }},
            {"sweep export", ".csv", [this](const std::string& p) { export_sweep_cells(sweep_, p); }},
            {"metrics export", ".jsonl", [this](const std::string& p) { export_history(history_, p); }},
            {"metrics log", ".csv",
             [this](const std::string& p) {
                 MetricsLog log(p, config_.experts);
                 log.write(history_.latest());
             }},
        };
    }

    // A symlink at the target is refused: the link stays, the file it points to is untouched.
    void symlinkTargetIsRefused() {
        for (const Writer& w : writers_) {
            const std::string outside = path("outside.txt");
            write(outside, "keep me");
            const std::string target = path(std::string("link") + w.ext);
            fs::remove(target);
            fs::create_symlink(outside, target);
            try {
                w.write(target);
                QFAIL(qPrintable(QString("%1 wrote through a symlink").arg(w.name)));
            } catch (const DataError& e) {
                const std::string what = e.what();
                QVERIFY2(what.find("symbolic link, not a regular file") != std::string::npos, e.what());
                QVERIFY2(what.find('\n') == std::string::npos && what.size() < 400, e.what());
            }
            QCOMPARE(read(outside), std::string("keep me"));
            QVERIFY2(fs::is_symlink(target), w.name);
            fs::remove(target);
        }
    }

    // --report DIR used to write report.md through a link planted there.
    void reportRefusesSymlinks() {
        const std::string outside = path("outside.md");
        write(outside, "keep me");
        fs::create_directories(path("rep_link"));
        fs::create_symlink(outside, path("rep_link/report.md"));
        try {
            write_report(path("rep_link"), {&config_, &history_, &interventions_, "", "", {}});
            QFAIL("the report wrote through a symlink");
        } catch (const DataError& e) {
            QVERIFY2(QString(e.what()).contains("report.md") && QString(e.what()).contains("symbolic link"), e.what());
        }
        QCOMPARE(read(outside), std::string("keep me"));
        QVERIFY(fs::is_symlink(path("rep_link/report.md")));
    }

    // The old temp names were predictable: a link planted there is never opened.
    void symlinkAtOldTempNameIsNotFollowed() {
        for (const Writer& w : writers_) {
            const std::string outside = path("outside.txt");
            write(outside, "keep me");
            const std::string target = path(std::string("out_") + w.name + w.ext);
            for (const std::string& planted :
                 {target + ".tmp-" + std::to_string(::getpid()), target + ".part", target + ".tmp"})
                fs::create_symlink(outside, planted);
            w.write(target);
            QCOMPARE(read(outside), std::string("keep me"));
            QCOMPARE(kind(target), mode_t(S_IFREG));
            QVERIFY2(fs::file_size(target) > 0, w.name);
        }
    }

    // A FIFO or a device at the target is refused at once (no open that waits
    // for a reader) and stays what it was.
    void specialTargetsAreRefused() {
        int devices = 0;
        for (const Writer& w : writers_) {
            const std::string fifo = path(std::string("fifo_") + w.name + w.ext);
            QCOMPARE(::mkfifo(fifo.c_str(), 0644), 0);
            const std::string device = path(std::string("null_device_") + w.name + w.ext);
            const bool have_device = ::mknod(device.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0;
            devices += have_device;
            for (const std::string& target : {fifo, device}) {
                if (target == device && !have_device) continue;
                const mode_t before = kind(target);
                try {
                    w.write(target);
                    QFAIL(qPrintable(QString("%1 wrote over %2").arg(w.name, target.c_str())));
                } catch (const DataError& e) {
                    QVERIFY2(QString(e.what()).contains("not a regular file") &&
                                 QString(e.what()).contains(QString::fromStdString(target)),
                             e.what());
                }
                QCOMPARE(kind(target), before);
            }
        }
        // The report folder: a FIFO at DIR/metrics.csv is kept, and the report says which file.
        fs::create_directories(path("rep"));
        QCOMPARE(::mkfifo(path("rep/metrics.csv").c_str(), 0644), 0);
        try {
            write_report(path("rep"), {&config_, &history_, &interventions_, "", "", {}});
            QFAIL("the report replaced a FIFO");
        } catch (const DataError& e) {
            QVERIFY2(QString(e.what()).contains("metrics.csv"), e.what());
        }
        QCOMPARE(kind(path("rep/metrics.csv")), mode_t(S_IFIFO));
        if (devices == 0) qInfo("mknod is not permitted here: the device cases did not run");
    }

    // Temp names differ from save to save and carry no guessable suffix alone.
    void tempNamesAreUnpredictableAndCleared() {
        const std::string target = path("plain.json");
        save_config_file(config_, target);
        save_config_file(config_, target);
        for (const auto& e : fs::directory_iterator(dir_.path().toStdString()))
            QVERIFY2(e.path().filename().string().find("plain.json.tmp") == std::string::npos, e.path().c_str());
    }

    // A save that expects no file refuses one that appeared meanwhile (the
    // second of two runs saving the same name), and the file there is kept.
    void expectedIdentityGuardsAgainstAnotherWriter() {
        const std::string target = path("race.json");
        const FileIdentity none = file_identity(target);
        QVERIFY(!none.exists);
        write(target, "the other process's file");
        try {
            write_file_atomically(target, {"mine"}, "config", &none);
            QFAIL("replaced a file another process wrote");
        } catch (const DataError& e) {
            QVERIFY2(QString(e.what()).contains("another process saved"), e.what());
        }
        QCOMPARE(read(target), std::string("the other process's file"));
        const FileIdentity seen = file_identity(target);
        const FileIdentity mine = write_file_atomically(target, {"mine"}, "config", &seen);
        QCOMPARE(read(target), std::string("mine"));
        QVERIFY(mine == file_identity(target));
        QVERIFY_THROWS_EXCEPTION(DataError, write_file_atomically(target, {"again"}, "config", &seen));
    }
};

QTEST_APPLESS_MAIN(TestSafeWrite)
#include "test_safe_write.moc"
