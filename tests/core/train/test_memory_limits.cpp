// The memory check against the limits a process really runs under: a cgroup's
// memory.max (v2) or memory.limit_in_bytes (v1) on its cgroup path, read from a
// fake /proc and /sys/fs/cgroup tree; RLIMIT_AS set with `ulimit -v` on the real
// moescope-cli; and estimates that count every buffer that scales, against the
// resident sizes measured once with /usr/bin/time -v (see the commit message).
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <functional>

#include "error.hpp"
#include "test_presets.hpp"
#include "train/memory_estimate.hpp"
#include "train/sweep.hpp"

using namespace moescope;

namespace {

void put(const QString& path, const QByteArray& text) {
    QVERIFY(QDir().mkpath(QFileInfo(path).path()));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(text);
}

// A machine with 64 GB, 60 GB of it available.
MemorySources fake_machine(const QTemporaryDir& dir, const QByteArray& self_cgroup) {
    put(dir.filePath("proc/meminfo"), "MemTotal:       67108864 kB\nMemFree: 1 kB\nMemAvailable:   62914560 kB\n");
    put(dir.filePath("proc/self/cgroup"), self_cgroup);
    return {dir.filePath("proc").toStdString(), dir.filePath("cg").toStdString(), false};
}

QString error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const ConfigError& e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

Config big_batch() {
    Config c = load_preset("default");
    c.batch_tokens = 524288;
    return c;
}

}  // namespace

class TestMemoryLimits : public QObject {
    Q_OBJECT

private slots:
    // The first example: 6.05 GB "fit" in a 4 GB cgroup and the kernel killed the run.
    void cgroupV2LimitRefuses() {
        QTemporaryDir dir;
        const MemorySources from = fake_machine(dir, "0::/job/step\n");
        put(dir.filePath("cg/job/memory.max"), "4000000000\n");
        put(dir.filePath("cg/job/step/memory.max"), "max\n");
        const MemoryLimits l = read_memory_limits(from);
        QCOMPARE(l.physical, 64.0 * 1024 * 1024 * 1024);
        QCOMPARE(l.available, 60.0 * 1024 * 1024 * 1024);
        QCOMPARE(l.cgroup, 4e9);
        QCOMPARE(l.address_space, 0.0);
        const MemoryBudget b = memory_budget(l);
        QCOMPARE(b.bytes, 3.6e9);
        const QString e = error_of([&] { check_memory(big_batch(), l); });
        QVERIFY2(e.startsWith("config needs about 6.05 GB") && e.contains("cgroup memory limit of 4.00 GB") &&
                     e.contains("lower batch_tokens"),
                 qPrintable(e));
        check_memory(load_preset("default"), l);  // a small run still fits
    }

    void cgroupV1LimitRefuses() {
        QTemporaryDir dir;
        const MemorySources from = fake_machine(dir, "5:cpu,cpuacct:/x\n4:memory:/a/b\n0::/\n");
        put(dir.filePath("cg/memory/memory.limit_in_bytes"), "9223372036854771712\n");  // v1's "no limit"
        put(dir.filePath("cg/memory/a/memory.limit_in_bytes"), "2000000000\n");
        put(dir.filePath("cg/memory/a/b/memory.limit_in_bytes"), "9223372036854771712\n");
        QCOMPARE(read_memory_limits(from).cgroup, 2e9);
        QVERIFY(error_of([&] { check_memory(big_batch(), read_memory_limits(from)); }).contains("cgroup"));
    }

    void noLimitsMeansTheMachine() {
        QTemporaryDir dir;
        const MemoryLimits l = read_memory_limits(fake_machine(dir, "0::/\n"));
        QCOMPARE(l.cgroup, 0.0);
        QVERIFY2(memory_budget(l).why.find("50 % of this machine's") == 0,
                 qPrintable(QString::fromStdString(memory_budget(l).why)));
        MemoryLimits busy = l;
        busy.available = 1e9;  // MemAvailable below half the machine decides
        QCOMPARE(memory_budget(busy).bytes, 1e9);
        QVERIFY(error_of([&] { check_memory(big_batch(), busy); }).contains("MemAvailable"));
    }

    // Measured once (Release, 2 threads, 2–3 steps, no snapshot): batch_tokens=524288 peaked at
    // 5.87 GB resident; dead_window=100000 layers=16 experts=256 at 4.63 GB, of which its dead-expert
    // window is 16 × 100000 × 256 doubles = 3.3 GB. The old estimates were 6.05 GB and 3.15 GB.
    void estimatesCountWhatScales() {
        const double batch = estimate_memory(big_batch()).total();
        QVERIFY2(batch > 0.9 * 5.87e9 && batch < 1.3 * 5.87e9, qPrintable(QString::number(batch)));
        Config window = load_preset("default");
        window.dead_window = 100000, window.layers = 16, window.experts = 256;
        const MemoryEstimate w = estimate_memory(window);
        QVERIFY2(w.monitor_bytes >= 3 * 3.3e9, qPrintable(QString::number(w.monitor_bytes)));  // live + saving's copies
        QVERIFY(w.total() > 4.63e9);
        // A sweep holds one run per thread at once.
        const SweepSpec spec = make_sweep_spec(test_presets::tiny(), parse_sweep_axis("aux_weight=0:1:2", false),
                                               parse_sweep_axis("batch_tokens=64:4096:2", false), 1000, 1);
        QCOMPARE(estimate_sweep_memory(spec, 4), 4 * estimate_sweep_memory(spec, 1));
        Config wide = test_presets::tiny();
        wide.batch_tokens = 4096;
        QVERIFY(estimate_sweep_memory(spec, 1) >= estimate_memory(wide).total());  // the grid's largest run
        MemoryLimits small;
        small.physical = 2 * estimate_sweep_memory(spec, 2);
        check_sweep_memory(spec, 2, small);
        const QString e = error_of([&] { check_sweep_memory(spec, 3, small); });
        QVERIFY2(e.startsWith("sweep needs about") && e.contains("3 runs at once") && e.contains("--threads"),
                 qPrintable(e));
    }

    // The real limit on the real binary: the run used to start and die of std::bad_alloc or the OOM killer.
    void addressSpaceLimitRefuses() {
        QProcess p;
        // One BLAS thread: OpenBLAS maps a buffer per thread when it loads, and loops forever when
        // RLIMIT_AS refuses them (seen below ~300 MB with 2 threads).
        p.start("/bin/sh", {"-c",
                            "ulimit -v 4000000 && OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 exec \"$0\" train "
                            "--set batch_tokens=524288 --steps 1",
                            QStringLiteral(MOESCOPE_CLI)});
        QVERIFY(p.waitForFinished(60000));
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(
            p.exitCode() == 2 && err.contains("config needs about 6.05 GB") && err.contains("RLIMIT_AS (ulimit -v)"),
            qPrintable(err));
    }
};

QTEST_GUILESS_MAIN(TestMemoryLimits)
#include "test_memory_limits.moc"
