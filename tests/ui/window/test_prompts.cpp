// What the window asks and tells (issue 18 §5): switching preset, Reset and
// closing ask Save / Discard / Cancel while the run has unsaved steps (answered
// here by the test hook) and do what the answer says; the save-as name is the
// step the file holds; opening a snapshot keeps the training clock; status
// messages end with the state they describe; Reset keeps every edit the panel
// shows; a command-line error shows in the window.
#include <QAction>
#include <QComboBox>
#include <QMenuBar>
#include <QMessageBox>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QToolBar>
#include <QtTest>

#include "io/snapshot.hpp"
#include "panels/knob_editor.hpp"
#include "panels/knob_panel.hpp"
#include "test_presets.hpp"
#include "window/main_window.hpp"

using namespace moescope;

namespace {
constexpr int kTimeoutMs = 60000;

void train_to(MainWindow& w, long steps) {
    w.setPlaying(true);
    QTRY_VERIFY_WITH_TIMEOUT(w.stepsDone() >= steps, kTimeoutMs);
    w.setPlaying(false);
    w.session().settle();
}

QComboBox* preset_box(MainWindow& w) {
    for (auto* box : w.findChildren<QComboBox*>())
        if (box->findText(QStringLiteral("collapse")) >= 0) return box;
    return nullptr;
}

QAction* action_named(QWidget& w, const QString& start) {
    for (QAction* a : w.findChildren<QAction*>())
        if (a->text().remove(QLatin1Char('&')).startsWith(start)) return a;
    return nullptr;
}

long step_in_name(const QString& path) {
    const auto m = QRegularExpression(QStringLiteral("-step(\\d+)\\.moesnap$")).match(path);
    return m.hasMatch() ? m.captured(1).toLong() : -1;
}

// Answers every question with `answer`, counting them; save-as goes to `dir` under the suggested name.
struct Answers {
    int answer = QMessageBox::Cancel;
    QStringList questions, suggested;
    MainWindow::DialogAnswers hook(const QString& dir) {
        return {[this](const QString& q) {
                    questions << q;
                    return answer;
                },
                [this, dir](const QString& s) {
                    suggested << s;
                    return dir + QLatin1Char('/') + QFileInfo(s).fileName();
                }};
    }
};
}  // namespace

