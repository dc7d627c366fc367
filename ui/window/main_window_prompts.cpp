// MainWindow, what it asks and tells: the question before a run with unsaved
// steps is thrown away, the save-as name (the step the file will hold), status
// messages that last as long as the state they describe, and errors from the
// command line shown in the window.
#include <QAbstractButton>
#include <QEventLoop>
#include <QFileDialog>
#include <QFileInfo>
#include <QGuiApplication>
#include <QMessageBox>
#include <QRegularExpression>
#include <QStatusBar>

#include "window/main_window.hpp"

namespace {
QString steps_text(long n) { return n == 1 ? QObject::tr("1 step") : QObject::tr("%1 steps").arg(n); }
}  // namespace

QString MainWindow::statusText() const { return statusBar()->currentMessage(); }

bool MainWindow::confirmDiscard(const QString& action) {
    if (!hasUnsavedSteps()) return true;
    const bool was_playing = play_action_->isChecked();
    setPlaying(false);  // the run waits for the answer: what is saved is what the question named
    session_->settle();
    const QString question = tr("The run is at step %1; %2 of it are in no snapshot.\n\nSave it before you %3?")
                                 .arg(stepsDone())
                                 .arg(steps_text(session_->unsavedSteps()), action) +
                             (isBranched() ? tr("\n\nSave keeps both runs: the branch goes beside the file, "
                                                "named …-branch.moesnap.")
                                           : QString());
    const int answer = askQuestion(question);
    bool go = answer == QMessageBox::Discard;
    if (answer == QMessageBox::Save) {
        const QString path = runFile().isEmpty() ? askSavePath() : runFile();
        go = !path.isEmpty() && saveAndWait(path);
    }
    if (was_playing) setPlaying(true);
    return go;
}

int MainWindow::askQuestion(const QString& question) {
    if (answers_.question) return answers_.question(question);
    if (QGuiApplication::platformName() == QLatin1String("offscreen")) return QMessageBox::Discard;  // nobody to ask
    QMessageBox box(QMessageBox::Question, tr("Unsaved run"), question,
                    QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, this);
    box.setDefaultButton(QMessageBox::Save);
    box.setEscapeButton(QMessageBox::Cancel);
    box.button(QMessageBox::Save)->setText(tr("&Save"));  // Alt+S, as Alt+D discards
    box.button(QMessageBox::Discard)->setText(tr("&Discard the steps"));
    return box.exec();
}

QString MainWindow::askSavePath() {
    // Paused and settled, the suggested name says the step the file will hold.
    setPlaying(false);
    session_->settle();
    const QString step_suffix = QStringLiteral("-step%1").arg(stepsDone());
    QString suggested;
    if (runFile().isEmpty()) {
        const QString stem = isReadOnly() ? QStringLiteral("watched") : QString::fromStdString(currentConfig().name);
        suggested = stem + step_suffix + QStringLiteral(".moesnap");
    } else {
        // A name that says a step ("collapse-step2966") gets today's; any other name is the user's own.
        const QFileInfo info(runFile());
        static const QRegularExpression step_tail(QStringLiteral("-step\\d+$"));
        QString base = info.completeBaseName();
        if (base.contains(step_tail)) base.replace(step_tail, step_suffix);
        suggested = info.dir().filePath(base + QStringLiteral(".moesnap"));
    }
    QString path = answers_.savePath
                       ? answers_.savePath(suggested)
                       : QFileDialog::getSaveFileName(
                             this,
                             isBranched() ? tr("Save snapshot: the main run here, the branch beside it (…-branch)")
                                          : tr("Save snapshot"),
                             suggested, tr("moescope snapshots (*.moesnap)"));
    if (!path.isEmpty() && QFileInfo(path).suffix().isEmpty()) path += QStringLiteral(".moesnap");
    return path;
}

bool MainWindow::saveAndWait(const QString& path) {
    QEventLoop loop;
    bool done = false, ok = false;
    const auto c = connect(this, &MainWindow::snapshotSaved, &loop, [&](const QString& saved, bool success) {
        if (saved != path) return;  // an autosave
        done = true;
        ok = success;
        loop.quit();
    });
    interactive_ = true;  // a failed save gets its dialog
    if (saveSnapshot(path) && !done) loop.exec();
    interactive_ = false;
    disconnect(c);
    return ok;
}

void MainWindow::askedReset() {
    if (confirmDiscard(tr("start a new run"))) resetRun();
}

void MainWindow::showStateMessage(const QString& message) {
    state_message_ = message;
    statusBar()->showMessage(message);
}

void MainWindow::clearStateMessage() {
    if (!state_message_.isEmpty() && statusBar()->currentMessage() == state_message_) statusBar()->clearMessage();
    state_message_.clear();
}

void MainWindow::showStartupError(const QString& message) {
    last_error_ = message;
    showStateMessage(tr("Could not open what the command line named: %1").arg(message));
    auto* box = new QMessageBox(QMessageBox::Critical, tr("moescope"),
                                tr("%1\n\nThe window opened with the usual preset instead.").arg(message),
                                QMessageBox::Ok, this);
    box->setObjectName(QStringLiteral("startup_error"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();  // not modal to the event loop: the window is usable behind it
}
