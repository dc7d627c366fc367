// MainWindow, the file side: menus, snapshots (save, load, recent files, drag
// and drop), comparison with a saved run, branch, metrics and report export,
// and watching a real job's router log.
// The slots stay free of dialogs so tests and scripts drive them; the *Dialog
// functions add the file choosers and error boxes.
#include <qcustomplot.h>
#include <QAction>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QStatusBar>

#include "io/history_export.hpp"
#include "io/report.hpp"
#include "io/snapshot_history.hpp"
#include "panels/knob_panel.hpp"
#include "plots/plot_export.hpp"
#include "plots/region_map.hpp"
#include "window/help_dialogs.hpp"
#include "window/main_window.hpp"
#include "window/recent_files.hpp"
#include "window/sweep_window.hpp"

using namespace moescope;

namespace {
const QString kSnapshotFilter = QObject::tr("moescope snapshots (*.moesnap)");
const QString kRouterLogFilter = QObject::tr("Router logs (*.jsonl *.json *.log)");

QString qs(const std::string& s) { return QString::fromStdString(s); }
}  // namespace

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Open snapshot…"), QKeySequence::Open, this, &MainWindow::openDialog);
    recent_ = new RecentFiles(file->addMenu(tr("Open &recent")), this);
    connect(recent_, &RecentFiles::openRequested, this, [this](const QString& path) {
        if (confirmDiscard(tr("open %1").arg(QFileInfo(path).fileName()))) interactively([&] { loadSnapshot(path); });
    });
    file->addAction(tr("&Save snapshot"), QKeySequence::Save, this,
                    [this] { runFile().isEmpty() ? saveAsDialog() : (void)saveSnapshot(runFile()); });
    file->addAction(tr("Save snapshot &as…"), QKeySequence(QStringLiteral("Ctrl+Shift+S")), this,
                    &MainWindow::saveAsDialog);
    file->addSeparator();
    QAction* watch = file->addAction(tr("&Watch a run…"), QKeySequence(QStringLiteral("Ctrl+Shift+W")), this,
                                     [this] { watchDialog(false); });
    watch->setObjectName(QStringLiteral("watch_file_action"));
    watch->setToolTip(tr("Follow a real training job's router log (moescope's or Megatron's), read-only"));
    QAction* watch_dir =
        file->addAction(tr("Watch a run's &directory (rank files)…"), this, [this] { watchDialog(true); });
    watch_dir->setObjectName(QStringLiteral("watch_directory_action"));
    watch_dir->setToolTip(tr("Follow a directory of per-rank logs (rank*.jsonl, or Megatron's tokens_per_expert/)"));
    file->addSeparator();
    file->addAction(tr("&Compare with snapshot…"), QKeySequence(QStringLiteral("Ctrl+Shift+O")), this,
                    &MainWindow::compareDialog);
    clear_compare_action_ = file->addAction(tr("C&lear comparison"), this, &MainWindow::clearComparison);
    clear_compare_action_->setEnabled(false);
    file->addSeparator();
    file->addAction(tr("Export &metrics (CSV / JSONL)…"), QKeySequence(QStringLiteral("Ctrl+E")), this,
                    &MainWindow::exportMetricsDialog);
    file->addAction(tr("Export re&port folder…"), this, &MainWindow::exportReportDialog);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu* run = run_menu_ = menuBar()->addMenu(tr("&Run"));  // play, step and reset join it in buildToolbar
    branch_action_ = run->addAction(style()->standardIcon(QStyle::SP_ArrowRight), tr("&Branch here"),
                                    QKeySequence(QStringLiteral("Ctrl+B")), this, &MainWindow::branchRun);
    branch_action_->setToolTip(
        tr("Fork the training into two runs from this exact state; change a knob in one and compare (Ctrl+B)"));
    keep_main_action_ = run->addAction(tr("End branch, keep the &main run"), this, [this] { endBranch(false); });
    keep_branch_action_ = run->addAction(tr("End branch, keep the b&ranch"), this, [this] { endBranch(true); });
    keep_main_action_->setEnabled(false);
    keep_branch_action_->setEnabled(false);
    run->addSeparator();
    run->addAction(tr("&Phase diagram (sweep two knobs)…"), this, &MainWindow::openSweepWindow)
        ->setToolTip(tr("Train a grid of two knobs × seeds on all cores and map where routing collapses"));

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&Getting started"), QKeySequence::HelpContents, this, [this] {
        QMessageBox box(QMessageBox::NoIcon, tr("Getting started"), getting_started_text(), QMessageBox::Close, this);
        box.setTextFormat(Qt::RichText);
        box.exec();
    });
    help->addAction(tr("&Lessons…"), this, &MainWindow::openLessonBrowser);
}