class TestPrompts : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("moescope-test"));
        QVERIFY(tmp_.isValid());
    }

    void switching_preset_asks_save_discard_or_cancel() {
        MainWindow w(test_presets::tiny());
        Answers a;
        w.setDialogAnswers(a.hook(tmp_.path()));
        QComboBox* presets = preset_box(w);
        QVERIFY(presets);
        emit presets->textActivated(QStringLiteral("default"));  // a fresh run: nothing to lose, nothing asked
        QCOMPARE(a.questions.size(), 0);
        train_to(w, 12);
        const long steps = w.stepsDone();

        emit presets->textActivated(QStringLiteral("collapse"));  // Cancel: the run stays
        QCOMPARE(a.questions.size(), 1);
        QVERIFY2(a.questions[0].contains(QStringLiteral("step %1").arg(steps)), qPrintable(a.questions[0]));
        QVERIFY(a.questions[0].contains(QStringLiteral("switch to preset collapse")));
        QCOMPARE(w.stepsDone(), steps);
        QCOMPARE(w.currentConfig().name, std::string("default"));
        QCOMPARE(presets->currentText(), QStringLiteral("default"));

        a.answer = QMessageBox::Save;  // saved first, then switched
        emit presets->textActivated(QStringLiteral("collapse"));
        QCOMPARE(a.questions.size(), 2);
        QCOMPARE(a.suggested.size(), 1);
        const QString saved = tmp_.filePath(QFileInfo(a.suggested[0]).fileName());
        QCOMPARE(step_in_name(saved), steps);
        QCOMPARE(load_snapshot(saved.toStdString()).state.steps, steps);
        QTRY_COMPARE_WITH_TIMEOUT(w.currentConfig().name, std::string("collapse"), kTimeoutMs);

        train_to(w, 3);
        a.answer = QMessageBox::Discard;
        emit presets->textActivated(QStringLiteral("default"));
        QCOMPARE(a.questions.size(), 3);
        QTRY_COMPARE_WITH_TIMEOUT(w.currentConfig().name, std::string("default"), kTimeoutMs);
    }

    void reset_and_close_ask_too() {
        MainWindow w(test_presets::tiny());
        Answers a;
        w.setDialogAnswers(a.hook(tmp_.path()));
        w.show();
        train_to(w, 8);
        const long steps = w.stepsDone();
        QAction* reset = action_named(w, QStringLiteral("Reset"));
        QVERIFY(reset);
        reset->trigger();
        QCOMPARE(a.questions.size(), 1);
        QVERIFY(a.questions[0].contains(QStringLiteral("start a new run")));
        QCOMPARE(w.stepsDone(), steps);
        QVERIFY(!w.close());  // Cancel keeps the window
        QVERIFY(w.isVisible());
        QVERIFY(a.questions[1].contains(QStringLiteral("quit")));
        a.answer = QMessageBox::Discard;
        reset->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(w.stepsDone() < steps, kTimeoutMs);
        QVERIFY(w.close());  // nothing unsaved since the reset: no question
        QCOMPARE(a.questions.size(), 3);
    }

    // The run trains on while the save dialog would be open: the dialog pauses it, so the name is the file's step.
    void save_as_names_the_file_at_its_step() {
        MainWindow w(test_presets::tiny());
        Answers a;
        w.setDialogAnswers(a.hook(tmp_.path()));
        w.setPlaying(true);
        QTRY_VERIFY_WITH_TIMEOUT(w.stepsDone() >= 20, kTimeoutMs);
        QSignalSpy saved(&w, &MainWindow::snapshotSaved);
        QAction* save_as = action_named(w, QStringLiteral("Save snapshot as"));
        QVERIFY(save_as);
        save_as->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(saved.count(), 1, kTimeoutMs);
        const QString path = saved.at(0).at(0).toString();
        QVERIFY2(saved.at(0).at(1).toBool(), qPrintable(saved.at(0).at(2).toString()));
        QVERIFY(step_in_name(path) >= 20);
        QCOMPARE(load_snapshot(path.toStdString()).state.steps, step_in_name(path));
        const long at = w.stepsDone();
        QTRY_VERIFY_WITH_TIMEOUT(w.stepsDone() > at, kTimeoutMs);  // playing again after the dialog
        // Saving again suggests today's step, not the one in the last file's name.
        w.setPlaying(false);
        save_as->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(saved.count(), 2, kTimeoutMs);
        QCOMPARE(step_in_name(a.suggested.value(1)), w.stepsDone());
        QVERIFY(!w.hasUnsavedSteps());
    }

    void opening_a_snapshot_keeps_the_training_clock() {
        MainWindow w(test_presets::tiny());
        double clock = 0;
        connect(&w.session(), &RunSession::frameApplied, &w, [&](const MetricsFrame& f) { clock = f.elapsed_s; });
        train_to(w, 60);
        const QString path = tmp_.filePath(QStringLiteral("clock.moesnap"));
        QSignalSpy saved(&w, &MainWindow::snapshotSaved);
        QVERIFY(w.saveSnapshot(path));
        QTRY_COMPARE_WITH_TIMEOUT(saved.count(), 1, kTimeoutMs);
        const double saved_clock = load_snapshot(path.toStdString()).state.elapsed_s;
        QVERIFY(saved_clock > 0);
        QCOMPARE(saved_clock, clock);

        MainWindow b(test_presets::tiny());
        double opened_clock = -1;
        connect(&b.session(), &RunSession::frameApplied, &b,
                [&](const MetricsFrame& f) { opened_clock = f.elapsed_s; });
        QSignalSpy loaded(&b, &MainWindow::snapshotLoaded);
        QVERIFY(b.loadSnapshot(path));
        QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kTimeoutMs);
        const long at = b.stepsDone();
        b.stepOnce();
        QTRY_COMPARE_WITH_TIMEOUT(b.stepsDone(), at + 1, kTimeoutMs);
        QVERIFY2(opened_clock > saved_clock, qPrintable(QString::number(opened_clock)));
    }

    void status_messages_end_with_their_state() {
        MainWindow w(test_presets::tiny());
        train_to(w, 5);
        const QString path = tmp_.filePath(QStringLiteral("status.moesnap"));
        QSignalSpy saved(&w, &MainWindow::snapshotSaved);
        QVERIFY(w.saveSnapshot(path));
        QTRY_COMPARE_WITH_TIMEOUT(saved.count(), 1, kTimeoutMs);
        QSignalSpy loaded(&w, &MainWindow::snapshotLoaded);
        QVERIFY(w.loadSnapshot(path));
        QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kTimeoutMs);
        QVERIFY2(w.statusText().contains(QStringLiteral("paused")), qPrintable(w.statusText()));
        w.setPlaying(true);  // no longer paused
        QCOMPARE(w.statusText(), QString());
        w.setPlaying(false);
        QVERIFY(w.loadSnapshot(path));
        QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 2, kTimeoutMs);
        QVERIFY(w.statusText().contains(QStringLiteral("Opened")));
        w.resetRun();  // a fresh run is not the opened one
        QTRY_COMPARE_WITH_TIMEOUT(w.statusText(), QString(), kTimeoutMs);
    }

    // One rule: Reset starts the knobs as the panel shows them, a live edit as much as a structural one.
    void reset_keeps_every_edit_the_panel_shows() {
        MainWindow w(test_presets::tiny());
        train_to(w, 3);
        w.applyKnob(QStringLiteral("lr"), QStringLiteral("0.0042"), QStringLiteral("user"));
        w.stepOnce();  // applied between two steps
        QTRY_COMPARE_WITH_TIMEOUT(w.currentConfig().lr, 0.0042, kTimeoutMs);
        w.knobPanel()->editor(QStringLiteral("experts"))->editValue(QStringLiteral("6"));
        QCOMPARE(w.currentConfig().experts, 4);  // structural: waits for the new run
        w.resetRun();
        QTRY_COMPARE_WITH_TIMEOUT(w.history().experts(), 6, kTimeoutMs);
        QCOMPARE(w.currentConfig().lr, 0.0042);
        QCOMPARE(w.currentConfig().experts, 6);
        QCOMPARE(w.knobPanel()->config().lr, 0.0042);
    }

    void command_line_error_shows_in_the_window() {
        MainWindow w(test_presets::tiny());
        w.show();
        const QString error = QStringLiteral("missing.moesnap: cannot open: No such file or directory");
        w.showStartupError(error);
        QVERIFY(w.statusText().contains(error));
        auto* box = w.findChild<QMessageBox*>(QStringLiteral("startup_error"));
        QVERIFY(box);
        QTRY_VERIFY(box->isVisible());
        QVERIFY(box->text().contains(error));
        QCOMPARE(w.lastError(), error);
    }

private:
    QTemporaryDir tmp_;
};

QTEST_MAIN(TestPrompts)
#include "test_prompts.moc"
