#include "window/main_window.hpp"

#include <qcustomplot.h>
#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QFileInfo>
#include <QGuiApplication>
#include <QScreen>
#include <QSettings>
#include <QStackedWidget>
#include <QStatusBar>
#include <QToolBar>
#include <algorithm>
#include <map>
#include <utility>

#include "panels/job_info_panel.hpp"
#include "panels/knob_panel.hpp"
#include "panels/lesson_panel.hpp"
#include "panels/warnings_panel.hpp"
#include "plots/load_heatmap.hpp"
#include "plots/load_histogram.hpp"
#include "plots/plot_style.hpp"
#include "plots/region_map.hpp"
#include "theme.hpp"
#include "train/knobs.hpp"
#include "window/lesson_pacer.hpp"
#include "window/recent_files.hpp"
#include "window/screen_fit.hpp"

using namespace moescope;

namespace {
QString fmt_elapsed(double s) {
    const int total = int(s);
    return QStringLiteral("%1:%2").arg(total / 60).arg(total % 60, 2, 10, QLatin1Char('0'));
}
}  // namespace

// Resources live in the static moescope_ui library; Q_INIT_RESOURCE must be called
// from the global namespace.
static void init_resources() { Q_INIT_RESOURCE(moescope); }

MainWindow::MainWindow(const Config& initial, QWidget* parent) : QMainWindow(parent) {
    init_resources();
    setWindowTitle(QStringLiteral("moescope"));
    setWindowIcon(QIcon(QStringLiteral(":/moescope.svg")));
    setDockOptions(QMainWindow::AnimatedDocks | QMainWindow::AllowTabbedDocks);
    setAcceptDrops(true);  // drop a .moesnap to open it, a .json config to start it

    session_ = new RunSession(initial, this);
    grid_ = new PlotGrid;
    setCentralWidget(grid_);
    buildMenus();
    buildToolbar();
    buildDocks();
    buildShortcuts();
    buildPacer();
    connectSession();

    QSettings settings;
    restored_geometry_ = restoreGeometry(settings.value(theme::kSettingsGeometry).toByteArray());
    restoreState(settings.value(theme::kSettingsState).toByteArray());
    smoothing_->setValue(settings.value(theme::kSettingsSmoothing, 0).toInt());

    grid_->follow(&session_->history());
    knobs_->setConfig(initial);
    startRun(initial);
}

MainWindow::~MainWindow() { session_->stop(); }

// The tokens lesson asks to look at the colours at step 0 before anything trains.
bool MainWindow::opensPaused(const Config& cfg) { return cfg.lesson_steps > 0 && cfg.dataset == "text"; }

void MainWindow::placeOnScreen(QSize preferred, QRect available) {
    if (!restored_geometry_) resize(preferred);
    QScreen* on = screen() ? screen() : QGuiApplication::primaryScreen();
    if (available.isEmpty() && on) available = on->availableGeometry();
    if (available.isEmpty()) return;
    // The frame's margins (title bar, borders) come on top of the client area: fit the whole window.
    // (zero before the window manager has framed it).
    const QRect outer = frameGeometry(), inner = geometry();
    const QMargins frame(inner.left() - outer.left(), inner.top() - outer.top(), outer.right() - inner.right(),
                         outer.bottom() - inner.bottom());
    const QRect fitted = fit_on_screen(outer, available);
    resize(fitted.size().shrunkBy(frame));
    move(fitted.topLeft());  // move() places the frame's corner
    // A laptop's 900×600 gave the knobs 44 % of the width: the plots come first.
    if (width() < 1100) resizeDocks({side_dock_}, {std::max(300, width() * 3 / 10)}, Qt::Horizontal);
}