LessonBrowser* MainWindow::openLessonBrowser() {
    auto* browser = new LessonBrowser(this);
    browser->setAttribute(Qt::WA_DeleteOnClose);
    connect(browser, &LessonBrowser::lessonChosen, this, [this](const QString& preset) {
        if (confirmDiscard(tr("start %1").arg(preset))) selectPreset(preset);
    });
    browser->open();
    return browser;
}

SweepWindow* MainWindow::openSweepWindow() {
    if (!sweeps_) {
        sweeps_ = new SweepWindow(session_->pendingConfig(), this);
        connect(sweeps_, &SweepWindow::openRun, this, [this](const Config& cfg) {
            if (!confirmDiscard(tr("open the sweep's run"))) return;
            startRun(cfg);
            // The run opens here, not behind the sweep window (nor hidden, after `moescope --sweep`).
            show();
            raise();
            activateWindow();
        });
    } else {
        sweeps_->setBase(session_->pendingConfig());
    }
    sweeps_->show();
    sweeps_->raise();
    return sweeps_;
}

SweepWindow* MainWindow::openSweepFile(const QString& path) {
    SweepWindow* sweeps = openSweepWindow();
    if (sweeps->openSweep(path)) return sweeps;
    last_error_ = sweeps->status();
    return nullptr;
}

QStringList MainWindow::recentFiles() const { return recent_->files(); }

void MainWindow::setRunTitle(const QString& path) {
    setWindowTitle(path.isEmpty() ? QStringLiteral("moescope")
                                  : QStringLiteral("%1 — moescope").arg(QFileInfo(path).fileName()));
}

// ---- snapshots and comparison ------------------------------------------------------

bool MainWindow::saveSnapshot(const QString& path) {
    if (!isTrainingThreadRunning()) return false;
    if (isReadOnly() && path.isEmpty()) return false;  // no autosave of a watched run
    // While branched the branch is saved beside the file; the status bar names both.
    saved_branch_file_ = !path.isEmpty() && isBranched() ? RunSession::branchFilePath(path) : QString();
    session_->save(path);
    return true;
}

void MainWindow::onSnapshotSaved(const QString& path, bool ok, const QString& message, long step, bool autosave) {
    const QString where = QDir::toNativeSeparators(path);
    if (!ok) {
        last_error_ = message;
        if (autosave)
            statusBar()->showMessage(tr("Autosave failed: %1").arg(message), 10000);
        else
            showError(tr("Cannot save the snapshot"), message);
    } else if (autosave) {
        statusBar()->showMessage(tr("Autosaved step %1 to %2").arg(step).arg(where), 5000);
    } else if (path == saved_branch_file_) {
        statusBar()->showMessage(tr("Saved the main run to %1 and the branch “%2” (step %3) beside it, to %4")
                                     .arg(QDir::toNativeSeparators(runFile()), session_->branchName())
                                     .arg(step)
                                     .arg(where),
                                 10000);
        saved_branch_file_.clear();
    } else {
        recent_->add(path);
        statusBar()->showMessage(tr("Saved step %1 to %2").arg(step).arg(where), 8000);
    }
    emit snapshotSaved(path, ok, message);
}

