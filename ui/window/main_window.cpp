#include "window/main_window.hpp"

#include <qcustomplot.h>
#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QGridLayout>
#include <QSettings>
#include <QShortcut>
#include <QSlider>
#include <QSpinBox>
#include <QStatusBar>
#include <QToolBar>
#include <algorithm>
#include <thread>

#include "panels/knob_panel.hpp"
#include "panels/lesson_panel.hpp"
#include "panels/warnings_panel.hpp"
#include "plots/load_heatmap.hpp"
#include "plots/load_histogram.hpp"
#include "plots/plot_style.hpp"
#include "plots/region_map.hpp"
#include "plots/specialisation_map.hpp"
#include "plots/time_plot.hpp"
#include "run/training_worker.hpp"
#include "theme.hpp"
#include "train/knobs.hpp"

using namespace moescope;

namespace {
constexpr int kReplotIntervalMs = 33;      // ≤ 30 Hz
constexpr int kMaxReplotIntervalMs = 250;  // ≥ 4 Hz however heavy the plots
constexpr double kFramesPerCostUnit = 10;  // interval = 10 × frame cost: plots use ≤ 10 % of a core
constexpr double kMaxSmoothing = 0.99;

QString fmt_elapsed(double s) {
    const int total = int(s);
    return QStringLiteral("%1:%2").arg(total / 60).arg(total % 60, 2, 10, QLatin1Char('0'));
}
}  // namespace

// Resources live in the static moescope_ui library; Q_INIT_RESOURCE must be called
// from the global namespace.
static void init_resources() { Q_INIT_RESOURCE(moescope); }

MainWindow::MainWindow(const Config& initial, QWidget* parent)
    : QMainWindow(parent), config_(initial), pending_config_(initial) {
    init_resources();
    setWindowTitle(QStringLiteral("moescope"));
    setWindowIcon(QIcon(QStringLiteral(":/moescope.svg")));
    setDockOptions(QMainWindow::AnimatedDocks | QMainWindow::AllowTabbedDocks);
    setAcceptDrops(true);  // drop a .moesnap to open it, a .json config to start it

    worker_ = new TrainingWorker;
    worker_->moveToThread(&thread_);
    connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
    connect(this, &MainWindow::runRequested, worker_, &TrainingWorker::startRun);
    connect(this, &MainWindow::knobRequested, worker_, &TrainingWorker::setKnob);
    connect(this, &MainWindow::stepRequested, worker_, &TrainingWorker::stepOnce);
    connect(worker_, &TrainingWorker::runStarted, this, &MainWindow::onRunStarted);
    connect(worker_, &TrainingWorker::frameReady, this, &MainWindow::onFrame);
    connect(worker_, &TrainingWorker::failed, this, &MainWindow::onFailed);
    connect(worker_, &TrainingWorker::knobRejected, this,
            [this](const QString&, const QString& msg) { statusBar()->showMessage(msg, 8000); });
    connect(worker_, &TrainingWorker::runResumed, this, &MainWindow::onRunResumed);
    connect(worker_, &TrainingWorker::resumeFailed, this, [this](const QString& msg) {
        pending_load_.reset();
        showError(tr("Cannot continue the saved run"), msg);
        emit loadFailed(msg);
    });
    connect(worker_, &TrainingWorker::stateReady, this, &MainWindow::onStateReady);
    connect(worker_, &TrainingWorker::branched, this, &MainWindow::onBranched);
    connect(worker_, &TrainingWorker::branchFailed, this,
            [this](const QString& msg) { showError(tr("Cannot branch the run"), msg); });
    connect(worker_, &TrainingWorker::unbranched, this, &MainWindow::onUnbranched);
    thread_.setObjectName(QStringLiteral("moescope-training"));
    thread_.start();

    buildMenus();
    buildToolbar();
    buildPlots();
    buildDocks();
    buildShortcuts();

    QSettings settings;
    restoreGeometry(settings.value(theme::kSettingsGeometry).toByteArray());
    restoreState(settings.value(theme::kSettingsState).toByteArray());
    smoothing_->setValue(settings.value(theme::kSettingsSmoothing, 0).toInt());

    replot_timer_.setInterval(kReplotIntervalMs);
    connect(&replot_timer_, &QTimer::timeout, this, &MainWindow::refreshPlots);
    replot_timer_.start();
    knobs_->setConfig(config_);
    startRun(config_);
}

MainWindow::~MainWindow() { stopWorker(); }

