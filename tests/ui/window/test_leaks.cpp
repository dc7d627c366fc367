// What one session must not leave behind for the next (issue 23): a geometry
// saved on a large screen is shrunk to fit a smaller one; the last preset is
// remembered however it was chosen; leaving classroom mode restores the plots'
// legend and marker text to their launch sizes.
#include <qcustomplot.h>
#include <QSettings>
#include <QStandardPaths>
#include <QtTest>

#include "test_presets.hpp"
#include "theme.hpp"
#include "window/main_window.hpp"
#include "window/screen_fit.hpp"

namespace {
constexpr int kTimeoutMs = 60000;

// Each plot's legend font and the fonts of its legend entries.
QMap<QCustomPlot*, QList<double>> legend_sizes(MainWindow& w) {
    QMap<QCustomPlot*, QList<double>> sizes;
    for (QCustomPlot* plot : w.findChildren<QCustomPlot*>()) {
        if (!plot->legend) continue;
        QList<double>& s = sizes[plot];
        s << plot->legend->font().pointSizeF();
        for (int i = 0; i < plot->legend->itemCount(); ++i)
            if (auto* item = plot->legend->item(i)) s << item->font().pointSizeF();
    }
    return sizes;
}
}  // namespace

class TestLeaks : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("moescope-test-leaks"));
        QSettings().clear();
    }

    void fit_on_screen_shrinks_and_moves_inside() {
        const QRect screen(0, 0, 1280, 720);
        QCOMPARE(fit_on_screen(QRect(100, 50, 800, 600), screen), QRect(100, 50, 800, 600));  // fits: unchanged
        QCOMPARE(fit_on_screen(QRect(200, 100, 1500, 960), screen), QRect(0, 0, 1280, 720));
        QCOMPARE(fit_on_screen(QRect(1000, 600, 800, 400), screen), QRect(480, 320, 800, 400));
        QCOMPARE(fit_on_screen(QRect(-300, -50, 400, 300), QRect(0, 30, 1280, 690)), QRect(0, 30, 400, 300));
    }

    // A window saved at 1500×960 (a 1920×1080 session) opens inside a 1280×720 projector's
    // screen; before the fix the launch size was forced to 1500×940 whatever the screen.
    void restored_geometry_fits_the_screen() {
        const QRect projector(0, 0, 1280, 720);
        {
            MainWindow big(test_presets::tiny());
            big.setGeometry(200, 100, 1500, 960);
            QSettings().setValue(theme::kSettingsGeometry, big.saveGeometry());
        }
        MainWindow w(test_presets::tiny());
        QVERIFY(w.minimumSizeHint().width() <= projector.width() && w.minimumSizeHint().height() <= projector.height());
        w.placeOnScreen({1500, 940}, projector);
        auto where = [](const QRect& r) {
            return QStringLiteral("%1,%2 %3×%4").arg(r.x()).arg(r.y()).arg(r.width()).arg(r.height());
        };
        QVERIFY2(projector.contains(w.frameGeometry()), qPrintable(where(w.frameGeometry())));
        QCOMPARE(w.size(), projector.size());  // the saved size, shrunk: no frame offscreen
        // No saved geometry: the preferred size, also fitted.
        QSettings().remove(theme::kSettingsGeometry);
        MainWindow fresh(test_presets::tiny());
        fresh.placeOnScreen({1500, 940}, projector);
        QVERIFY2(projector.contains(fresh.frameGeometry()), qPrintable(where(fresh.frameGeometry())));
        // A small layout saved on this screen keeps its size.
        fresh.setGeometry(100, 50, 1000, 600);
        QSettings().setValue(theme::kSettingsGeometry, fresh.saveGeometry());
        MainWindow again(test_presets::tiny());
        again.placeOnScreen({1500, 940}, projector);
        QCOMPARE(again.size(), QSize(1000, 600));
    }

    // `--preset lesson2_collapse` makes the window with that config; the next launch
    // (gui_main reads kSettingsPreset) used to open `default` because only the Preset box wrote it.
    void last_preset_is_remembered_however_chosen() {
        QSettings().setValue(theme::kSettingsPreset, QStringLiteral("default"));
        {
            MainWindow w(test_presets::small("lesson2_collapse"));  // as gui_main does for --preset
            QCOMPARE(QSettings().value(theme::kSettingsPreset).toString(), QStringLiteral("lesson2_collapse"));
            w.selectPreset(QStringLiteral("collapse"));  // the Preset box
            QCOMPARE(QSettings().value(theme::kSettingsPreset).toString(), QStringLiteral("collapse"));
            moescope::Config own = test_presets::tiny();
            own.name = "my experiment";  // a config file of the user's: not a preset, nothing to remember
            w.startRun(own);
            QCOMPARE(QSettings().value(theme::kSettingsPreset).toString(), QStringLiteral("collapse"));
        }
    }

    // Classroom mode grows plot text; leaving it must give back exactly the launch sizes,
    // also for legend entries made while it was on (a branch's curves).
    void classroom_mode_gives_back_the_legend_font() {
        MainWindow w(test_presets::small("collapse"));
        w.resize(1280, 720);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        w.setPlaying(true);
        QTRY_VERIFY_WITH_TIMEOUT(w.history().last_step() >= 5, kTimeoutMs);
        w.setPlaying(false);
        QTest::qWait(200);
        const auto before = legend_sizes(w);
        w.setClassroom(true);
        QSignalSpy branched(&w, &MainWindow::branchChanged);
        w.branchRun();
        QTRY_COMPARE_WITH_TIMEOUT(branched.count(), 1, kTimeoutMs);
        w.setPlaying(true);
        QTRY_VERIFY_WITH_TIMEOUT(w.history().last_step() >= 10, kTimeoutMs);
        w.setPlaying(false);
        QTest::qWait(200);
        w.setClassroom(false);
        QTest::qWait(100);
        const auto after = legend_sizes(w);
        QVERIFY(!before.isEmpty());
        for (auto it = after.begin(); it != after.end(); ++it) {
            const double launch = before.value(it.key()).value(0, it.value().first());
            for (int i = 0; i < it.value().size(); ++i)
                QVERIFY2(qFuzzyCompare(it.value()[i], launch),
                         qPrintable(QStringLiteral("%1 pt, %2 pt at launch: entry %3 of the legend of %4")
                                        .arg(it.value()[i])
                                        .arg(launch)
                                        .arg(i)
                                        .arg(it.key()->parentWidget()->metaObject()->className())));
        }
    }
};

QTEST_MAIN(TestLeaks)
#include "test_leaks.moc"
