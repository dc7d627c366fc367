// Damaged .moesweep files opened the ways the window opens them, offscreen:
// the sweep window's Open (SweepWindow::openSweep), `moescope --sweep FILE`
// (MainWindow::openSweepFile) and `moescope --sweep-png` (renderSweepPng).
// 41 structured cases (wrong grid sizes, NaN cells, missing axes, a cell count
// that disagrees with the header, extreme axes and values, a wrong top level),
// every truncation on a 64-step ladder, 200 seeded byte mutations and 100
// seeded value mutations: nothing crashes; each file either loads, and the map
// shows exactly its cells, or is refused with the reader's own one-line message
// (the file named, no JSON-library text, no control characters, short), and
// that very message is what the window's status line and the command line's
// error show, never a generic one. The same generator as the reader's core test
// (core/io/test_sweep_file_mutations), with other seeds. Last, the window's
// exports into a directory or a symlink say which file and why.
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "io/sweep_file.hpp"
#include "plots/phase_map.hpp"
#include "test_presets.hpp"
#include "window/main_window.hpp"
#include "window/sweep_window.hpp"

using namespace moescope;
using nlohmann::json;

namespace {

std::string text_of(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// What the reader makes of a file: its cells when it loads, else its message.
struct Reading {
    bool loaded = false;
    int cells = 0;
    std::string message;
};

}  // namespace

class TestSweepLoaderMutations : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    QString path_ = dir_.filePath(QStringLiteral("m.moesweep"));
    json valid_;
    std::unique_ptr<SweepWindow> sweeps_;
    std::unique_ptr<MainWindow> main_;  // as gui_main makes it for `--sweep FILE`
    int loaded_ = 0, refused_ = 0;

    void write(const std::string& bytes) const {
        std::ofstream(path_.toStdString(), std::ios::binary | std::ios::trunc) << bytes;
    }

    // The reader's verdict, with the form of a refusal checked; an empty
    // `failure` when all is well.
    Reading read(std::string& failure) const {
        Reading r;
        try {
            const SweepResult s = load_sweep(path_.toStdString());
            r.loaded = true;
            r.cells = int(s.cells.size());
            for (const SweepCell& c : s.cells)
                if (c.ix < 0 || c.ix >= s.spec.x.n || c.iy < 0 || c.iy >= s.spec.y.n)
                    failure = "a cell outside its grid";
        } catch (const Error& e) {
            r.message = e.what();
            const std::string& m = r.message;
            const std::string named = "sweep file '" + path_.toStdString() + "'";
            if (!is_utf8(m) || m.find("json.exception") != std::string::npos || m.find("[json") != std::string::npos ||
                m.find("parse error") != std::string::npos || m.find("last read") != std::string::npos ||
                m.find("internal error") != std::string::npos || m.size() > named.size() + 330 ||
                std::any_of(m.begin(), m.end(), [](char ch) { return (unsigned char)ch < 0x20 || ch == 0x7F; }))
                failure = "unclean message: " + clip_text(m, 400);
            else if (m.rfind(named, 0) != 0)
                failure = "the message does not start by naming the file: " + m;
        } catch (const std::exception& e) {
            failure = std::string("not a moescope error: ") + e.what();
        }
        return r;
    }

