// A save killed at any moment, 100 times (slow label):
// a child saves over the same file in a loop and is SIGKILLed at a random
// moment; the file must always be one whole snapshot, old or new, and the temp
// files the kills leave are removed by the next save.
#include <QTemporaryDir>
#include <QtTest>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "io/snapshot.hpp"

using namespace moescope;

class TestSnapshotKills : public QObject {
    Q_OBJECT

private slots:
    void hundredKilledSaves() {
        Config c = load_preset("default");
        c.batch_tokens = 128;
        c.train_samples = 4000;
        Trainer tr(c);
        for (int i = 0; i < 10; ++i) tr.step();
        const TrainerState older = tr.export_state();
        tr.step();
        const TrainerState newer = tr.export_state();
        QTemporaryDir dir;
        const std::string path = dir.filePath("killed.moesnap").toStdString();
        save_snapshot(path, older, nullptr);
        Rng rng(11);
        int torn = 0;
        for (int kill_no = 0; kill_no < 100; ++kill_no) {
            const pid_t child = fork();
            QVERIFY(child >= 0);
            if (child == 0) {
                try {
                    for (long i = 0;; ++i) save_snapshot(path, i % 2 ? older : newer, nullptr);
                } catch (...) {
                    _exit(1);
                }
            }
            usleep(static_cast<useconds_t>(rng.below(20000)));
            kill(child, SIGKILL);
            int status = 0;
            waitpid(child, &status, 0);
            QVERIFY2(WIFSIGNALED(status), "the saving child stopped by itself: a save failed");
            const std::string temp_stem = "killed.moesnap.tmp-" + std::to_string(child) + "-";
            for (const auto& e : std::filesystem::directory_iterator(dir.path().toStdString()))
                torn += e.path().filename().string().starts_with(temp_stem);
            const Snapshot snap = load_snapshot(path);
            QVERIFY(snap.state.steps == older.steps || snap.state.steps == newer.steps);
        }
        save_snapshot(path, newer, nullptr);  // clears every temp file the kills left
        int left = 0;
        for (const auto& e : std::filesystem::directory_iterator(dir.path().toStdString()))
            left += e.path().filename().string() != "killed.moesnap";
        qInfo("100 kills, %d of them mid-save; %d files besides the snapshot after the next save", torn, left);
        QCOMPARE(left, 0);
    }
};

QTEST_APPLESS_MAIN(TestSnapshotKills)
#include "test_snapshot_kills.moc"
