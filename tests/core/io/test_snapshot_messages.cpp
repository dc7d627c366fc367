// Messages about damaged snapshots are in the project's words: 400 seeded
// mutations (bytes of the header, the JSON text inside a metadata entry, and
// single values inside it set to strings with control characters, invalid
// UTF-8, huge numbers, other kinds) are loaded as a run and as a history, and
// every refusal must be one line of well-formed UTF-8 with no control
// character, no JSON-library text ("json.exception", "parse error", "last
// read") and at most ~300 bytes after the file name. Runs under ASan/UBSan.
#include <QTemporaryDir>
#include <QtTest>

#include <random>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "io/snapshot.hpp"
#include "io/snapshot_history.hpp"
#include "snapshot_bytes.hpp"
#include "test_presets.hpp"
#include "train/trainer.hpp"

using namespace moescope;
using namespace snapshot_bytes;
using nlohmann::json;

namespace {

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// A string with what a hostile file holds: control characters, bytes that are not UTF-8, length.
std::string nasty_text(std::mt19937& rng) {
    std::string s;
    const int n = std::uniform_int_distribution<int>(0, 3)(rng) == 0 ? 5000 : 12;
    for (int i = 0; i < n; ++i) {
        const int pick = std::uniform_int_distribution<int>(0, 5)(rng);
        s += pick == 0   ? char(std::uniform_int_distribution<int>(0, 31)(rng))
             : pick == 1 ? char(0xFF)
             : pick == 2 ? '\x1b'
                         : char('a' + i % 26);
    }
    return s;
}

json nasty_value(std::mt19937& rng) {
    switch (std::uniform_int_distribution<int>(0, 7)(rng)) {
        case 0:
            return nasty_text(rng);
        case 1:
            return 1e300;
        case 2:
            return -1;
        case 3:
            return json::array({nasty_text(rng), 1});
        case 4:
            return nullptr;
        case 5:
            return json::object({{nasty_text(rng), 2}});
        case 6:
            return 18446744073709551615ull;
        default:
            return 0.5;
    }
}

// A random value inside `j` (object member or array element), replaced.
void mutate_value(json& j, std::mt19937& rng, int depth = 0) {
    if ((!j.is_object() && !j.is_array()) || j.empty() || depth > 4) {
        j = nasty_value(rng);
        return;
    }
    const size_t i = std::uniform_int_distribution<size_t>(0, j.size() - 1)(rng);
    json& child = j.is_object() ? std::next(j.begin(), long(i)).value() : j[i];
    if (std::uniform_int_distribution<int>(0, 2)(rng) == 0)
        child = nasty_value(rng);
    else
        mutate_value(child, rng, depth + 1);
}

void mutate_bytes(std::string& s, size_t lo, size_t hi, std::mt19937& rng) {
    const int edits = std::uniform_int_distribution<int>(1, 4)(rng);
    for (int e = 0; e < edits && hi > lo; ++e) {
        const size_t pos = std::uniform_int_distribution<size_t>(lo, hi - 1)(rng);
        const char byte = char(std::uniform_int_distribution<int>(0, 255)(rng));
        switch (std::uniform_int_distribution<int>(0, 2)(rng)) {
            case 0:
                s[pos] = byte;
                break;
            case 1:
                s.insert(pos, 1, byte), ++hi;
                break;
            default:
                s.erase(pos, 1), --hi;
                break;
        }
    }
}

}  // namespace

class TestSnapshotMessages : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

private slots:
    void mutatedSnapshotsGetCleanMessages() {
        Config c = test_presets::tiny();
        c.dead_window = 10;
        Trainer tr(c);
        MetricsHistory history;
        history.reset(c.layers, c.experts);
        for (int s = 0; s < 2; ++s) history.append(tr.step());
        const std::string valid_path = dir_.filePath("valid.moesnap").toStdString();
        save_snapshot(valid_path, tr.export_state(), &history);
        const std::string valid = read_bytes(valid_path);
        const Parts parts = split(valid);
        std::vector<std::string> meta_keys;
        for (const auto& [key, value] : parts.header["__metadata__"].items())
            if (json::accept(value.get<std::string>())) meta_keys.push_back(key);

        const std::string path = dir_.filePath("m.moesnap").toStdString();
        std::mt19937 rng(28);
        int refused = 0, cases = 0;
        for (int i = 0; i < 400; ++i) {
            std::string bytes;
            const int kind = i % 3;
            if (kind == 0) {  // bytes of the header, its length kept or not
                bytes = valid;
                uint64_t n = 0;
                std::memcpy(&n, bytes.data(), 8);
                const size_t before = bytes.size();
                mutate_bytes(bytes, 8, 8 + n, rng);
                if (rng() % 2) {
                    n += bytes.size() - before;
                    std::memcpy(bytes.data(), &n, 8);
                }
            } else {
                Parts p = parts;
                const std::string key = meta_keys[rng() % meta_keys.size()];
                std::string text = p.header["__metadata__"][key].get<std::string>();
                if (kind == 1) {  // the JSON text inside one metadata entry
                    mutate_bytes(text, 0, text.size(), rng);
                } else {  // one value inside it
                    json inner = json::parse(text);
                    mutate_value(inner, rng);
                    text = dump(inner);
                }
                p.header["__metadata__"][key] = text;
                bytes = join_raw(dump(p.header), p.data);
            }
            write_bytes(path, bytes);
            for (bool as_history : {false, true}) {
                ++cases;
                std::string msg;
                try {
                    if (as_history)
                        load_history_snapshot(path);
                    else
                        load_snapshot(path);
                    continue;
                } catch (const DataError& e) {
                    msg = e.what();
                } catch (const std::exception& e) {
                    QFAIL(qPrintable(QString("case %1: not a DataError: %2").arg(i).arg(e.what())));
                }
                ++refused;
                const std::string where = "case " + std::to_string(i) + ": " + clip_text(msg, 2000);
                QVERIFY2(is_utf8(msg), where.c_str());
                QVERIFY2(std::none_of(msg.begin(), msg.end(),
                                      [](char ch) { return (unsigned char)ch < 0x20 || ch == 0x7F; }),
                         where.c_str());
                for (const char* library : {"json.exception", "parse error", "last read", "syntax error while"})
                    QVERIFY2(msg.find(library) == std::string::npos, where.c_str());
                QVERIFY2(msg.rfind(path + ": ", 0) == 0 || msg.find("'" + path + "'") != std::string::npos,
                         where.c_str());
                QVERIFY2(msg.size() <= path.size() + 320, where.c_str());
            }
        }
        qInfo("%d loads of 400 mutated snapshots, %d refused, every message clean", cases, refused);
        QVERIFY(refused > cases / 2);
    }
};

QTEST_APPLESS_MAIN(TestSnapshotMessages)
#include "test_snapshot_messages.moc"