void MainWindow::connectSession() {
    RunSession* s = session_;
    connect(s, &RunSession::runAdopted, this, &MainWindow::onRunAdopted);
    connect(s, &RunSession::frameApplied, this, &MainWindow::onFrame);
    connect(s, &RunSession::viewsChanged, this, &MainWindow::updateViews);
    connect(s, &RunSession::failed, this, [this](const QString& msg) {
        setPlaying(false);
        showStateMessage(tr("Cannot start the run: ") + msg);
    });
    connect(s, &RunSession::knobRejected, this, [this](const QString& msg) { statusBar()->showMessage(msg, 8000); });
    connect(s, &RunSession::loadFailed, this, [this](const QString& msg) {
        showError(tr("Cannot continue the saved run"), msg);
        emit loadFailed(msg);
    });
    connect(s, &RunSession::resumed, this, [this](const QString& path, long step) {
        setPlaying(false);
        step_label_->setText(tr("step %1").arg(step));
        recent_->add(path);
        showStateMessage(tr("Opened %1 at step %2, paused: press Play (Space) to continue training")
                             .arg(QFileInfo(path).fileName())
                             .arg(step));
        emit snapshotLoaded(path);
    });
    connect(s, &RunSession::snapshotSaved, this, &MainWindow::onSnapshotSaved);
    connect(s, &RunSession::runFileChanged, this, &MainWindow::setRunTitle);
    connect(s, &RunSession::sourceChanged, this, &MainWindow::onSourceChanged);
    connect(s, &RunSession::watchStarted, this, &MainWindow::onWatchStarted);
    connect(s, &RunSession::historyOpened, this, &MainWindow::onHistoryOpened);
    connect(s, &RunSession::jobChanged, this, [this](const JobInfo& job) {
        const bool live = session_->source() == RunSession::Source::Watching;
        job_info_->setJob(job, live);
        if (job.last_step >= 0) step_label_->setText(tr("step %1").arg(job.last_step));
        if (live && job.records > 0) rate_label_->setText(recordsPerSecondText(job.records_per_s));
    });
    connect(s, &RunSession::watchProblem, this, [this](const QString& msg) { job_info_->setProblem(msg); });
    connect(s, &RunSession::watchFailed, this, [this](const QString& msg) {
        showError(tr("Cannot watch the run"), msg);
        emit watchFailed(msg);
    });
    connect(s, &RunSession::branchChanged, this, &MainWindow::onBranchChanged);
    connect(s, &RunSession::branchFailed, this,
            [this](const QString& msg) { showError(tr("Cannot branch the run"), msg); });
    connect(s, &RunSession::branched, this, [this](long step) {
        statusBar()->showMessage(session_->isControlBranch()
                                     ? tr("Step %1: the lesson forked its control run (dash-dot curves, %2)")
                                           .arg(step)
                                           .arg(session_->branchName())
                                     : tr("Branched at step %1: the knobs now change the branch (dash-dot curves); "
                                          "both runs train in lockstep")
                                           .arg(step),
                                 10000);
    });
    connect(s, &RunSession::unbranched, this, [this](bool kept) {
        statusBar()->showMessage(kept ? tr("The branch is now the main run") : tr("Branch dropped"), 6000);
    });
}

void MainWindow::buildDocks() {
    knobs_ = new KnobPanel;
    job_info_ = new JobInfoPanel;
    side_ = new QStackedWidget;
    side_->addWidget(knobs_);
    side_->addWidget(job_info_);
    side_dock_ = new QDockWidget(tr("Knobs"), this);
    side_dock_->setObjectName(QStringLiteral("knobs_dock"));
    side_dock_->setWidget(side_);
    addDockWidget(Qt::LeftDockWidgetArea, side_dock_);
    // Never narrower than name, slider and value need, whatever layout was saved.
    knobs_->setMinimumWidth(300);
    connect(knobs_, &KnobPanel::liveKnobChanged, this,
            [this](const QString& n, const QString& v) { applyKnob(n, v, QStringLiteral("user")); });
    connect(knobs_, &KnobPanel::structuralKnobChanged, this, &MainWindow::onStructuralKnob);

    warnings_ = new WarningsPanel;
    auto* warn_dock = new QDockWidget(tr("Warnings"), this);
    warn_dock->setObjectName(QStringLiteral("warnings_dock"));
    warn_dock->setWidget(warnings_);
    addDockWidget(Qt::BottomDockWidgetArea, warn_dock);
    // The dock is one line tall while routing is healthy and grows when warnings arrive.
    connect(warnings_, &WarningsPanel::wantedHeightChanged, this, [this, warn_dock](int height) {
        const int title = warn_dock->height() - warnings_->height();
        resizeDocks({warn_dock}, {height + std::max(0, title)}, Qt::Vertical);
    });
    // A click on a warning shows its layer in the per-layer plots.
    connect(warnings_, &WarningsPanel::layerClicked, this, [this](int layer) {
        if (layer < 0 || layer >= layer_box_->count()) return;
        layer_picked_ = true;
        layer_box_->setCurrentIndex(layer);
    });
    connect(warnings_, &WarningsPanel::countChanged, warn_dock,
            [warn_dock](int n) { warn_dock->setWindowTitle(n > 0 ? tr("Warnings (%1)").arg(n) : tr("Warnings")); });
    connect(warnings_, &WarningsPanel::remedyRequested, this, [this](const QString& knob, double value) {
        applyKnob(knob, QString::number(value, 'g', 12), QStringLiteral("remedy"));
    });

    lesson_ = new LessonPanel;
    lesson_dock_ = new QDockWidget(tr("Lesson"), this);
    lesson_dock_->setObjectName(QStringLiteral("lesson_dock"));
    lesson_dock_->setWidget(lesson_);
    addDockWidget(Qt::RightDockWidgetArea, lesson_dock_);
    lesson_dock_->hide();

    // Expert regions: shown by itself when a run's dataset is 2-D; grids are computed only while visible.
    RegionMap* regions = grid_->plots().regions;
    regions->setMinimumSize(320, 300);
    regions_dock_ = new QDockWidget(tr("Expert regions"), this);
    regions_dock_->setObjectName(QStringLiteral("regions_dock"));
    regions_dock_->setWidget(regions);
    regions->show();
    addDockWidget(Qt::RightDockWidgetArea, regions_dock_);
    regions_dock_->hide();
    connect(regions_dock_, &QDockWidget::visibilityChanged, session_, &RunSession::setRegionsWanted);
    buildTokenDock();
    buildSampleDock();
}