void MainWindow::buildToolbar() {
    QToolBar* bar = addToolBar(QStringLiteral("Run"));
    bar->setObjectName(QStringLiteral("run_toolbar"));
    bar->setMovable(false);
    play_action_ = bar->addAction(style()->standardIcon(QStyle::SP_MediaPlay), QStringLiteral("Play"));
    play_action_->setCheckable(true);
    play_action_->setToolTip(QStringLiteral("Play / pause training (Space)"));
    connect(play_action_, &QAction::toggled, this, &MainWindow::setPlaying);
    QAction* step = bar->addAction(style()->standardIcon(QStyle::SP_MediaSkipForward), QStringLiteral("Step"));
    step->setToolTip(QStringLiteral("One training step while paused (S)"));
    connect(step, &QAction::triggered, this, &MainWindow::stepOnce);
    QAction* reset = bar->addAction(style()->standardIcon(QStyle::SP_BrowserReload), QStringLiteral("Reset"));
    reset->setToolTip(QStringLiteral("Start a new run with the current settings (Ctrl+R)"));
    connect(reset, &QAction::triggered, this, &MainWindow::resetRun);
    QAction* save = bar->addAction(style()->standardIcon(QStyle::SP_DialogSaveButton), QStringLiteral("Save"));
    save->setToolTip(QStringLiteral("Save a snapshot of the run: weights, optimizer, history, warnings (Ctrl+S)"));
    connect(save, &QAction::triggered, this,
            [this] { run_file_.isEmpty() ? saveAsDialog() : (void)saveSnapshot(run_file_); });
    bar->addAction(branch_action_);
    target_box_ = new QComboBox;
    target_box_->addItems({QStringLiteral("knobs → main run"), QStringLiteral("knobs → branch")});
    target_box_->setToolTip(QStringLiteral("Which of the two runs the knobs change and the expert plots show"));
    connect(target_box_, &QComboBox::currentIndexChanged, this, &MainWindow::setKnobTarget);
    target_box_action_ = bar->addWidget(target_box_);
    target_box_action_->setVisible(false);
    classroom_action_ = bar->addAction(QStringLiteral("Classroom"));
    classroom_action_->setCheckable(true);
    classroom_action_->setToolTip(
        QStringLiteral("Large fonts, advanced knobs hidden, lesson text shown, full screen (Ctrl+L)"));
    connect(classroom_action_, &QAction::toggled, this, &MainWindow::setClassroom);
    bar->addSeparator();

    bar->addWidget(new QLabel(QStringLiteral(" Preset ")));
    preset_box_ = new QComboBox;
    for (const auto& name : preset_names()) preset_box_->addItem(QString::fromStdString(name));
    preset_box_->setCurrentText(QString::fromStdString(config_.name));
    preset_box_->setToolTip(QStringLiteral("Built-in presets; choosing one starts a new run"));
    connect(preset_box_, &QComboBox::textActivated, this, &MainWindow::selectPreset);
    bar->addWidget(preset_box_);

    bar->addWidget(new QLabel(QStringLiteral("  Layer ")));
    layer_box_ = new QComboBox;
    layer_box_->setToolTip(QStringLiteral("MoE layer shown by the per-layer plots"));
    connect(layer_box_, &QComboBox::currentIndexChanged, this, &MainWindow::setLayer);
    bar->addWidget(layer_box_);

    bar->addWidget(new QLabel(QStringLiteral("  Smoothing ")));
    smoothing_ = new QSlider(Qt::Horizontal);
    smoothing_->setRange(0, 99);
    smoothing_->setFixedWidth(110);
    smoothing_->setToolTip(QStringLiteral("Exponential moving average of the time plots (0 = raw)"));
    connect(smoothing_, &QSlider::valueChanged, this, [this](int v) {
        for (TimePlot* p : time_plots_) p->setSmoothing(std::min(kMaxSmoothing, v / 100.0));
        QSettings().setValue(theme::kSettingsSmoothing, v);
    });
    bar->addWidget(smoothing_);

    bar->addWidget(new QLabel(QStringLiteral("  Load window ")));
    auto* window = new QSpinBox;
    window->setRange(1, 1000);
    window->setSuffix(QStringLiteral(" steps"));
    window->setToolTip(QStringLiteral("Expert-load bars: this step (1) or the mean over the last N steps"));
    connect(window, &QSpinBox::valueChanged, this, [this](int n) {
        histogram_->setWindow(n);
        plotted_version_ = 0;
    });
    bar->addWidget(window);

    QWidget* spacer = new QWidget;
    spacer->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    bar->addWidget(spacer);
    step_label_ = new QLabel;
    rate_label_ = new QLabel;
    elapsed_label_ = new QLabel;
    backend_label_ = new QLabel(QStringLiteral("CPU · %1 threads").arg(std::thread::hardware_concurrency()));
    backend_label_->setToolTip(QStringLiteral("Training backend"));
    for (QLabel* l : {step_label_, rate_label_, elapsed_label_, backend_label_}) {
        l->setContentsMargins(10, 0, 10, 0);
        bar->addWidget(l);
    }
    QFont mono = step_label_->font();
    mono.setStyleHint(QFont::Monospace);
    mono.setFamily(QStringLiteral("monospace"));
    step_label_->setFont(mono);
    rate_label_->setFont(mono);
    elapsed_label_->setFont(mono);
    run_label_ = new QLabel;
    statusBar()->addPermanentWidget(run_label_);
}

