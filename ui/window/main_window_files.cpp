// MainWindow, the file side: snapshots (save, autosave, load, recent files,
// drag and drop), comparison with a saved run, branch and compare, metrics and
// report export. The slots stay free of dialogs so tests and scripts drive them;
// the *Dialog functions add the file choosers and error boxes.
#include <qcustomplot.h>
#include <QAction>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTextStream>

#include "io/history_export.hpp"
#include "io/snapshot.hpp"
#include "panels/knob_panel.hpp"
#include "panels/warnings_panel.hpp"
#include "plots/load_heatmap.hpp"
#include "plots/load_histogram.hpp"
#include "plots/plot_export.hpp"
#include "plots/region_map.hpp"
#include "plots/specialisation_map.hpp"
#include "plots/time_plot.hpp"
#include "train/knobs.hpp"
#include "window/main_window.hpp"

using namespace moescope;

namespace {
const QString kSettingsRecent = QStringLiteral("files/recent");
constexpr int kMaxRecent = 8;
const QString kSnapshotFilter = QObject::tr("moescope snapshots (*.moesnap)");

QString qs(const std::string& s) { return QString::fromStdString(s); }
}  // namespace

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Open snapshot…"), QKeySequence::Open, this, &MainWindow::openDialog);
    recent_menu_ = file->addMenu(tr("Open &recent"));
    rebuildRecentMenu();
    file->addAction(tr("&Save snapshot"), QKeySequence::Save, this,
                    [this] { run_file_.isEmpty() ? saveAsDialog() : (void)saveSnapshot(run_file_); });
    file->addAction(tr("Save snapshot &as…"), QKeySequence(QStringLiteral("Ctrl+Shift+S")), this,
                    &MainWindow::saveAsDialog);
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

    QMenu* run = menuBar()->addMenu(tr("&Run"));
    branch_action_ = run->addAction(style()->standardIcon(QStyle::SP_ArrowRight), tr("&Branch here"),
                                    QKeySequence(QStringLiteral("Ctrl+B")), this, &MainWindow::branchRun);
    branch_action_->setToolTip(
        tr("Fork the training into two runs from this exact state; change a knob in one "
           "and compare (Ctrl+B)"));
    keep_main_action_ = run->addAction(tr("End branch, keep the &main run"), this, [this] { endBranch(false); });
    keep_branch_action_ = run->addAction(tr("End branch, keep the b&ranch"), this, [this] { endBranch(true); });
    keep_main_action_->setEnabled(false);
    keep_branch_action_->setEnabled(false);
}

// ---- snapshots ----------------------------------------------------------------

bool MainWindow::saveSnapshot(const QString& path) {
    if (!isTrainingThreadRunning()) return false;
    const int run = knobTarget();
    QMetaObject::invokeMethod(worker_, [w = worker_, run, path] { w->exportState(run, path); });
    return true;
}

QString MainWindow::autosavePath() const {
    QFileInfo info(run_file_);
    QString dir, stem;
    if (!run_file_.isEmpty()) {
        dir = info.absolutePath();
        stem = info.completeBaseName();
        if (stem.endsWith(QStringLiteral(".autosave"))) stem.chop(9);
    } else {
        dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/autosave");
        stem = qs(config_.name);
    }
    return dir + QLatin1Char('/') + stem + QStringLiteral(".autosave.moesnap");
}

void MainWindow::onStateReady(TrainerStatePtr state, const QString& requested, int run) {
    const bool autosave = requested.isEmpty();
    const QString path = autosave ? autosavePath() : requested;
    const MetricsHistory* history =
        run == TrainingWorker::Branch && branch_history_ ? branch_history_.get() : &history_;
    try {
        if (autosave) QDir().mkpath(QFileInfo(path).absolutePath());
        save_snapshot(path.toStdString(), *state, history);
    } catch (const std::exception& e) {
        const QString msg = QString::fromUtf8(e.what());
        last_error_ = msg;
        if (autosave)
            statusBar()->showMessage(tr("Autosave failed: %1").arg(msg), 10000);
        else
            showError(tr("Cannot save the snapshot"), msg);
        emit snapshotSaved(path, false, msg);
        return;
    }
    const QString where = QDir::toNativeSeparators(path);
    if (autosave) {
        statusBar()->showMessage(tr("Autosaved step %1 to %2").arg(state->steps).arg(where), 5000);
    } else {
        if (run == TrainingWorker::Main) setRunFile(path);
        addRecent(path);
        statusBar()->showMessage(tr("Saved step %1 to %2").arg(state->steps).arg(where), 8000);
    }
    emit snapshotSaved(path, true, QString());
}