void MainWindow::startRun(const Config& cfg) {
    // The next launch opens the last preset however it was chosen: the Preset box, a lesson,
    // `--preset`, a sweep's cell. A run of the user's own config leaves the choice as it was.
    const auto presets = preset_names();
    if (std::find(presets.begin(), presets.end(), cfg.name) != presets.end())
        QSettings().setValue(theme::kSettingsPreset, QString::fromStdString(cfg.name));
    run_label_->setText(tr("starting %1…").arg(QString::fromStdString(cfg.name)));
    // Paused before the worker starts, so not even one step is taken; the banner follows adoption.
    held_at_start_ = opensPaused(cfg) ? QString::fromStdString(cfg.name) : QString();
    if (!held_at_start_.isEmpty()) setPlaying(false);
    session_->start(cfg);
    // A new run starts at step 0: a zoom or drag into the last run's steps no longer applies.
    grid_->resetViews();
    grid_->invalidate();
}

void MainWindow::setPlaying(bool playing) {
    if (playing && isReadOnly()) {
        statusBar()->showMessage(tr("A watched run is read-only: it trains elsewhere. Choose a preset or Reset "
                                    "(Ctrl+R) to train here."),
                                 6000);
        playing = false;
    }
    // Its toggled signal calls back here: asking the worker twice could restart a run that
    // paused itself at a script stop in between.
    if (play_action_->isChecked() != playing) return play_action_->setChecked(playing);
    play_action_->setIcon(style()->standardIcon(playing ? QStyle::SP_MediaPause : QStyle::SP_MediaPlay));
    play_action_->setText(playing ? tr("Pause") : tr("Play"));
    session_->setPlaying(playing);
    if (!playing && rate_label_) rate_label_->setText(tr("paused"));
    if (playing && lesson_) lesson_->clearStop();
    if (playing) clearStateMessage();  // "paused", "opened … paused", "halted" no longer hold
}

void MainWindow::resetRun() { startRun(session_->pendingConfig()); }

void MainWindow::selectPreset(const QString& name) {
    try {
        const Config cfg = load_preset(name.toStdString());
        knobs_->setConfig(cfg);
        startRun(cfg);
    } catch (const std::exception& e) {
        setPlaying(false);
        showStateMessage(tr("Cannot start the run: ") + QString::fromStdString(e.what()));
    }
}

void MainWindow::onStructuralKnob(const QString& name, const QString& value) {
    try {
        session_->editStructural(name, value);
        statusBar()->showMessage(
            tr("%1 = %2 changes the model: press Reset (Ctrl+R) to start a new run with it").arg(name, value), 10000);
    } catch (const std::exception& e) {
        statusBar()->showMessage(QString::fromStdString(e.what()), 8000);
    }
}

void MainWindow::showLayers(int layers) {
    {
        const QSignalBlocker block(layer_box_);
        layer_box_->clear();
        for (int l = 0; l < layers; ++l) layer_box_->addItem(QStringLiteral("L%1").arg(l));
        layer_box_->setCurrentIndex(layers - 1);
    }
    grid_->setLayer(layers - 1);
    layer_picked_ = false;
}

// The layer with the most active warnings (critical ones first; the first raised on a tie),
// or -1 when no warning names a layer.
static int worst_layer(const std::vector<Warning>& active) {
    std::map<int, std::pair<int, int>> score;  // layer → (critical count, count)
    for (const Warning& w : active)
        if (w.layer >= 0) {
            auto& [critical, count] = score[w.layer];
            critical += w.severity == Severity::Critical;
            ++count;
        }
    int best = -1;
    std::pair<int, int> best_score{-1, -1};
    for (const Warning& w : active)
        if (w.layer >= 0 && score[w.layer] > best_score) best = w.layer, best_score = score[w.layer];
    return best;
}