    // One damaged file through the reader and the sweep window's Open; the
    // failure ("" when none) says what went wrong.
    std::string check(const std::string& bytes) {
        write(bytes);
        std::string failure;
        const Reading r = read(failure);
        if (!failure.empty()) return failure;
        const bool opened = sweeps_->openSweep(path_);
        if (r.loaded) {
            ++loaded_;
            if (!opened) return "the reader loads it, the window refuses: " + sweeps_->status().toStdString();
            if (!sweeps_->status().startsWith(QStringLiteral("Opened %1").arg(path_)))
                return "status " + sweeps_->status().toStdString();
            if (sweeps_->map()->filledCells() != r.cells)
                return "the map shows " + std::to_string(sweeps_->map()->filledCells()) + " cells of " +
                       std::to_string(r.cells);
        } else {
            ++refused_;
            if (opened) return "the window opened what the reader refuses: " + r.message;
            if (sweeps_->status() != QString::fromUtf8(r.message))
                return "the window says '" + sweeps_->status().toStdString() + "', the reader '" + r.message + "'";
        }
        return {};
    }

private slots:
    void initTestCase() {
        SweepResult r;
        r.spec = make_sweep_spec(test_presets::tiny(), parse_sweep_axis("aux_weight=1e-3:1:3", true),
                                 parse_sweep_axis("router_lr=1e-3:0.1:2", true), 30, 2);
        for (int iy = 0; iy < 2; ++iy)
            for (int ix = 0; ix < 3; ++ix) {
                SweepCell c{ix, iy, r.spec.x.value(ix), r.spec.y.value(iy), {}};
                for (int s = 0; s < 2; ++s) {
                    SweepRun run{r.spec.base.seed + s, {}};
                    for (double& v : run.values) v = 0.25 * (ix + iy + s);
                    c.runs.push_back(run);
                }
                r.cells.push_back(c);
            }
        valid_ = sweep_to_json(r);
        sweeps_ = std::make_unique<SweepWindow>(r.spec.base);
        sweeps_->show();
        main_ = std::make_unique<MainWindow>(test_presets::tiny());
        const std::string ok = check(text_of(valid_));
        QVERIFY2(ok.empty(), ok.c_str());
        QCOMPARE(sweeps_->map()->filledCells(), 6);
        loaded_ = 0;
    }

    void structuredCases_data() {
        QTest::addColumn<QString>("pointer");  // JSON pointer to set or remove; "text": the whole file
        QTest::addColumn<QString>("value");    // JSON text of the new value; "" removes
        QTest::addColumn<bool>("loads");
        const auto row = [](const char* tag, const char* pointer, const char* value, bool loads) {
            QTest::newRow(tag) << QString::fromUtf8(pointer) << QString::fromUtf8(value) << loads;
        };
        // Grid sizes and the cell count against the header.
        row("x.n zero", "/spec/x/n", "0", false);
        row("x.n 65", "/spec/x/n", "65", false);
        row("x.n 2^32+2", "/spec/x/n", "4294967298", false);
        row("y.n 2^64-1", "/spec/y/n", "18446744073709551615", false);
        row("x.n negative", "/spec/x/n", "-3", false);
        row("x.n float", "/spec/x/n", "2.5", false);
        row("x.n string", "/spec/x/n", "\"3\"", false);
        row("grid smaller than its cells", "/spec/x/n", "2", false);
        row("grid 64x64 with six cells", "/spec/y/n", "64", true);
        row("more cells than the grid", "/cells/5/ix", "3", false);
        row("cell twice", "/cells/1/ix", "0", false);
        row("no cells", "/cells", "[]", true);
        row("cells an object", "/cells", "{}", false);
        row("cell a number", "/cells/0", "3", false);
        row("fewer runs than seeds", "/cells/0/runs/1", "", false);
        row("seeds 2^40", "/spec/seeds", "1099511627776", false);
        row("seeds 0", "/spec/seeds", "0", false);
        // NaN and extreme cells.
        row("NaN cell (null values)", "/cells/0/runs/0/values",
            "[null,null,null,null,null,null,null,null,null,null,null,null]", true);
        row("NaN as a string", "/cells/0/runs/0/values/0", "\"NaN\"", false);
        row("a huge value", "/cells/2/runs/1/values/0", "1e308", true);
        row("a negative huge value", "/cells/3/runs/0/values/8", "-1e308", true);
        row("values too short", "/cells/0/runs/0/values/11", "", false);
        // Axes.
        row("missing x axis", "/spec/x", "", false);
        row("missing y knob", "/spec/y/knob", "", false);
        row("missing spec", "/spec", "", false);
        row("unknown knob", "/spec/x/knob", "\"warp_speed\"", false);
        row("same knob twice", "/spec/y/knob", "\"aux_weight\"", false);
        row("log axis from 0", "/spec/x/lo", "0", false);
        row("axis lo = hi", "/spec/y/hi", "0.001", true);
        row("axis from 1e-300", "/spec/x/lo", "1e-300", true);
        // The rest of the file.
        row("missing config", "/config", "", false);
        row("config a string", "/config", "\"default\"", false);
        row("measures reordered", "/measures/0", "\"test_acc\"", false);
        row("format with control bytes", "/format", "\"moe\\u0007\\u001b[31mscope\"", false);
        row("version 2", "/version", "2", false);
        row("top level an array", "text", "[1, 2, 3]", false);
        row("top level a number", "text", "42", false);
        row("literal NaN", "text", "{\"format\": NaN}", false);
        row("number beyond double", "text", "{\"format\": 1e999}", false);
        row("invalid UTF-8", "text", "{\"format\": \"\\xff\"}", false);
        row("empty", "text", "", false);
    }