bool MainWindow::loadSnapshot(const QString& path) {
    std::shared_ptr<TrainerState> state;
    try {
        Snapshot snap = load_snapshot(path.toStdString());
        state = std::make_shared<TrainerState>(std::move(snap.state));
        pending_load_ = std::make_unique<MetricsHistory>(std::move(snap.history));
    } catch (const std::exception& e) {
        last_error_ = QString::fromUtf8(e.what());
        showError(tr("Cannot open the snapshot"), last_error_);
        return false;
    }
    pending_load_path_ = path;
    // The training thread builds the trainer; until it says so, the current run is untouched.
    QMetaObject::invokeMethod(worker_, [w = worker_, st = TrainerStatePtr(state)] { w->resumeFrom(st); });
    return true;
}

void MainWindow::onRunResumed(const Config& cfg, int layers, int experts, const QString& summary, long step) {
    dropBranch();
    if (pending_load_)
        history_ = std::move(*pending_load_);
    else
        history_.reset(layers, experts);
    pending_load_.reset();
    setPlaying(false);
    steps_done_ = step;
    step_label_->setText(tr("step %1").arg(step));
    adoptRun(cfg, layers, experts, summary);
    setRunFile(pending_load_path_);
    addRecent(pending_load_path_);
    statusBar()->showMessage(tr("Opened %1 at step %2, paused: press Play (Space) to continue training")
                                 .arg(QFileInfo(pending_load_path_).fileName())
                                 .arg(step));
    emit snapshotLoaded(pending_load_path_);
}

void MainWindow::setRunFile(const QString& path) {
    run_file_ = path;
    setWindowTitle(path.isEmpty() ? QStringLiteral("moescope")
                                  : QStringLiteral("%1 — moescope").arg(QFileInfo(path).fileName()));
}

QStringList MainWindow::recentFiles() const { return QSettings().value(kSettingsRecent).toStringList(); }