bool MainWindow::loadSnapshot(const QString& path) {
    try {
        if (snapshot_kind(path.toStdString()) == kSnapshotKindHistory)
            session_->openHistory(path);  // a watched job's history: shown read-only
        else
            session_->load(path);
        return true;
    } catch (const std::exception& e) {
        last_error_ = QString::fromUtf8(e.what());
        showError(tr("Cannot open the snapshot"), last_error_);
        return false;
    }
}

bool MainWindow::compareWith(const QString& path) {
    try {
        session_->compareWith(path);
        return true;
    } catch (const std::exception& e) {
        last_error_ = QString::fromUtf8(e.what());
        showError(tr("Cannot compare with the snapshot"), last_error_);
        return false;
    }
}

void MainWindow::clearComparison() { session_->clearComparison(); }

bool MainWindow::watchRun(const QString& path, int ep) {
    if (!QFileInfo::exists(path)) {
        last_error_ = tr("nothing to watch at '%1': no such file or directory").arg(path);
        showError(tr("Cannot watch the run"), last_error_);
        return false;
    }
    session_->watch(path, ep);
    const QString where = QDir::toNativeSeparators(path);
    run_label_->setText(tr("watching %1 · waiting for the first step").arg(where));
    step_label_->setText(tr("step -"));
    rate_label_->clear();
    statusBar()->showMessage(tr("Watching %1: the plots fill as the job writes; File → Save snapshot keeps its "
                                "history")
                                 .arg(where),
                             10000);
    grid_->invalidate();
    return true;
}

void MainWindow::branchRun() {
    if (isBranched()) {
        statusBar()->showMessage(tr("Already branched: end the branch first (Run menu)"), 6000);
        return;
    }
    session_->branch();
}

// ---- export --------------------------------------------------------------------------

bool MainWindow::exportMetrics(const QString& path) {
    try {
        const long rows = export_history(session_->targetHistory(), path.toStdString());
        statusBar()->showMessage(tr("Wrote %1 steps to %2").arg(rows).arg(QDir::toNativeSeparators(path)), 8000);
        return true;
    } catch (const std::exception& e) {
        last_error_ = QString::fromUtf8(e.what());
        showError(tr("Cannot export the metrics"), last_error_);
        return false;
    }
}

bool MainWindow::exportReport(const QString& folder) {
    const bool branch = knobTarget() == TrainingWorker::Branch;
    std::vector<std::pair<QString, QCustomPlot*>> plots = grid_->namedPlots();
    if (regions_dock_->isVisible()) plots.emplace_back(QStringLiteral("expert_regions"), regionMap()->customPlot());
    ReportContent report{
        &session_->targetConfig(), &session_->targetHistory(), &session_->targetHistory().interventions(),
        branch ? " (branch)" : "", runFile().toStdString(),    {}};
    QStringList failed;
    try {
        prepare_report_folder(folder.toStdString());
        const QDir dir(folder);
        for (const auto& [name, plot] : plots) {
            for (const char* ext : {".png", ".pdf"}) {
                QString why;
                if (!exportPlot(plot, dir.filePath(name + QLatin1String(ext)), &why)) failed << why;
            }
            report.plots.push_back(name.toStdString());
        }
        write_report(folder.toStdString(), report);
    } catch (const std::exception& e) {
        failed << QString::fromUtf8(e.what());
    }
    if (!failed.isEmpty()) {
        // Each failure names its file and why (the writer's own words).
        last_error_ = failed.join(QStringLiteral("; "));
        showError(tr("Cannot export the report"), last_error_);
        return false;
    }
    statusBar()->showMessage(tr("Report written to %1").arg(QDir::toNativeSeparators(folder)), 8000);
    return true;
}

// ---- dialogs and drops -----------------------------------------------------------------

void MainWindow::showError(const QString& title, const QString& message) {
    statusBar()->showMessage(title + QStringLiteral(": ") + message, 15000);
    if (interactive_) QMessageBox::warning(this, title, message);
}

