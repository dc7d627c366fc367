// The window at a projector's 1280×720 and a laptop's 900×600 (issue 18 §5): the
// step counter stays on the toolbar (not in its overflow), no two tick labels of
// any plot overlap, and a picture of each size is written for a person to look at
// (build/screenshots/window_1280x720.png, window_900x600.png). At 900×600 the
// toolbar keeps Preset and Layer out of its "»" overflow; in classroom mode, on a
// screen too small for the whole toolbar, the speed box and the rate counter keep
// room for their longest texts (issue 23).
#include <qcustomplot.h>
#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QLabel>
#include <QStandardPaths>
#include <QStyleOptionComboBox>
#include <QToolBar>
#include <QtTest>

#include "plots/plot_grid.hpp"
#include "test_presets.hpp"
#include "window/lesson_pacer.hpp"
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

// Why `w` is not shown whole on `bar` (in the overflow, under the "»" button, cut off), or "".
QString hidden_on_toolbar(QToolBar* bar, QWidget* w) {
    if (!w->isVisible()) return w->objectName() + QStringLiteral(" is in the toolbar's overflow");
    const QRect on_bar(w->mapTo(bar, QPoint(0, 0)), w->size());
    if (!bar->rect().contains(on_bar)) return w->objectName() + QStringLiteral(" runs off the toolbar");
    for (QWidget* ext : bar->findChildren<QWidget*>(QStringLiteral("qt_toolbar_ext_button")))
        if (ext->isVisible() && QRect(ext->mapTo(bar, QPoint(0, 0)), ext->size()).intersects(on_bar))
            return w->objectName() + QStringLiteral(" lies under the overflow button");
    return {};
}

// The width a combo box gives its text, and the advance of its longest item.
std::pair<int, int> combo_text_room(QComboBox* box) {
    QStyleOptionComboBox opt;
    opt.initFrom(box);
    opt.editable = box->isEditable();
    const QRect field = box->style()->subControlRect(QStyle::CC_ComboBox, &opt, QStyle::SC_ComboBoxEditField, box);
    int widest = 0;
    for (int i = 0; i < box->count(); ++i)
        widest = std::max(widest, box->fontMetrics().horizontalAdvance(box->itemText(i)));
    return {field.width(), widest};
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

    // A laptop's 900×600: Preset and Layer were behind the toolbar's "»".
    void toolbar_keeps_preset_and_layer_at_900x600() {
        MainWindow w(test_presets::tiny());
        w.resize(900, 600);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        auto* bar = w.findChild<QToolBar*>(QStringLiteral("run_toolbar"));
        QVERIFY(bar);
        for (const char* name : {"preset_box", "layer_box", "step_counter"}) {
            auto* widget = bar->findChild<QWidget*>(QLatin1String(name));
            QVERIFY2(widget, name);
            QTRY_VERIFY2(hidden_on_toolbar(bar, widget).isEmpty(), qPrintable(hidden_on_toolbar(bar, widget)));
        }
    }

    // Classroom fonts on a crowded toolbar (1920×1080 clipped "max speed" to "max speec"):
    // at every width the toolbar moves items into its overflow rather than squeeze the
    // speed box or the rate counter below their longest texts.
    void classroom_toolbar_keeps_its_texts_whole() {
        MainWindow w(test_presets::tiny());
        w.resize(1280, 720);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        const int normal_size = QApplication::font().pointSize();
        w.setClassroom(true);
        QVERIFY(QApplication::font().pointSize() > normal_size);
        w.showNormal();  // the offscreen screen is 800×600: try the widths of real ones
        auto* rate = w.findChild<QLabel*>(QStringLiteral("rate_counter"));
        auto* speed = w.pacer()->speedBox();
        QVERIFY(rate && speed);
        QVERIFY(MainWindow::widestRateTexts().first().contains(QStringLiteral("tok/s")));
        // A projector's 1280×720: the lecturer's toggles come before Preset and Layer.
        w.resize(1280, 720);
        auto* bar = w.findChild<QToolBar*>(QStringLiteral("run_toolbar"));
        QVERIFY(bar);
        for (const QString& text : {QStringLiteral("Script stops"), QStringLiteral("Classroom")}) {
            QAction* action = nullptr;
            for (QAction* a : bar->actions())
                if (a->text() == text) action = a;
            QVERIFY2(action && bar->widgetForAction(action), qPrintable(text));
            QTRY_VERIFY2(hidden_on_toolbar(bar, bar->widgetForAction(action)).isEmpty(), qPrintable(text));
        }
        int speed_seen = 0;
        for (int width = 900; width <= 2000; width += 100) {
            w.resize(width, 720);
            QTest::qWait(30);
            QVERIFY(rate->isVisible());
            const QFontMetrics fm(rate->font());
            QCOMPARE(rate->font().pointSize(), QApplication::font().pointSize());
            for (const QString& text : MainWindow::widestRateTexts())
                QVERIFY2(rate->contentsRect().width() >= fm.horizontalAdvance(text),
                         qPrintable(QStringLiteral("at %1 px: '%2' needs %3 px, the counter has %4")
                                        .arg(width)
                                        .arg(text)
                                        .arg(fm.horizontalAdvance(text))
                                        .arg(rate->contentsRect().width())));
            if (!speed->isVisible()) continue;  // in the overflow, whole there
            ++speed_seen;
            const auto [room, widest] = combo_text_room(speed);
            QVERIFY2(
                room >= widest,
                qPrintable(QStringLiteral("at %1 px the speed box has %2 px for %3").arg(width).arg(room).arg(widest)));
        }
        QVERIFY(speed_seen > 0);
        w.setClassroom(false);  // Preset and Layer first again
        w.resize(900, 600);
        for (const char* name : {"preset_box", "layer_box"}) {
            auto* widget = bar->findChild<QWidget*>(QLatin1String(name));
            QVERIFY2(widget, name);
            QTRY_VERIFY2(hidden_on_toolbar(bar, widget).isEmpty(), qPrintable(hidden_on_toolbar(bar, widget)));
        }
    }
};

QTEST_MAIN(TestSmallWindow)
#include "test_small_window.moc"