void MainWindow::addRecent(const QString& path) {
    QStringList list = recentFiles();
    const QString abs = QFileInfo(path).absoluteFilePath();
    list.removeAll(abs);
    list.prepend(abs);
    while (list.size() > kMaxRecent) list.removeLast();
    QSettings().setValue(kSettingsRecent, list);
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu() {
    recent_menu_->clear();
    const QStringList list = recentFiles();
    for (int i = 0; i < list.size(); ++i) {
        const QString path = list[i];
        QAction* a = recent_menu_->addAction(QStringLiteral("&%1 %2").arg(i + 1).arg(QFileInfo(path).fileName()), this,
                                             [this, path] {
                                                 interactive_ = true;
                                                 loadSnapshot(path);
                                                 interactive_ = false;
                                             });
        a->setToolTip(path);
        a->setEnabled(QFileInfo::exists(path));
    }
    recent_menu_->setEnabled(!list.isEmpty());
}

// ---- comparison ---------------------------------------------------------------

bool MainWindow::compareWith(const QString& path) {
    try {
        Snapshot snap = load_snapshot(path.toStdString());
        ghost_ = std::make_unique<MetricsHistory>(std::move(snap.history));
        ghost_name_ = tr("%1 (step %2)").arg(QFileInfo(path).completeBaseName()).arg(snap.state.steps);
    } catch (const std::exception& e) {
        last_error_ = QString::fromUtf8(e.what());
        showError(tr("Cannot compare with the snapshot"), last_error_);
        return false;
    }
    clear_compare_action_->setEnabled(true);
    updateOverlays();
    return true;
}

void MainWindow::clearComparison() {
    ghost_.reset();
    clear_compare_action_->setEnabled(false);
    updateOverlays();
}

// ---- branch and compare --------------------------------------------------------

void MainWindow::branchRun() {
    if (isBranched()) {
        statusBar()->showMessage(tr("Already branched: end the branch first (Run menu)"), 6000);
        return;
    }
    QMetaObject::invokeMethod(worker_, &TrainingWorker::branch);
}

void MainWindow::onBranched(long step, const Config& cfg) {
    // Frames before this one belong to the main run only, so the copy holds exactly the shared past.
    branch_history_ = std::make_unique<MetricsHistory>(history_.clone());
    branch_config_ = cfg;
    branch_step_ = step;
    target_box_action_->setVisible(true);
    branch_action_->setEnabled(false);
    keep_main_action_->setEnabled(true);
    keep_branch_action_->setEnabled(true);
    setKnobTarget(TrainingWorker::Branch);
    updateOverlays();
    statusBar()->showMessage(tr("Branched at step %1: the knobs now change the branch (dash-dot curves); "
                                "both runs train in lockstep")
                                 .arg(step),
                             10000);
    emit branchChanged(true);
}

void MainWindow::endBranch(bool keepBranch) {
    if (!isBranched()) return;
    QMetaObject::invokeMethod(worker_, [w = worker_, keepBranch] { w->unbranch(keepBranch); });
}

void MainWindow::onUnbranched(bool keptBranch) {
    if (keptBranch && branch_history_) {
        history_ = std::move(*branch_history_);
        config_ = branch_config_;
        pending_config_ = branch_config_;
    }
    dropBranch();
    knobs_->setConfig(config_);
    attachHistories();
    statusBar()->showMessage(keptBranch ? tr("The branch is now the main run") : tr("Branch dropped"), 6000);
}

void MainWindow::dropBranch() {
    if (!branch_history_) return;
    branch_history_.reset();
    branch_step_ = -1;
    target_box_action_->setVisible(false);
    branch_action_->setEnabled(true);
    keep_main_action_->setEnabled(false);
    keep_branch_action_->setEnabled(false);
    {
        const QSignalBlocker block(target_box_);
        target_box_->setCurrentIndex(TrainingWorker::Main);
    }
    attachHistories();
    emit branchChanged(false);
}

int MainWindow::knobTarget() const {
    return isBranched() && target_box_->currentIndex() == TrainingWorker::Branch ? TrainingWorker::Branch
                                                                                 : TrainingWorker::Main;
}

void MainWindow::setKnobTarget(int run) {
    if (!isBranched()) run = TrainingWorker::Main;
    if (target_box_->currentIndex() != run) {
        const QSignalBlocker block(target_box_);
        target_box_->setCurrentIndex(run);
    }
    knobs_->setConfig(run == TrainingWorker::Branch ? branch_config_ : config_);
    worker_->setRegionsWanted(regions_dock_->isVisible(), run);
    attachHistories();
}

MetricsHistory& MainWindow::targetHistory() {
    return knobTarget() == TrainingWorker::Branch ? *branch_history_ : history_;
}

QString MainWindow::branchName() const {
    // Named by what was changed in it since the fork: "branch: aux_weight → 0.1".
    QStringList changes;
    if (branch_history_)
        for (const Intervention& iv : branch_history_->interventions())
            if (iv.step >= branch_step_) changes << qs(iv.knob) + QString::fromUtf8(" \u2192 ") + qs(iv.new_value);
    while (changes.size() > 2) changes.removeFirst();
    return changes.isEmpty() ? tr("branch (no change yet)") : tr("branch: %1").arg(changes.join(QStringLiteral(", ")));
}

void MainWindow::attachHistories() {
    MetricsHistory* single = &targetHistory();
    histogram_->setHistory(single);
    heatmap_->setHistory(single);
    specialisation_->setHistory(single);
    for (TimePlot* p : time_plots_) p->setHistory(&history_);
    updateOverlays();
    plotted_version_ = 0;
}

void MainWindow::updateOverlays() {
    std::vector<PlotOverlay> overlays;
    if (branch_history_)
        overlays.push_back({branchName(), tr("branch"), branch_history_.get(), Qt::DashDotLine, double(branch_step_)});
    if (ghost_) overlays.push_back({tr("saved: %1").arg(ghost_name_), tr("saved"), ghost_.get(), Qt::DashLine, -1});
    for (TimePlot* p : time_plots_) p->setOverlays(overlays);
}

// ---- export --------------------------------------------------------------------

bool MainWindow::exportMetrics(const QString& path) {
    try {
        const long rows = export_history(targetHistory(), path.toStdString());
        statusBar()->showMessage(tr("Wrote %1 steps to %2").arg(rows).arg(QDir::toNativeSeparators(path)), 8000);
        return true;
    } catch (const std::exception& e) {
        last_error_ = QString::fromUtf8(e.what());
        showError(tr("Cannot export the metrics"), last_error_);
        return false;
    }
}

bool MainWindow::exportReport(const QString& folder) {
    QDir dir(folder);
    if (!dir.mkpath(QStringLiteral("."))) {
        last_error_ = tr("cannot create the folder '%1'").arg(folder);
        showError(tr("Cannot export the report"), last_error_);
        return false;
    }
    const bool branch = knobTarget() == TrainingWorker::Branch;
    const Config& cfg = branch ? branch_config_ : config_;
    const MetricsHistory& h = branch ? *branch_history_ : history_;
    const std::pair<QString, QCustomPlot*> plots[] = {
        {QStringLiteral("expert_load"), histogram_->customPlot()},
        {QStringLiteral("load_heatmap"), heatmap_->customPlot()},
        {QStringLiteral("entropy"), time_plots_[0]->customPlot()},
        {QStringLiteral("loss_accuracy"), time_plots_[1]->customPlot()},
        {QStringLiteral("balance"), time_plots_[2]->customPlot()},
        {QStringLiteral("specialisation"), specialisation_->customPlot()},
        {QStringLiteral("expert_regions"), regions_dock_->isVisible() ? regions_->customPlot() : nullptr},
    };
    QStringList failed;
    try {
        for (const auto& [name, plot] : plots)
            for (const char* ext : {".png", ".pdf"})
                if (plot && !exportPlot(plot, dir.filePath(name + QLatin1String(ext))))
                    failed << name + QLatin1String(ext);
        save_config_file(cfg, dir.filePath(QStringLiteral("config.json")).toStdString());
        export_history(h, dir.filePath(QStringLiteral("metrics.csv")).toStdString());
    } catch (const std::exception& e) {
        failed << QString::fromUtf8(e.what());
    }

    // report.md: what the run is, what happened to it, and the pictures.
    QFile md(dir.filePath(QStringLiteral("report.md")));
    if (md.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text)) {
        QTextStream out(&md);
        const StepMetrics& m = h.latest();
        out << "# moescope report: " << qs(cfg.name) << (branch ? " (branch)" : "") << "\n\n";
        out << "Written " << QDateTime::currentDateTime().toString(Qt::ISODate) << " at step " << h.last_step()
            << (run_file_.isEmpty() ? QString() : QStringLiteral(", run file `%1`").arg(run_file_)) << ".\n\n";
        out << "Model: " << cfg.layers << " MoE layers, " << cfg.experts << " experts, top-" << cfg.top_k << ", policy "
            << qs(cfg.policy) << ", d_model " << cfg.d_model << ", d_ff " << cfg.d_ff << ". Config: `config.json`; "
            << "every step's metrics: `metrics.csv`.\n\n";
        if (!m.layers.empty()) {
            out << "| layer | load entropy | router entropy | max util | dead experts | dropped "
                   "|\n|---|---|---|---|---|---|\n";
            for (size_t l = 0; l < m.layers.size(); ++l) {
                const LayerMetrics& L = m.layers[l];
                out << "| " << l << " | " << QString::number(L.load_entropy, 'f', 3) << " | "
                    << QString::number(L.router_entropy, 'f', 3) << " | " << QString::number(L.max_util, 'f', 2)
                    << " | " << L.dead_experts << " | " << QString::number(L.dropped, 'f', 3) << " |\n";
            }
            out << "\nLoss " << QString::number(m.loss, 'g', 4) << ", train accuracy "
                << QString::number(m.train_acc, 'f', 3) << ".\n\n";
        }
        out << "## Knob changes\n\n";
        if (h.interventions().empty()) out << "None.\n";
        for (const Intervention& iv : h.interventions())
            out << "- step " << iv.step << ": " << qs(iv.knob) << " " << qs(iv.old_value) << " → " << qs(iv.new_value)
                << " (" << qs(iv.source) << ")\n";
        out << "\n## Plots\n\n";
        for (const auto& [name, plot] : plots)
            if (plot) out << "![" << name << "](" << name << ".png)\n\n";
    } else {
        failed << QStringLiteral("report.md");
    }
    if (!failed.isEmpty()) {
        last_error_ = tr("could not write %1 in '%2'").arg(failed.join(QStringLiteral(", ")), folder);
        showError(tr("Cannot export the report"), last_error_);
        return false;
    }
    statusBar()->showMessage(tr("Report written to %1").arg(QDir::toNativeSeparators(folder)), 8000);
    return true;
}