void MainWindow::buildPlots() {
    histogram_ = new LoadHistogram;
    heatmap_ = new LoadHeatmap;
    specialisation_ = new SpecialisationMap;
    time_plots_ = {makeEntropyPlot(nullptr), makeLossPlot(nullptr), makeBalancePlot(nullptr)};
    auto* central = new QWidget;
    auto* grid = new QGridLayout(central);
    grid->setContentsMargins(4, 4, 4, 4);
    grid->setSpacing(4);
    grid->addWidget(histogram_, 0, 0);
    grid->addWidget(heatmap_, 0, 1);
    grid->addWidget(time_plots_[0], 1, 0);
    grid->addWidget(time_plots_[1], 1, 1);
    grid->addWidget(time_plots_[2], 2, 0);
    grid->addWidget(specialisation_, 2, 1);
    for (int r = 0; r < 3; ++r) grid->setRowStretch(r, 1);
    for (int c = 0; c < 2; ++c) grid->setColumnStretch(c, 1);
    setCentralWidget(central);
    histogram_->setHistory(&history_);
    heatmap_->setHistory(&history_);
    specialisation_->setHistory(&history_);
    for (TimePlot* p : time_plots_) p->setHistory(&history_);
}

void MainWindow::buildDocks() {
    knobs_ = new KnobPanel;
    auto* knob_dock = new QDockWidget(QStringLiteral("Knobs"), this);
    knob_dock->setObjectName(QStringLiteral("knobs_dock"));
    knob_dock->setWidget(knobs_);
    addDockWidget(Qt::LeftDockWidgetArea, knob_dock);
    // Never narrower than name, slider and value need, whatever layout was saved.
    knobs_->setMinimumWidth(340);
    connect(knobs_, &KnobPanel::liveKnobChanged, this,
            [this](const QString& n, const QString& v) { applyKnob(n, v, QStringLiteral("user")); });
    connect(knobs_, &KnobPanel::structuralKnobChanged, this, &MainWindow::onStructuralKnob);

    warnings_ = new WarningsPanel;
    auto* warn_dock = new QDockWidget(QStringLiteral("Warnings"), this);
    warn_dock->setObjectName(QStringLiteral("warnings_dock"));
    warn_dock->setWidget(warnings_);
    addDockWidget(Qt::BottomDockWidgetArea, warn_dock);
    lesson_ = new LessonPanel;
    lesson_dock_ = new QDockWidget(QStringLiteral("Lesson"), this);
    lesson_dock_->setObjectName(QStringLiteral("lesson_dock"));
    lesson_dock_->setWidget(lesson_);
    addDockWidget(Qt::RightDockWidgetArea, lesson_dock_);
    lesson_dock_->hide();

    // Expert regions: shown by itself when a run's dataset is 2-D; grids are computed only while visible.
    regions_ = new RegionMap;
    regions_->setMinimumSize(320, 300);
    regions_dock_ = new QDockWidget(QStringLiteral("Expert regions"), this);
    regions_dock_->setObjectName(QStringLiteral("regions_dock"));
    regions_dock_->setWidget(regions_);
    addDockWidget(Qt::RightDockWidgetArea, regions_dock_);
    regions_dock_->hide();
    connect(regions_dock_, &QDockWidget::visibilityChanged, this,
            [this](bool visible) { worker_->setRegionsWanted(visible, knobTarget()); });

    connect(warnings_, &WarningsPanel::remedyRequested, this, [this](const QString& knob, double value) {
        applyKnob(knob, QString::number(value, 'g', 12), QStringLiteral("remedy"));
    });
}