template <class F>
void MainWindow::interactively(F action) {
    interactive_ = true;
    action();
    interactive_ = false;
}

void MainWindow::openDialog() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open snapshot"), QFileInfo(runFile()).absolutePath(),
                                                      kSnapshotFilter + QStringLiteral(";;") + tr("All files (*)"));
    if (!path.isEmpty() && confirmDiscard(tr("open %1").arg(QFileInfo(path).fileName())))
        interactively([&] { loadSnapshot(path); });
}

void MainWindow::saveAsDialog() {
    const bool was_playing = play_action_->isChecked();
    const QString path = askSavePath();  // paused while the dialog is open
    if (!path.isEmpty()) {
        interactive_ = true;  // the state arrives later; errors then still get their dialog
        connect(
            this, &MainWindow::snapshotSaved, this, [this] { interactive_ = false; }, Qt::SingleShotConnection);
        saveSnapshot(path);  // asked for before training goes on: the file holds the step in its name
    }
    if (was_playing) setPlaying(true);
}

void MainWindow::compareDialog() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Compare with a saved run"),
                                                      QFileInfo(runFile()).absolutePath(), kSnapshotFilter);
    if (!path.isEmpty()) interactively([&] { compareWith(path); });
}

void MainWindow::watchDialog(bool directory) {
    const QString start = QFileInfo(runFile()).absolutePath();
    const QString path =
        directory ? QFileDialog::getExistingDirectory(this, tr("Watch a run's directory of rank files"), start)
                  : QFileDialog::getOpenFileName(this, tr("Watch a run's router log"), start,
                                                 kRouterLogFilter + QStringLiteral(";;") + tr("All files (*)"));
    if (!path.isEmpty() && confirmDiscard(tr("watch %1").arg(QFileInfo(path).fileName())))
        interactively([&] { watchRun(path); });
}

void MainWindow::exportMetricsDialog() {
    QString selected;
    QString path = QFileDialog::getSaveFileName(
        this, tr("Export metrics"), qs(currentConfig().name) + QStringLiteral("-metrics.csv"),
        tr("CSV, one row per step and layer (*.csv);;JSON Lines, one object per step (*.jsonl)"), &selected);
    if (path.isEmpty()) return;
    if (QFileInfo(path).suffix().isEmpty()) path += selected.contains(QStringLiteral("jsonl")) ? ".jsonl" : ".csv";
    interactively([&] { exportMetrics(path); });
}

void MainWindow::exportReportDialog() {
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Folder for the report"));
    if (folder.isEmpty()) return;
    const QString name = qs(currentConfig().name) + QStringLiteral("-step%1").arg(stepsDone());
    interactively([&] { exportReport(QDir(folder).filePath(name)); });
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    for (const QUrl& url : event->mimeData()->urls()) {
        const QString suffix = QFileInfo(url.toLocalFile()).suffix().toLower();
        if (suffix == QLatin1String("moesnap") || suffix == QLatin1String("json") || suffix == QLatin1String("jsonl")) {
            event->acceptProposedAction();
            return;
        }
    }
}

void MainWindow::dropEvent(QDropEvent* event) {
    const QList<QUrl> urls = event->mimeData()->urls();
    if (urls.isEmpty()) return;
    const QString path = urls.first().toLocalFile();
    event->acceptProposedAction();
    if (!confirmDiscard(tr("open %1").arg(QFileInfo(path).fileName()))) return;
    interactively([&] {
        if (QFileInfo(path).suffix().toLower() == QLatin1String("jsonl")) {
            watchRun(path);  // a router log
            return;
        }
        if (QFileInfo(path).suffix().toLower() != QLatin1String("json")) {
            loadSnapshot(path);
            return;
        }
        try {
            const Config cfg = load_config_file(path.toStdString());
            knobs_->setConfig(cfg);
            startRun(cfg);
        } catch (const std::exception& e) {
            showError(tr("Cannot start the config"), QString::fromUtf8(e.what()));
        }
    });
}