// ---- dialogs and drops -----------------------------------------------------------

void MainWindow::showError(const QString& title, const QString& message) {
    statusBar()->showMessage(title + QStringLiteral(": ") + message, 15000);
    if (interactive_) QMessageBox::warning(this, title, message);
}

void MainWindow::openDialog() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open snapshot"), QFileInfo(run_file_).absolutePath(),
                                                      kSnapshotFilter + QStringLiteral(";;") + tr("All files (*)"));
    if (path.isEmpty()) return;
    interactive_ = true;
    loadSnapshot(path);
    interactive_ = false;
}

void MainWindow::saveAsDialog() {
    const QString suggested =
        run_file_.isEmpty() ? qs(config_.name) + QStringLiteral("-step%1.moesnap").arg(steps_done_) : run_file_;
    QString path = QFileDialog::getSaveFileName(this, tr("Save snapshot"), suggested, kSnapshotFilter);
    if (path.isEmpty()) return;
    if (QFileInfo(path).suffix().isEmpty()) path += QStringLiteral(".moesnap");
    interactive_ = true;  // stateReady arrives later; errors then still get their dialog
    connect(
        this, &MainWindow::snapshotSaved, this, [this] { interactive_ = false; }, Qt::SingleShotConnection);
    saveSnapshot(path);
}