void MainWindow::buildShortcuts() {
    auto add = [this](const QKeySequence& key, auto fn) {
        auto* sc = new QShortcut(key, this);
        sc->setContext(Qt::ApplicationShortcut);
        connect(sc, &QShortcut::activated, this, fn);
    };
    add(QKeySequence(Qt::Key_Space), [this] { play_action_->toggle(); });
    add(QKeySequence(Qt::Key_S), [this] { stepOnce(); });
    add(QKeySequence(QStringLiteral("Ctrl+R")), [this] { resetRun(); });
    add(QKeySequence(QStringLiteral("Ctrl+L")), [this] { classroom_action_->toggle(); });
    add(QKeySequence(Qt::Key_F11), [this] { isFullScreen() ? showNormal() : showFullScreen(); });
}

void MainWindow::startRun(const Config& cfg) {
    dropBranch();
    pending_load_.reset();
    config_ = cfg;
    pending_config_ = cfg;
    history_.reset(cfg.layers, cfg.experts);
    plotted_version_ = 0;
    steps_done_ = 0;
    run_label_->setText(QStringLiteral("starting %1…").arg(QString::fromStdString(cfg.name)));
    worker_->setRunning(playing_);
    emit runRequested(cfg);
}

void MainWindow::setPlaying(bool playing) {
    playing_ = playing;
    if (play_action_->isChecked() != playing) play_action_->setChecked(playing);
    play_action_->setIcon(style()->standardIcon(playing ? QStyle::SP_MediaPause : QStyle::SP_MediaPlay));
    play_action_->setText(playing ? QStringLiteral("Pause") : QStringLiteral("Play"));
    worker_->setRunning(playing);
}

void MainWindow::stepOnce() {
    if (playing_) return;
    emit stepRequested();
}

void MainWindow::resetRun() { startRun(pending_config_); }

void MainWindow::selectPreset(const QString& name) {
    try {
        const Config cfg = load_preset(name.toStdString());
        knobs_->setConfig(cfg);
        QSettings().setValue(theme::kSettingsPreset, name);
        startRun(cfg);
    } catch (const std::exception& e) {
        onFailed(QString::fromStdString(e.what()));
    }
}

void MainWindow::applyKnob(const QString& name, const QString& value, const QString& source) {
    if (knobTarget() == TrainingWorker::Branch)
        QMetaObject::invokeMethod(worker_,
                                  [w = worker_, name, value, source] { w->setBranchKnob(name, value, source); });
    else
        emit knobRequested(name, value, source);
}

void MainWindow::setClassroom(bool on) {
    if (classroom_action_->isChecked() != on) classroom_action_->setChecked(on);
    QFont f = QApplication::font();
    if (normal_font_size_ == 0) normal_font_size_ = f.pointSize();
    f.setPointSize(on ? normal_font_size_ + 5 : normal_font_size_);
    QApplication::setFont(f);
    knobs_->setAdvancedVisible(!on);
    lesson_->setLarge(on);
    // Plot text sized for the back row of a lecture hall.
    for (QCustomPlot* plot : findChildren<QCustomPlot*>()) scale_plot_fonts(plot, on ? 1.6 : 1.0);
    if (on) lesson_dock_->show();
    on ? showFullScreen() : showNormal();
}

void MainWindow::onStructuralKnob(const QString& name, const QString& value) {
    try {
        knob(name.toStdString()).set_text(pending_config_, value.toStdString());
        pending_config_.validate();
        statusBar()->showMessage(
            QStringLiteral("%1 = %2 changes the model: press Reset (Ctrl+R) to start a new run with it")
                .arg(name, value));
    } catch (const std::exception& e) {
        statusBar()->showMessage(QString::fromStdString(e.what()), 8000);
    }
}

void MainWindow::onRunStarted(const Config& cfg, int layers, int experts, const QString& summary) {
    history_.reset(layers, experts);
    setRunFile(QString());
    adoptRun(cfg, layers, experts, summary);
}

void MainWindow::adoptRun(const Config& cfg, int layers, int experts, const QString& summary) {
    config_ = cfg;
    pending_config_ = cfg;
    knobs_->setConfig(cfg);
    attachHistories();
    {
        const QSignalBlocker block(layer_box_);
        layer_box_->clear();
        for (int l = 0; l < layers; ++l) layer_box_->addItem(QStringLiteral("L%1").arg(l));
        layer_box_->setCurrentIndex(layers - 1);
    }
    setLayer(layers - 1);
    const QSignalBlocker block(preset_box_);
    preset_box_->setCurrentText(QString::fromStdString(cfg.name));
    // A lesson brings its guided text along; other presets keep the dock as the user left it.
    if (lesson_->showLesson(QString::fromStdString(cfg.name))) lesson_dock_->show();
    run_label_->setText(QStringLiteral("%1 · E=%2 k=%3 · %4 · %5")
                            .arg(QString::fromStdString(cfg.name))
                            .arg(experts)
                            .arg(cfg.top_k)
                            .arg(QString::fromStdString(cfg.policy), summary));
}