    void structuredCases() {
        QFETCH(QString, pointer);
        QFETCH(QString, value);
        QFETCH(bool, loads);
        std::string bytes;
        if (pointer == QLatin1String("text")) {
            bytes = value.toStdString();
            if (QTest::currentDataTag() == QByteArray("invalid UTF-8")) bytes = "{\"format\": \"\xff\"}";
        } else {
            json j = valid_;
            const json::json_pointer ptr(pointer.toStdString());
            json& parent = j[ptr.parent_pointer()];
            if (value.isEmpty())
                parent.erase(parent.is_array() ? parent.begin() + std::stol(ptr.back()) : parent.find(ptr.back()));
            else
                j[ptr] = json::parse(value.toStdString());
            bytes = text_of(j);
        }
        const std::string failure = check(bytes);
        QVERIFY2(failure.empty(), failure.c_str());
        std::string ignored;
        const Reading r = read(ignored);
        QCOMPARE(r.loaded, loads);

        // `moescope --sweep FILE`: the command line's error is the reader's message.
        SweepWindow* opened = main_->openSweepFile(path_);
        QCOMPARE(opened != nullptr, loads);
        if (!loads) QCOMPARE(main_->lastError(), QString::fromUtf8(r.message));
        // `moescope --sweep-png FILE OUT.png` draws what loads and refuses the rest.
        if (loads)
            QCOMPARE(renderSweepPng(path_, dir_.filePath(QStringLiteral("map.png"))), 0);
        else if (QTest::currentDataTag() == QByteArray("x.n zero"))
            QCOMPARE(renderSweepPng(path_, dir_.filePath(QStringLiteral("map.png"))), 2);
    }

    void truncations() {
        const std::string valid = text_of(valid_);
        for (size_t len = 0; len < valid.size(); len += std::max<size_t>(1, valid.size() / 64)) {
            const std::string failure = check(valid.substr(0, len));
            QVERIFY2(failure.empty(), ("truncated to " + std::to_string(len) + " bytes: " + failure).c_str());
        }
    }

    void byteMutations() {
        std::mt19937 rng(2828);
        const std::string valid = text_of(valid_);
        for (int i = 0; i < 200; ++i) {
            std::string bytes = valid;
            for (int e = 0, n = 1 + int(rng() % 4); e < n; ++e) {
                const size_t pos = rng() % bytes.size();
                switch (rng() % 4) {
                    case 0:
                        bytes[pos] = char(rng() % 256);
                        break;
                    case 1:
                        bytes[pos] = char(bytes[pos] ^ (1 << (rng() % 8)));
                        break;
                    case 2:
                        bytes.insert(pos, 1, char(rng() % 256));
                        break;
                    default:
                        bytes.erase(pos, 1);
                        break;
                }
            }
            const std::string failure = check(bytes);
            QVERIFY2(failure.empty(), ("byte mutation " + std::to_string(i) + ": " + failure).c_str());
        }
    }

