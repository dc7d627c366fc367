// The window at a projector's 1280×720 and a laptop's 900×600 (issue 18 §5): the
// step counter stays on the toolbar (not in its overflow), no two tick labels of
// any plot overlap, and a picture of each size is written for a person to look at
// (build/screenshots/window_1280x720.png, window_900x600.png).
#include <qcustomplot.h>
#include <QDir>
#include <QLabel>
#include <QStandardPaths>
#include <QToolBar>
#include <QtTest>

#include "plots/plot_grid.hpp"
#include "test_presets.hpp"
#include "window/main_window.hpp"

namespace {
constexpr int kTimeoutMs = 60000;

// Describes the first pair of neighbouring tick labels of `axis` that overlap, or "".
QString overlapping_ticks(QCPAxis* axis) {
    const QVector<double> ticks = axis->tickVector();
    const QVector<QString> labels = axis->tickVectorLabels();
    const QFontMetrics fm(axis->tickLabelFont());
    const bool horizontal = axis->orientation() == Qt::Horizontal;
    for (int i = 0; i + 1 < ticks.size() && i + 1 < labels.size(); ++i) {
        const double gap = std::abs(axis->coordToPixel(ticks[i + 1]) - axis->coordToPixel(ticks[i]));
        const double needed = horizontal
                                  ? (fm.horizontalAdvance(labels[i]) + fm.horizontalAdvance(labels[i + 1])) / 2.0 + 4
                                  : fm.height() + 2;
        if (gap < needed)
            return QStringLiteral("'%1' and '%2' are %3 px apart, need %4")
                .arg(labels[i], labels[i + 1])
                .arg(gap)
                .arg(needed);
    }
    return {};
}
}  // namespace

class TestSmallWindow : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("moescope-test"));
    }

    void small_window_degrades_gracefully_data() {
        QTest::addColumn<QSize>("size");
        QTest::newRow("1280x720") << QSize(1280, 720);
        QTest::newRow("900x600") << QSize(900, 600);
    }
    void small_window_degrades_gracefully() {
        QFETCH(QSize, size);
        moescope::Config cfg = test_presets::tiny();
        MainWindow w(cfg);
        w.resize(size);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QCOMPARE(w.size(), size);  // the window can be this small
        w.setPlaying(true);
        QTRY_VERIFY_WITH_TIMEOUT(w.stepsDone() >= 1500, kTimeoutMs);  // four-digit steps on the time axes
        w.setPlaying(false);
        QTest::qWait(300);  // the last frame is drawn

        auto* counter = w.findChild<QLabel*>(QStringLiteral("step_counter"));
        QVERIFY(counter);
        QVERIFY2(counter->isVisible(), "the step counter is in the toolbar's overflow");
        const QRect on_window(counter->mapTo(&w, QPoint(0, 0)), counter->size());
        QVERIFY(w.rect().contains(on_window));
        QVERIFY(counter->text().startsWith(QStringLiteral("step ")));

        for (const auto& [name, plot] : w.plotGrid()->namedPlots()) {
            plot->replot(QCustomPlot::rpImmediateRefresh);
            for (QCPAxisRect* rect : plot->axisRects())
                for (QCPAxis* axis : rect->axes()) {
                    if (!axis->visible() || !axis->tickLabels()) continue;
                    const QString overlap = overlapping_ticks(axis);
                    QVERIFY2(overlap.isEmpty(), qPrintable(name + QStringLiteral(": ") + overlap));
                }
        }
        const QString dir = QStringLiteral(MOESCOPE_BUILD_DIR) + "/screenshots";
        QVERIFY(QDir().mkpath(dir));
        const QString png = dir + QStringLiteral("/window_%1x%2.png").arg(size.width()).arg(size.height());
        QVERIFY(w.grab().save(png));
        qInfo("wrote %s", qPrintable(png));
    }
};

QTEST_MAIN(TestSmallWindow)
#include "test_small_window.moc"