void MainWindow::showWorstLayer(const std::vector<Warning>& active) {
    if (layer_picked_) return;  // the user's choice stands
    const int layer = worst_layer(active);
    if (layer >= 0 && layer < layer_box_->count() && layer != layer_box_->currentIndex())
        layer_box_->setCurrentIndex(layer);
}

void MainWindow::onRunAdopted(const Config& cfg, int layers, int experts, const QString& summary) {
    clearStateMessage();  // it described the run that has just been replaced
    showLayers(layers);
    {
        const QSignalBlocker block(preset_box_);
        preset_box_->setCurrentText(QString::fromStdString(cfg.name));
    }
    // A lesson brings its guided text along; other presets keep the dock as the user left it.
    if (lesson_->showLesson(QString::fromStdString(cfg.name)) && !lesson_dock_->isVisible()) {
        lesson_dock_->show();
        // Wide enough that the title is a line or two, not five (a new dock opens at its minimum).
        resizeDocks({lesson_dock_}, {std::max(340, width() / 4)}, Qt::Horizontal);
    }
    pacer_->onRunAdopted(cfg);
    adoptLanguageModel(cfg);
    // (The run adopted may still be the one before: its news can arrive after startRun.)
    if (!held_at_start_.isEmpty() && held_at_start_ == QString::fromStdString(cfg.name)) {
        held_at_start_.clear();
        if (!play_action_->isChecked())
            lesson_->showStop(
                tr("Step 0: nothing is trained yet. Look at the colours now; Continue (or Space) "
                   "starts the lesson."));
    }
    run_label_->setText(QStringLiteral("%1 · E=%2 k=%3 · %4 · %5")
                            .arg(QString::fromStdString(cfg.name))
                            .arg(experts)
                            .arg(cfg.top_k)
                            .arg(QString::fromStdString(cfg.policy), summary));
}

// Which history each plot shows, the overlays, and the knobs of the target run.
void MainWindow::updateViews() {
    const RunSession& s = *session_;
    knobs_->setConfig(s.targetConfig());
    // Remedies follow the knobs of the run they act on; a watched job's name its own flags.
    warnings_->setKnobs(s.isReadOnly() ? std::nullopt : std::optional<moescope::Config>(s.targetConfig()));
    grid_->setHistories(&s.targetHistory(), &s.history());
    // While branched the per-expert plots follow the knobs' target: their titles say which run.
    const QString shown = !s.isBranched()                        ? QString()
                          : s.target() == TrainingWorker::Branch ? tr("branch")
                                                                 : tr("main run");
    grid_->plots().load->setRunName(shown);
    grid_->plots().heatmap->setRunName(shown);
    std::vector<PlotOverlay> overlays;
    if (s.isBranched())
        overlays.push_back({s.branchName(), tr("branch"), s.branchHistory(), Qt::DashDotLine, double(s.branchStep())});
    if (s.isControlBranch())  // a legend entry only: the solid curves are the lesson's
        overlays.push_back({s.mainName(), QString(), nullptr, Qt::SolidLine, -1});
    if (s.ghostHistory())
        overlays.push_back({tr("saved: %1").arg(s.ghostName()), tr("saved"), s.ghostHistory(), Qt::DashLine, -1});
    grid_->setOverlays(overlays);
    clear_compare_action_->setEnabled(s.ghostHistory() != nullptr);
    if (target_box_->currentIndex() != s.target()) {
        const QSignalBlocker block(target_box_);
        target_box_->setCurrentIndex(s.target());
    }
}

void MainWindow::onBranchChanged(bool branched) {
    target_box_action_->setVisible(branched);
    branch_action_->setEnabled(!branched && !isReadOnly());
    keep_main_action_->setEnabled(branched);
    keep_branch_action_->setEnabled(branched);
    emit branchChanged(branched);
}