void MainWindow::onFrame(const MetricsFrame& frame) {
    for (const auto& m : frame.steps) history_.append(m);
    if (!frame.interventions.empty()) {
        history_.add_interventions(frame.interventions);
        for (const auto& iv : frame.interventions) knob(iv.knob).set_text(config_, iv.new_value);
    }
    if (branch_history_ && frame.has_branch) {
        for (const auto& m : frame.branch_steps) branch_history_->append(m);
        if (!frame.branch_interventions.empty()) {
            branch_history_->add_interventions(frame.branch_interventions);
            for (const auto& iv : frame.branch_interventions) knob(iv.knob).set_text(branch_config_, iv.new_value);
            updateOverlays();  // the legend names the branch by its changes
        }
    }
    if (!frame.interventions.empty() || !frame.branch_interventions.empty())
        knobs_->setConfig(knobTarget() == TrainingWorker::Branch ? branch_config_ : config_);
    if (frame.region_points) {
        regions_->setPoints(frame.region_points->x, frame.region_points->y, frame.region_points->classes);
        regions_dock_->show();
    }
    if (frame.region) regions_->setGrid(*frame.region);
    if (frame.region_unsupported && regions_dock_->isVisible()) {
        regions_->clear();
        regions_dock_->hide();
    }
    steps_done_ = frame.steps_done;
    warnings_->setWarnings(knobTarget() == TrainingWorker::Branch ? frame.branch_active : frame.active);
    if (frame.halted && playing_) setPlaying(false);
    updateStatus(frame);
}

void MainWindow::updateStatus(const MetricsFrame& frame) {
    step_label_->setText(QStringLiteral("step %1").arg(frame.steps_done));
    if (!frame.steps.empty()) rate_label_->setText(QStringLiteral("%1 tok/s").arg(frame.tokens_per_s, 0, 'f', 0));
    elapsed_label_->setText(fmt_elapsed(frame.elapsed_s));
    if (frame.halted) {
        statusBar()->showMessage(
            QStringLiteral("Paused: non-finite loss or gradients; the last finite state is kept. "
                           "Lower lr and press Play."));
        return;
    }
    for (const auto& w : frame.active)
        if (w.severity == Severity::Critical) {
            statusBar()->showMessage(QString::fromStdString(w.message));
            return;
        }
}

void MainWindow::onFailed(const QString& message) {
    setPlaying(false);
    statusBar()->showMessage(QStringLiteral("Cannot start the run: ") + message);
}

void MainWindow::setLayer(int layer) {
    if (layer < 0) return;
    histogram_->setLayer(layer);
    heatmap_->setLayer(layer);
    specialisation_->setLayer(layer);
    regions_->setLayer(layer);
    for (TimePlot* p : time_plots_) p->setLayer(layer);
    plotted_version_ = 0;
}

void MainWindow::refreshPlots() {
    if (history_.version() == plotted_version_) return;
    plotted_version_ = history_.version();
    // The previous frame's cost: rebuilding the plots' data, then painting them (queued replots).
    std::vector<QCustomPlot*> plots = {histogram_->customPlot(), heatmap_->customPlot(), specialisation_->customPlot(),
                                       regions_->customPlot()};
    for (TimePlot* p : time_plots_) plots.push_back(p->customPlot());
    double frame_ms = last_refresh_ms_;
    for (QCustomPlot* p : plots) frame_ms += p->replotTime();
    max_replot_ms_ = std::max(max_replot_ms_, frame_ms);
    // Plots may take about a tenth of one core: training shares the machine's cores with the window.
    replot_timer_.setInterval(std::clamp(int(frame_ms * kFramesPerCostUnit), kReplotIntervalMs, kMaxReplotIntervalMs));

    QElapsedTimer t;
    t.start();
    histogram_->refresh();
    heatmap_->refresh();
    specialisation_->refresh();
    regions_->refresh();
    for (TimePlot* p : time_plots_) p->refresh();
    last_refresh_ms_ = double(t.nsecsElapsed()) / 1e6;
}

void MainWindow::stopWorker() {
    if (!thread_.isRunning()) return;
    worker_->setRunning(false);
    QMetaObject::invokeMethod(worker_, &TrainingWorker::shutdown, Qt::BlockingQueuedConnection);
    thread_.quit();
    thread_.wait();
}

void MainWindow::closeEvent(QCloseEvent* event) {
    QSettings settings;
    settings.setValue(theme::kSettingsGeometry, saveGeometry());
    settings.setValue(theme::kSettingsState, saveState());
    stopWorker();
    event->accept();
}
