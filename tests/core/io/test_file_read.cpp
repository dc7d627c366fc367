// Every reader of a file named from anywhere (config, CSV, text, snapshot,
// history snapshot, sweep file, the memory estimate's CSV peek) refuses what is
// not a regular file with one line: a FIFO with no writer must not block (it
// used to hang `--set csv_path=FIFO` and `inspect FIFO`), /dev/zero must not be
// read until memory runs out, and a file over a reader's size limit is refused
// with the limit named. A hung reader shows as this test's timeout.
#include <QTemporaryDir>
#include <QtTest>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "data/csv_reader.hpp"
#include "data/text_corpus.hpp"
#include "error.hpp"
#include "file_read.hpp"
#include "io/snapshot.hpp"
#include "io/snapshot_history.hpp"
#include "io/sweep_file.hpp"
#include "test_presets.hpp"
#include "train/config.hpp"
#include "train/memory_estimate.hpp"

using namespace moescope;

namespace {

struct Reader {
    const char* name;  // as the message names the kind of file
    std::function<void(const std::string&)> read;
};

const std::vector<Reader>& readers() {
    static const std::vector<Reader> all = {
        {"config file", [](const std::string& p) { load_config_file(p); }},
        {"CSV file", [](const std::string& p) { read_csv_table(p, "label"); }},
        {"text file", [](const std::string& p) { read_text_corpus(p, 95); }},
        {"snapshot", [](const std::string& p) { load_snapshot(p); }},
        {"snapshot", [](const std::string& p) { load_history_snapshot(p); }},
        {"sweep file", [](const std::string& p) { load_sweep(p); }},
    };
    return all;
}

// The message `f` throws (ConfigError or DataError), or "" when it throws nothing.
std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

void expect_one_line(const std::string& msg, const std::string& needle) {
    QVERIFY2(msg.find(needle) != std::string::npos, msg.c_str());
    QVERIFY2(msg.find('\n') == std::string::npos && msg.size() < 400, msg.c_str());
}

}  // namespace

class TestFileRead : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    std::string path(const char* name) const { return dir_.filePath(name).toStdString(); }

private slots:
    void fifoIsRefusedWithoutBlocking() {
        const std::string fifo = path("fifo");
        QCOMPARE(::mkfifo(fifo.c_str(), 0644), 0);
        for (const Reader& r : readers())
            expect_one_line(error_of([&] { r.read(fifo); }),
                            std::string("cannot open ") + r.name + " '" + fifo + "': it is a FIFO");
        QCOMPARE(snapshot_kind(fifo), std::string(kSnapshotKindRun));  // a peek: the loader says why
    }

    void deviceIsRefusedWithoutReading() {
        for (const Reader& r : readers())
            expect_one_line(error_of([&] { r.read("/dev/zero"); }),
                            std::string("cannot open ") + r.name + " '/dev/zero': it is a device");
        QCOMPARE(snapshot_kind("/dev/zero"), std::string(kSnapshotKindRun));
    }

    void directoryAndMissingFile() {
        for (const Reader& r : readers()) {
            expect_one_line(error_of([&] { r.read(dir_.path().toStdString()); }), "it is a directory");
            expect_one_line(error_of([&] { r.read(path("missing")); }), "no such file");
        }
    }

    // A sparse file past a reader's limit is refused before a byte is read, the limit named.
    void sizeLimitNamesItself() {
        const std::string big = path("big.json");
        { std::ofstream(big) << "{}"; }
        std::filesystem::resize_file(big, kMaxConfigBytes + 1);
        expect_one_line(error_of([&] { load_config_file(big); }),
                        "config file '" + big + "' is larger than the 16 MiB limit for a config file (16777217 bytes)");
        std::filesystem::resize_file(big, kMaxSweepBytes + 1);
        expect_one_line(error_of([&] { load_sweep(big); }), "larger than the 256 MiB limit for a sweep file");
        QCOMPARE(size_text(kMaxSnapshotBytes), std::string("16 GiB"));
        // Exactly at the limit is read (and then judged by its content).
        std::filesystem::resize_file(big, 2);
        QCOMPARE(read_regular_file(big, 2, "test file"), std::string("{}"));
        expect_one_line(error_of([&] { read_regular_file(big, 1, "test file"); }), "1 bytes limit");
    }

    // A snapshot whose config names a FIFO as its CSV: the memory estimate's
    // peek at the header used to wait for a writer before the dataset said why.
    void memoryEstimateDoesNotBlockOnAFifo() {
        const std::string fifo = path("data_fifo.csv");
        QCOMPARE(::mkfifo(fifo.c_str(), 0644), 0);
        Config c = test_presets::tiny();
        c.dataset = "csv";
        c.csv_path = fifo;
        (void)estimate_memory(c);  // returns; the dataset refuses the FIFO when the run starts
        expect_one_line(error_of([&] { read_csv_table(fifo, "label"); }), "it is a FIFO");
    }
};

QTEST_APPLESS_MAIN(TestFileRead)
#include "test_file_read.moc"