void MainWindow::onFrame(const MetricsFrame& frame) {
    RegionMap* regions = grid_->plots().regions;
    if (frame.region_points) {
        regions->setPoints(frame.region_points->x, frame.region_points->y, frame.region_points->classes);
        regions_dock_->show();
    }
    if (frame.region) regions->setGrid(*frame.region);
    showTokens(frame);
    showSamples(frame);
    if (frame.region_unsupported && regions_dock_->isVisible()) {
        regions->clear();
        regions_dock_->hide();
    }
    warnings_->setWarnings(knobTarget() == TrainingWorker::Branch ? frame.branch_active : frame.active);
    if (isReadOnly()) {
        showWorstLayer(frame.active);  // a watched job opens on the layer in trouble
        updateHiddenPlots();           // its router losses once its log shows them
    }
    if (frame.halted && play_action_->isChecked()) setPlaying(false);
    updateStatus(frame);
}

void MainWindow::updateStatus(const MetricsFrame& frame) {
    // A watched job's step is the Job panel's "last step" (set with the job's news), so the two agree.
    if (!isReadOnly()) step_label_->setText(tr("step %1").arg(frame.steps_done));
    if (!isReadOnly()) {  // a watched job's rate is its records/s (job panel news)
        // A rate only means something while playing: one step's time after a pause is not a speed.
        if (!play_action_->isChecked())
            rate_label_->setText(tr("paused"));
        else if (!frame.steps.empty())
            rate_label_->setText(tokensPerSecondText(frame.tokens_per_s));
        elapsed_label_->setText(fmt_elapsed(frame.elapsed_s));
    }
    if (frame.halted) {
        showStateMessage(
            tr("Paused: non-finite loss or gradients; the last finite state is kept. Lower lr and press Play."));
        return;
    }
    QString critical;
    for (const auto& w : frame.active)
        if (w.severity == Severity::Critical && critical.isEmpty()) critical = QString::fromStdString(w.message);
    if (critical == critical_message_) return;
    if (!critical_message_.isEmpty() && state_message_ == critical_message_) clearStateMessage();  // it cleared
    critical_message_ = critical;
    if (!critical.isEmpty()) showStateMessage(critical);
}

// ---- watched and saved histories: read-only ----------------------------------------------

void MainWindow::onSourceChanged(RunSession::Source source) {
    const bool read_only = source != RunSession::Source::Training;
    clearStateMessage();
    if (read_only) setPlaying(false);
    play_action_->setEnabled(!read_only);
    step_action_->setEnabled(!read_only);
    branch_action_->setEnabled(!read_only && !isBranched());
    side_->setCurrentWidget(read_only ? static_cast<QWidget*>(job_info_) : knobs_);
    side_dock_->setWindowTitle(read_only ? tr("Job") : tr("Knobs"));
    if (read_only) side_dock_->show();
    updateHiddenPlots();
    // Preset, engine, speed and script stops act on a training run only: a watched job hides them.
    for (QAction* a : training_only_) a->setVisible(!read_only);
    elapsed_label_->setText(read_only ? tr("read-only") : fmt_elapsed(0));
    if (read_only) {
        lesson_dock_->hide();
        regions_dock_->hide();  // a watched job has no 2-D dataset
        tokens_dock_->hide();   // nor a text to colour
        samples_dock_->hide();  // nor a model to write
        warnings_->setWarnings({});
    }
}

void MainWindow::onWatchStarted(const QString& path, int layers, int experts, const QString& summary) {
    showLayers(layers);
    run_label_->setText(tr("watching %1 · E=%2 · %3").arg(QDir::toNativeSeparators(path)).arg(experts).arg(summary));
    grid_->invalidate();
}

void MainWindow::onHistoryOpened(const QString& path, long step) {
    showLayers(session_->history().layers());
    std::vector<Warning> active;
    for (const Warning& w : session_->jobWarnings())
        if (w.active) active.push_back(w);
    warnings_->setWarnings(active);
    showWorstLayer(active);
    updateHiddenPlots();
    step_label_->setText(tr("step %1").arg(step));
    rate_label_->clear();
    run_label_->setText(tr("saved history of %1 · E=%2 (read-only)")
                            .arg(QDir::toNativeSeparators(QString::fromStdString(session_->jobInfo().source)))
                            .arg(session_->history().experts()));
    recent_->add(path);
    showStateMessage(tr("Opened %1: a watched job's history up to step %2, read-only (it holds no weights to train on)")
                         .arg(QFileInfo(path).fileName())
                         .arg(step));
    grid_->invalidate();
    emit snapshotLoaded(path);
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (!confirmDiscard(tr("quit"))) {
        event->ignore();
        return;
    }
    QSettings settings;
    const bool classroom = !normal_geometry_.isEmpty();
    settings.setValue(theme::kSettingsGeometry, classroom ? normal_geometry_ : saveGeometry());
    settings.setValue(theme::kSettingsState, classroom ? normal_state_ : saveState());
    session_->stop();
    event->accept();
}
