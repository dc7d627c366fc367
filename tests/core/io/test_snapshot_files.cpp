// Bad snapshot files: every kind of damage gives one DataError naming the file
// and the problem, never a crash, and leaves a running trainer alone; then
// thousands of random mutations of a valid file (byte flips, truncations,
// header edits) must each be rejected with a moescope::Error or load into a
// trainer that can step. Runs under ASan/UBSan in scripts/test.
#include <QTemporaryDir>
#include <QtTest>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "io/snapshot.hpp"
#include "snapshot_bytes.hpp"
#include "test_presets.hpp"

using namespace moescope;
using nlohmann::json;
using namespace snapshot_bytes;

namespace {

// Small enough that a load, a dataset rebuild and a step take well under a millisecond.
Config tiny_config() {
    Config c = test_presets::tiny();
    c.dead_window = 10;
    c.hysteresis = 3;
    c.collapse_entropy = 0.99;
    return c;
}

std::string with_length(std::string file, uint64_t n) {
    std::memcpy(file.data(), &n, 8);
    return file;
}

}  // namespace

class TestSnapshotFiles : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    std::string valid_path_, valid_;

private slots:
    void initTestCase() {
        Trainer tr(tiny_config());
        MetricsHistory history;
        history.reset(1, 4);
        for (int i = 0; i < 25; ++i) history.append(tr.step());
        valid_path_ = dir_.filePath("valid.moesnap").toStdString();
        save_snapshot(valid_path_, tr.export_state(), &history);
        valid_ = read_bytes(valid_path_);
        QCOMPARE(load_snapshot(valid_path_).state.steps, 25L);
    }

    void badFileGivesOneClearError_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("message");
        const Parts p = split(valid_);
        const size_t header_end = valid_.size() - p.data.size();
        auto row = [](const char* name, const std::string& bytes, const char* message) {
            QTest::newRow(name) << QByteArray(bytes.data(), static_cast<qsizetype>(bytes.size())) << QString(message);
        };
        auto edited = [&](auto edit) {
            Parts q = p;
            edit(q.header);
            return join(q);
        };
        auto meta_edited = [&](const char* key, auto edit) {
            return edited([&](json& h) {
                json m = json::parse(h["__metadata__"][key].get<std::string>());
                edit(m);
                h["__metadata__"][key] = m.dump();
            });
        };
        row("empty file", "", "empty");
        row("truncated to 1 byte", valid_.substr(0, 1), "too short");
        row("truncated to 7 bytes", valid_.substr(0, 7), "too short");
        row("truncated mid-header", valid_.substr(0, 8 + (header_end - 8) / 2), "larger than the file");
        row("truncated mid-data", valid_.substr(0, header_end + p.data.size() / 2), "outside the");
        row("header length past the end", with_length(valid_, valid_.size()), "larger than the file");
        row("header length 2^62", with_length(valid_, 1ull << 62), "larger than the file");
        row("header over 64 MiB", with_length(valid_ + std::string(65 << 20, ' '), 65 << 20), "64 MiB");
        row("non-JSON header", join_raw("{\"__metadata__\": nope", p.data), "not valid JSON");
        row("JSON array header", join_raw("[1, 2, 3]", p.data), "not an object");
        row("no __metadata__", edited([](json& h) { h.erase("__metadata__"); }), "no __metadata__");
        row("metadata not strings", edited([](json& h) { h["__metadata__"]["step"] = 25; }), "not a string");
        row("wrong format", edited([](json& h) { h["__metadata__"]["format"] = "pt"; }), "not a moescope snapshot");
        row("version 99", edited([](json& h) { h["__metadata__"]["version"] = "99"; }), "version 99 is not supported");
        row("dtype F16", edited([](json& h) { h["embed.W"]["dtype"] = "F16"; }), "dtype \"F16\"");
        row("negative shape", edited([](json& h) { h["embed.b"]["shape"] = {-16}; }), "shape entry -16");
        row("non-integer shape", edited([](json& h) { h["embed.b"]["shape"] = {16.5}; }), "shape entry 16.5");
        row("size does not match shape", edited([](json& h) { h["embed.b"]["shape"] = {15}; }), "data bytes");
        row("offsets beyond the data", edited([&](json& h) {
                h["head.b"]["data_offsets"] = {p.data.size(), p.data.size() + 40};
            }),
            "outside the");
        row("overlapping offsets",
            edited([](json& h) { h["optim.m.embed.W"]["data_offsets"] = h["embed.W"]["data_offsets"]; }), "overlap");
        row("wrong shape", edited([](json& h) {
                h["layer0.router.W"]["shape"] = {16, 4};
            }),
            "tensor 'layer0.router.W' has shape [16, 4], expected [4, 16]");
        row("dtype against its size", edited([](json& h) { h["state.dead.sum"]["dtype"] = "I32"; }), "data bytes");
        row("wrong dtype", edited([](json& h) { h["state.probe_top1"]["dtype"] = "F32"; }),
            "tensor 'state.probe_top1' has dtype F32, expected I32");
        row("missing tensor", edited([](json& h) { h.erase("head.b"); }), "tensor 'head.b' is missing");
        row("unknown tensor", edited([](json& h) {
                h["extra"] = {{"dtype", "F32"}, {"shape", {0}}, {"data_offsets", {0, 0}}};
            }),
            "unexpected tensor 'extra'");
        row("bad history name", edited([](json& h) {
                h["history/loss/9"] = h["history/loss"];
                h.erase("history/loss");
            }),
            "history tensor 'history/loss/9'");
        row("config of another model", meta_edited("config", [](json& c) { c["model"]["d_model"] = 32; }),
            "tensor 'embed.W' has shape [16, 16], expected [32, 16]");
        row("config out of range", meta_edited("config", [](json& c) { c["model"]["experts"] = 0; }),
            "metadata 'config'");
        row("monitor pointing outside", meta_edited("monitor", [](json& m) { m["rules"][0]["history_index"] = 99; }),
            "points at warning 99");
        row("probe larger than the test set", meta_edited("dataset", [](json& d) { d["probe"] = 100000; }),
            "dataset probe");
        std::string nan = valid_;
        const uint64_t at = p.header["layer0.router.W"]["data_offsets"][0].get<uint64_t>() + 4;
        const float q = std::numeric_limits<float>::quiet_NaN();
        std::memcpy(nan.data() + header_end + at, &q, 4);
        row("NaN in a parameter", nan, "tensor 'layer0.router.W' holds NaN");
        Rng rng(3);
        std::string noise(4096, '\0');
        for (char& ch : noise) ch = static_cast<char>(rng.below(256));
        row("random bytes", noise, "");
        row("text file", std::string("hello, this is not a snapshot at all\n"), "larger than the file");
        row("safetensors without our metadata",
            join_raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "abcd"), "no __metadata__");
    }

    void badFileGivesOneClearError() {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, message);
        const std::string path = dir_.filePath("bad.moesnap").toStdString();
        write_bytes(path, bytes.toStdString());
        try {
            load_snapshot(path);
            QFAIL("a bad file loaded");
        } catch (const DataError& e) {
            const QString what = e.what();
            QVERIFY2(what.startsWith(QString::fromStdString(path) + ": "), e.what());
            QVERIFY2(what.contains(message), e.what());
            QVERIFY2(!what.contains('\n'), e.what());
        }
    }

    void missingFileAndDirectory() {
        for (auto [path, why] :
             {std::pair{dir_.filePath("nope.moesnap"), "no such file"}, {dir_.path(), "directory"}}) {
            try {
                load_snapshot(path.toStdString());
                QFAIL("loaded a path that is no file");
            } catch (const DataError& e) {
                QVERIFY2(QString(e.what()).contains(why), e.what());
            }
        }
    }

    // The engine that wrote a snapshot is recorded; a file from before the field
    // (no "engine" entry) still loads, as the CPU's, and resumes the same run.
    void engineIsRecordedAndOldFilesStillLoad() {
        Parts p = split(valid_);
        QCOMPARE(p.header["__metadata__"].value("engine", std::string()), std::string("cpu"));
        QCOMPARE(load_snapshot(valid_path_).state.engine, std::string("cpu"));
        p.header["__metadata__"].erase("engine");
        const std::string old_path = dir_.filePath("old.moesnap").toStdString();
        write_bytes(old_path, join(p));
        const Snapshot old = load_snapshot(old_path);
        QCOMPARE(old.state.engine, std::string("cpu"));
        QCOMPARE(old.state.steps, 25L);
        p.header["__metadata__"]["engine"] = "cuda";  // written on the GPU: resumes here on the CPU all the same
        write_bytes(old_path, join(p));
        const Snapshot gpu = load_snapshot(old_path);
        QCOMPARE(gpu.state.engine, std::string("cuda"));
        auto a = Trainer::from_state(old.state), b = Trainer::from_state(gpu.state, Backend::Cpu);
        QCOMPARE(a->engine().name(), std::string("cpu"));
        QCOMPARE(a->step().loss, b->step().loss);
    }

    // A failed load is a separate object: the run that asked for it continues
    // exactly as if nothing happened.
    void failedLoadLeavesTheRunAlone() {
        Trainer a(tiny_config()), b(tiny_config());
        for (int i = 0; i < 5; ++i) a.step(), b.step();
        const std::string path = dir_.filePath("broken.moesnap").toStdString();
        write_bytes(path, valid_.substr(0, valid_.size() - 3));
        QVERIFY_THROWS_EXCEPTION(DataError, load_snapshot(path));
        for (int i = 0; i < 5; ++i) QCOMPARE(a.step().loss, b.step().loss);
        QVERIFY(a.engine().export_params() == b.engine().export_params());
    }

    void fuzzedFilesNeverCrash() {
        const Parts p = split(valid_);
        const size_t header_end = valid_.size() - p.data.size();
        const std::string path = dir_.filePath("fuzz.moesnap").toStdString();
        std::vector<std::string> keys;
        for (const auto& [k, v] : p.header.items()) keys.push_back(k);
        Rng rng(20240611);
        auto pick = [&](size_t n) { return static_cast<size_t>(rng.below(n)); };
        int rejected = 0, loaded = 0;
        constexpr int kMutations = 3000;
        for (int i = 0; i < kMutations; ++i) {
            std::string file = valid_;
            switch (i % 5) {
                case 0:  // flip bits in the header, length field included
                    for (int f = 1 + pick(3); f > 0; --f) file[pick(header_end)] ^= static_cast<char>(1 << pick(8));
                    break;
                case 1:  // flip bits in the tensor data
                    for (int f = 1 + pick(8); f > 0; --f)
                        file[header_end + pick(p.data.size())] ^= static_cast<char>(1 << pick(8));
                    break;
                case 2:  // cut anywhere
                    file.resize(pick(file.size()));
                    break;
                case 3: {  // change one number of a tensor entry
                    Parts q = p;
                    json& t = q.header[keys[pick(keys.size())]];
                    if (!t.contains("shape")) break;
                    json& field = t[pick(2) ? "shape" : "data_offsets"];
                    if (field.empty()) break;
                    const int64_t deltas[] = {-1, 1, 4, -4, 1 << 20, -(1LL << 40), std::numeric_limits<int64_t>::max()};
                    json& n = field[pick(field.size())];
                    // Wrapping in unsigned arithmetic: the test itself must not overflow.
                    n = static_cast<int64_t>(n.get<uint64_t>() +
                                             static_cast<uint64_t>(deltas[pick(std::size(deltas))]));
                    file = join(q);
                    break;
                }
                case 4: {  // delete a key, or damage one metadata value
                    Parts q = p;
                    const std::string& k = keys[pick(keys.size())];
                    if (k != "__metadata__" || pick(4) == 0) {
                        q.header.erase(k);
                    } else {
                        json& m = q.header["__metadata__"];
                        auto it = std::next(m.begin(), static_cast<long>(pick(m.size())));
                        std::string v = it->get<std::string>();
                        if (!v.empty()) v[pick(v.size())] = "0123456789-.,:{}[]\"ex"[pick(21)];
                        *it = v;
                    }
                    file = join(q);
                    break;
                }
            }
            write_bytes(path, file);
            try {
                auto tr = Trainer::from_state(load_snapshot(path).state);
                ++loaded;
                try {
                    tr->step();
                } catch (const std::exception& e) {
                    QFAIL(qPrintable(QStringLiteral("mutation %1 loaded but cannot step: %2").arg(i).arg(e.what())));
                }
            } catch (const Error&) {
                ++rejected;
            } catch (const std::exception& e) {
                QFAIL(qPrintable(QStringLiteral("mutation %1 threw a non-moescope error: %2").arg(i).arg(e.what())));
            }
        }
        qInfo("%d mutations: %d rejected, %d loaded and stepped", kMutations, rejected, loaded);
        QCOMPARE(rejected + loaded, kMutations);
        QVERIFY(rejected > kMutations / 4 && loaded > kMutations / 20);
    }
};

QTEST_APPLESS_MAIN(TestSnapshotFiles)
#include "test_snapshot_files.moc"