void MainWindow::compareDialog() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Compare with a saved run"),
                                                      QFileInfo(run_file_).absolutePath(), kSnapshotFilter);
    if (path.isEmpty()) return;
    interactive_ = true;
    compareWith(path);
    interactive_ = false;
}

void MainWindow::exportMetricsDialog() {
    QString selected;
    QString path = QFileDialog::getSaveFileName(
        this, tr("Export metrics"), qs(config_.name) + QStringLiteral("-metrics.csv"),
        tr("CSV, one row per step and layer (*.csv);;JSON Lines, one object per step (*.jsonl)"), &selected);
    if (path.isEmpty()) return;
    if (QFileInfo(path).suffix().isEmpty()) path += selected.contains(QStringLiteral("jsonl")) ? ".jsonl" : ".csv";
    interactive_ = true;
    exportMetrics(path);
    interactive_ = false;
}

void MainWindow::exportReportDialog() {
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Folder for the report"));
    if (folder.isEmpty()) return;
    interactive_ = true;
    exportReport(QDir(folder).filePath(qs(config_.name) + QStringLiteral("-step%1").arg(steps_done_)));
    interactive_ = false;
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    for (const QUrl& url : event->mimeData()->urls()) {
        const QString suffix = QFileInfo(url.toLocalFile()).suffix().toLower();
        if (suffix == QLatin1String("moesnap") || suffix == QLatin1String("json")) {
            event->acceptProposedAction();
            return;
        }
    }
}

void MainWindow::dropEvent(QDropEvent* event) {
    const QList<QUrl> urls = event->mimeData()->urls();
    if (urls.isEmpty()) return;
    const QString path = urls.first().toLocalFile();
    interactive_ = true;
    if (QFileInfo(path).suffix().toLower() == QLatin1String("json")) {
        try {
            const Config cfg = load_config_file(path.toStdString());
            knobs_->setConfig(cfg);
            startRun(cfg);
        } catch (const std::exception& e) {
            showError(tr("Cannot start the config"), QString::fromUtf8(e.what()));
        }
    } else {
        loadSnapshot(path);
    }
    interactive_ = false;
    event->acceptProposedAction();
}
