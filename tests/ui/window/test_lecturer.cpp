// The window as a lecturer uses it (issue 18 §5): the keys keep working while
// a knob's box has focus and Esc leaves the box, the Run menu has play, step
// and reset, presets list lessons in order, "1 step" not "1 steps", no speed
// is shown while paused, and the warnings panel is one line while empty.
#include <QAction>
#include <QComboBox>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QMenuBar>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTableWidget>
#include <QtTest>

#include "panels/knob_editor.hpp"
#include "panels/knob_panel.hpp"
#include "panels/lesson_panel.hpp"
#include "panels/warnings_panel.hpp"
#include "run/training_worker.hpp"
#include "test_presets.hpp"
#include "theme.hpp"
#include "window/editor_keys.hpp"
#include "window/help_dialogs.hpp"
#include "window/lesson_pacer.hpp"
#include "window/main_window.hpp"

using namespace moescope;

namespace {
constexpr int kTimeoutMs = 60000;

QMenu* menu_named(QMainWindow& w, const QString& title) {
    for (QAction* a : w.menuBar()->actions())
        if (a->menu() && a->text().remove(QLatin1Char('&')) == title) return a->menu();
    return nullptr;
}

QAction* action_starting(QMenu* m, const QString& text) {
    for (QAction* a : m->actions())
        if (a->text().remove(QLatin1Char('&')).startsWith(text)) return a;
    return nullptr;
}

QDoubleSpinBox* real_box(MainWindow& w, const QString& knob) {
    for (auto* e : w.knobPanel()->findChildren<KnobEditor*>())
        if (e->name() == knob) return e->realSpin();
    return nullptr;
}

Warning fake_warning() {
    Warning w;
    w.id = "collapse";
    w.layer = 0;
    w.first_step = 10;
    w.severity = Severity::Warning;
    w.message = "load collapsed onto 2 of 8 experts";
    return w;
}
}  // namespace