    void valueMutations() {
        std::mt19937 rng(2829);
        for (int i = 0; i < 100; ++i) {
            json j = valid_;
            json* v = &j;
            while ((v->is_object() || v->is_array()) && !v->empty() && rng() % 4 != 0)
                v = v->is_object() ? &std::next(v->begin(), long(rng() % v->size())).value() : &(*v)[rng() % v->size()];
            const json choices[] = {json(nullptr),  json(-1),      json(1e308),    json(4294967298ull),
                                    json("x\x01y"), json::array(), json::object(), json(0.5),
                                    json(64),       json(-1e-308)};
            *v = choices[rng() % 10];
            const std::string failure = check(text_of(j));
            QVERIFY2(failure.empty(), ("value mutation " + std::to_string(i) + ": " + failure).c_str());
        }
    }

    // The sweep window's Export map / Export cells into a path where a
    // directory or a symlink sits: the status line names the path and the
    // reason in the writer's words (it said "Could not write PATH (use .png,
    // .svg or .pdf)" for any failure), and the link's target is untouched.
    void exportsSayWhy() {
        write(text_of(valid_));
        QVERIFY(sweeps_->openSweep(path_));
        const QString victim = dir_.filePath(QStringLiteral("victim.txt"));
        std::ofstream(victim.toStdString()) << "keep me";
        const QString folder = dir_.filePath(QStringLiteral("folder.png"));
        QVERIFY(QDir().mkdir(folder));
        const QString link_png = dir_.filePath(QStringLiteral("link.png"));
        const QString link_csv = dir_.filePath(QStringLiteral("link.csv"));
        QVERIFY(QFile::link(victim, link_png));
        QVERIFY(QFile::link(victim, link_csv));

        QVERIFY(!sweeps_->exportMap(folder));
        QCOMPARE(sweeps_->status(), QStringLiteral("cannot save image '%1': it is a directory, not a regular file (a "
                                                   "save never replaces or writes through one); give a new file name")
                                        .arg(folder));
        QVERIFY(!sweeps_->exportMap(link_png));
        QVERIFY2(
            sweeps_->status().startsWith(QStringLiteral("cannot save image '%1': it is a symbolic link").arg(link_png)),
            qPrintable(sweeps_->status()));
        QVERIFY(!sweeps_->exportCells(link_csv));
        QVERIFY2(sweeps_->status().contains(link_csv) && sweeps_->status().contains(QLatin1String("a symbolic link")),
                 qPrintable(sweeps_->status()));
        QVERIFY(!sweeps_->exportMap(dir_.filePath(QStringLiteral("map.gif"))));
        QVERIFY2(
            sweeps_->status().contains(QLatin1String("map.gif")) && sweeps_->status().contains(QLatin1String(".png")),
            qPrintable(sweeps_->status()));
        QFile kept(victim);
        QVERIFY(kept.open(QIODevice::ReadOnly));
        QCOMPARE(kept.readAll(), QByteArray("keep me"));
        QVERIFY(QFileInfo(folder).isDir());
        QVERIFY(QFileInfo(link_png).isSymLink());

        QVERIFY(sweeps_->exportMap(dir_.filePath(QStringLiteral("map.svg"))));
        QVERIFY(sweeps_->exportCells(dir_.filePath(QStringLiteral("cells.csv"))));
        QCOMPARE(sweeps_->status(), QStringLiteral("Wrote %1").arg(dir_.filePath(QStringLiteral("cells.csv"))));
    }

    void cleanupTestCase() {
        qInfo("%d damaged sweep files through the window: %d refused with the reader's own message, %d loaded",
              loaded_ + refused_, refused_, loaded_);
        QVERIFY(refused_ > 0 && loaded_ > 0);
        main_.reset();
        sweeps_.reset();
    }
};

QTEST_MAIN(TestSweepLoaderMutations)
#include "test_sweep_loader_mutations.moc"