class TestLecturer : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("moescope-test"));
    }

    void space_and_s_work_while_a_number_box_has_focus() {
        MainWindow w(test_presets::small("default"));
        w.show();
        QVERIFY(QTest::qWaitForWindowActive(&w) || true);
        w.setPlaying(false);
        QDoubleSpinBox* box = real_box(w, QStringLiteral("lr"));
        QVERIFY(box);
        box->setFocus();
        QTRY_VERIFY(box->hasFocus());
        const QString before = box->text();
        const long steps = w.stepsDone();
        QTest::keyClick(box, Qt::Key_S);
        QTRY_COMPARE_WITH_TIMEOUT(w.stepsDone(), steps + 1, kTimeoutMs);
        QTest::keyClick(box, Qt::Key_Space);
        QTRY_VERIFY_WITH_TIMEOUT(w.stepsDone() > steps + 3, kTimeoutMs);  // Space started playing
        QCOMPARE(box->text(), before);                                    // and was not typed into the box
        QTest::keyClick(box, Qt::Key_Space);
        QTest::keyClick(box, Qt::Key_Escape);
        QVERIFY(!box->hasFocus());
        QVERIFY(EditorKeys::isNumericEditor(box));
        w.setPlaying(false);
    }

    void run_menu_has_play_step_and_reset() {
        MainWindow w(test_presets::small("default"));
        w.setPlaying(false);
        QMenu* run = menu_named(w, QStringLiteral("Run"));
        QVERIFY(run);
        QAction* play = action_starting(run, QStringLiteral("Play"));
        QAction* step = action_starting(run, QStringLiteral("Step"));
        QAction* reset = action_starting(run, QStringLiteral("Reset"));
        QVERIFY(play && step && reset);
        QVERIFY(play->text().endsWith(QStringLiteral("\tSpace")));
        const long steps = w.stepsDone();
        step->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(w.stepsDone(), steps + 1, kTimeoutMs);
        QCOMPARE(w.rateText(), QStringLiteral("paused"));  // one step's time is not a speed
        play->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(w.stepsDone() > steps + 3, kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(w.rateText().endsWith(QStringLiteral("tok/s")), kTimeoutMs);
        play->trigger();
        QCOMPARE(w.rateText(), QStringLiteral("paused"));
        reset->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(w.stepsDone() < 3, kTimeoutMs);
    }

    void presets_list_lessons_in_order_and_one_step_is_singular() {
        MainWindow w(test_presets::small("default"));
        w.setPlaying(false);
        QComboBox* presets = nullptr;
        QSpinBox* load_window = nullptr;
        for (auto* c : w.findChildren<QComboBox*>())
            if (c->findText(QStringLiteral("lesson1_baseline")) >= 0) presets = c;
        for (auto* s : w.findChildren<QSpinBox*>())
            if (s->toolTip().startsWith(QStringLiteral("Expert-load bars"))) load_window = s;
        QVERIFY(presets && load_window);
        QVERIFY(presets->findText(QStringLiteral("lesson2_collapse")) <
                presets->findText(QStringLiteral("lesson10_regions")));
        QCOMPARE(load_window->suffix(), load_window->value() == 1 ? QStringLiteral(" step") : QStringLiteral(" steps"));
        load_window->setValue(5);
        QCOMPARE(load_window->suffix(), QStringLiteral(" steps"));
        load_window->setValue(1);
        QCOMPARE(load_window->suffix(), QStringLiteral(" step"));
    }

    // A --classroom session does not leave the next plain launch full screen with the lesson dock open.
    void classroom_mode_is_not_saved_as_the_layout() {
        QByteArray before;
        {
            MainWindow w(test_presets::small("default"));
            w.setPlaying(false);
            w.resize(1200, 800);
            w.show();
            QVERIFY(QTest::qWaitForWindowExposed(&w));
            before = w.saveGeometry();
            w.setClassroom(true);
            QVERIFY(w.close());
        }
        QCOMPARE(QSettings().value(theme::kSettingsGeometry).toByteArray(), before);
    }

    // The pacing arithmetic: pace·elapsed steps, the first at once, none owed twice.
    void pacing_counts_due_steps() {
        QCOMPARE(TrainingWorker::stepsDue(0, 5000, 3), -1L);  // unpaced
        QCOMPARE(TrainingWorker::stepsDue(10, 0, 0), 1L);
        QCOMPARE(TrainingWorker::stepsDue(10, 1000, 1), 10L);
        QCOMPARE(TrainingWorker::stepsDue(10, 1000, 11), 0L);
        QCOMPARE(TrainingWorker::stepsDue(2.5, 2000, 0), 6L);
        Config c;
        c.script = {{250, "noise_std", "4"}};
        c.lesson_steps = 850;
        QVERIFY(TrainingWorker::isStop(c, 250) && TrainingWorker::isStop(c, 850));
        QVERIFY(!TrainingWorker::isStop(c, 251) && !TrainingWorker::isStop(c, 0));
        QCOMPARE(LessonPacer::stopText(c, 250),
                 QStringLiteral("Step 250: next, the script sets noise_std to 4. Look at the plots now; Continue "
                                "applies it."));
        QVERIFY(LessonPacer::stopText(c, 850).startsWith(QStringLiteral("End of the lesson at step 850")));
    }

    // Script stops pause before the scripted change and at the lesson's end; Continue goes on.
    void script_stops_pause_and_continue_goes_on() {
        Config cfg = test_presets::small("default");
        cfg.name = "stops";
        cfg.script = {{5, "aux_weight", "0.05"}};
        cfg.lesson_steps = 8;
        MainWindow w(cfg);
        w.show();
        QTRY_VERIFY_WITH_TIMEOUT(w.pacer()->stopsAction()->isChecked(), kTimeoutMs);  // a lesson: stops on
        QVERIFY(w.pacer()->pace() >= 1.0);  // lecture: 8 steps in a minute, at least one a second
        w.pacer()->speedBox()->setCurrentIndex(w.pacer()->speedBox()->count() - 1);  // max speed
        QCOMPARE(w.pacer()->pace(), 0.0);
        w.setPlaying(true);
        QTRY_VERIFY_WITH_TIMEOUT(w.lessonPanel()->isStopShown(), kTimeoutMs);
        QTest::qWait(200);
        QCOMPARE(w.stepsDone(), 5L);  // stopped before the change comes due
        QVERIFY(w.lessonPanel()->stopText().contains(QStringLiteral("aux_weight to 0.05")));
        QCOMPARE(w.rateText(), QStringLiteral("paused"));
        QTest::mouseClick(w.lessonPanel()->continueButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(w.lessonPanel()->stopText().startsWith(QStringLiteral("End of the lesson")),
                                 kTimeoutMs);
        QTest::qWait(200);
        QCOMPARE(w.stepsDone(), 8L);
        QCOMPARE(w.currentConfig().aux_weight, 0.05);  // the scripted change was applied on Continue
        w.setPlaying(true);                            // Play after the end trains on
        QTRY_VERIFY_WITH_TIMEOUT(w.stepsDone() > 10, kTimeoutMs);
        QVERIFY(!w.lessonPanel()->isStopShown());
        w.setPlaying(false);
    }

    // A newcomer's way in (issue 23): Help → Getting started and Help → Lessons…, which
    // lists every lesson by number with its title, one line and length, and starts one.
    void help_menu_has_the_tour_and_a_lesson_browser() {
        MainWindow w(test_presets::small("default"));
        w.setPlaying(false);
        QMenu* help = menu_named(w, QStringLiteral("Help"));
        QVERIFY(help);
        QVERIFY(action_starting(help, QStringLiteral("Getting started")));
        QVERIFY(action_starting(help, QStringLiteral("Lessons")));
        QVERIFY(getting_started_text().contains(QStringLiteral("Lessons")));
        const auto lessons = lesson_entries();
        QVERIFY(lessons.size() >= 19);
        for (size_t i = 0; i < lessons.size(); ++i) {
            QCOMPARE(lessons[i].number, int(i) + 1);
            QVERIFY2(!lessons[i].title.isEmpty() && !lessons[i].title.startsWith(QStringLiteral("lesson")),
                     qPrintable(lessons[i].preset));
            QVERIFY2(!lessons[i].line.isEmpty(), qPrintable(lessons[i].preset));
        }
        QCOMPARE(lessons[1].preset, QStringLiteral("lesson2_collapse"));
        QVERIFY2(lessons[1].title.contains(QStringLiteral("Collapse")), qPrintable(lessons[1].title));
        LessonBrowser* browser = w.openLessonBrowser();
        QCOMPARE(browser->table()->rowCount(), int(lessons.size()));
        QCOMPARE(browser->table()->item(1, 3)->text(), QStringLiteral("600 steps, ~1 min"));
        browser->table()->selectRow(1);
        emit browser->table()->cellDoubleClicked(1, 1);
        QTRY_COMPARE_WITH_TIMEOUT(w.currentConfig().name, std::string("lesson2_collapse"), kTimeoutMs);
    }

    // Leaving classroom mode (Ctrl+L) restored a layout from before the lesson and hid its text.
    void leaving_classroom_mode_keeps_the_lesson_text() {
        MainWindow w(test_presets::small("default"));
        w.setPlaying(false);
        w.resize(1200, 800);
        w.show();
        w.setClassroom(true);
        w.selectPreset(QStringLiteral("lesson2_collapse"));
        QTRY_VERIFY_WITH_TIMEOUT(w.lessonPanel()->hasLesson(), kTimeoutMs);
        w.setClassroom(false);
        QVERIFY(w.lessonPanel()->isVisible());
        w.setPlaying(false);
    }

    // The tokens lesson says "look at the colours at step 0, then press Play": it opens paused there.
    void tokens_lesson_opens_paused_at_step_zero() {
        Config cfg = test_presets::small("lesson12_tokens");
        QVERIFY(MainWindow::opensPaused(cfg));
        QVERIFY(!MainWindow::opensPaused(test_presets::small("lesson2_collapse")));
        MainWindow w(test_presets::small("default"));
        w.show();
        w.setPlaying(true);
        w.startRun(cfg);
        QTRY_VERIFY_WITH_TIMEOUT(w.lessonPanel()->isStopShown(), kTimeoutMs);
        QVERIFY(w.lessonPanel()->stopText().startsWith(QStringLiteral("Step 0")));
        QTest::qWait(300);
        QCOMPARE(w.stepsDone(), 0L);
        QVERIFY(!w.session().isPlaying());
    }

    void empty_warnings_panel_is_one_line() {
        WarningsPanel panel;
        panel.resize(900, 300);
        panel.show();
        const int empty = panel.sizeHint().height();
        QVERIFY2(empty <= 2 * panel.fontMetrics().height() + 16, qPrintable(QString::number(empty)));
        QSignalSpy wanted(&panel, &WarningsPanel::wantedHeightChanged);
        panel.setWarnings({fake_warning()});
        QCOMPARE(wanted.count(), 1);
        QVERIFY(panel.sizeHint().height() > empty);
        panel.setWarnings({fake_warning()});  // same set: no resize request
        QCOMPARE(wanted.count(), 1);
        panel.setWarnings({});
        QCOMPARE(wanted.count(), 2);
        QCOMPARE(panel.sizeHint().height(), empty);
    }
};

QTEST_MAIN(TestLecturer)
#include "test_lecturer.moc"
