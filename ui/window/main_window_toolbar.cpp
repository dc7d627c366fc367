// The window's toolbar. A narrow window moves the toolbar's last items into its
// "»" overflow, so they come in order of use: transport and counters, Save and
// Branch, then Preset and Layer (at 900×600 these were in the overflow), then
// the lecturer's pacing and classroom toggles (also in the Run menu), then the
// engine and the view's smoothing and load window. Classroom mode puts the
// lecturer's group before Preset and Layer: its fonts leave room for less.
#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QLocale>
#include <QMenu>
#include <QSettings>
#include <QSlider>
#include <QSpinBox>
#include <QStatusBar>
#include <QToolBar>
#include <algorithm>
#include <cmath>

#include "theme.hpp"
#include "train/config.hpp"
#include "window/lesson_pacer.hpp"
#include "window/main_window.hpp"

namespace {
constexpr double kMaxSmoothing = 0.99;
}

QString MainWindow::tokensPerSecondText(double per_s) {
    return tr("%1 tok/s").arg(QLocale().toString(qlonglong(std::llround(std::max(0.0, per_s)))));
}

QString MainWindow::recordsPerSecondText(double per_s) {
    return tr("%1 records/s").arg(QLocale().toString(qlonglong(std::llround(std::max(0.0, per_s)))));
}

QStringList MainWindow::widestRateTexts() {
    return {tokensPerSecondText(9999999), recordsPerSecondText(999999), tr("paused")};
}

void MainWindow::buildToolbar() {
    QToolBar* bar = addToolBar(QStringLiteral("Run"));
    bar->setObjectName(QStringLiteral("run_toolbar"));
    bar->setMovable(false);
    play_action_ = bar->addAction(style()->standardIcon(QStyle::SP_MediaPlay), tr("Play"));
    play_action_->setCheckable(true);
    play_action_->setToolTip(tr("Play / pause training (Space)"));
    connect(play_action_, &QAction::toggled, this, &MainWindow::setPlaying);
    step_action_ = bar->addAction(style()->standardIcon(QStyle::SP_MediaSkipForward), tr("Step"));
    step_action_->setToolTip(tr("One training step while paused (S)"));
    connect(step_action_, &QAction::triggered, this, &MainWindow::stepOnce);
    QAction* reset = bar->addAction(style()->standardIcon(QStyle::SP_BrowserReload), tr("Reset"));
    reset->setToolTip(
        tr("Start a new run with the knobs as the panel shows them: live values as turned and "
           "structural edits (Ctrl+R); choose the preset again for its own values"));
    connect(reset, &QAction::triggered, this, &MainWindow::askedReset);
    // The step counter beside the transport, where a narrow window's toolbar overflow never hides it.
    step_label_ = new QLabel;
    rate_label_ = new QLabel;
    elapsed_label_ = new QLabel;
    QFont mono = step_label_->font();
    mono.setStyleHint(QFont::Monospace);
    mono.setFamily(QStringLiteral("monospace"));
    for (QLabel* l : {step_label_, rate_label_, elapsed_label_}) {
        l->setFont(mono);
        l->setContentsMargins(6, 0, 6, 0);
        bar->addWidget(l);
    }
    step_label_->setObjectName(QStringLiteral("step_counter"));
    rate_label_->setObjectName(QStringLiteral("rate_counter"));
    fitStatusLabels();
    bar->addSeparator();
    // The same three in the Run menu, with their keys shown (the keys themselves are window shortcuts).
    QAction* first = run_menu_->actions().value(0);
    auto* menu_play = new QAction(tr("&Play / pause\tSpace"), this);
    connect(menu_play, &QAction::triggered, play_action_, &QAction::toggle);
    auto* menu_step = new QAction(tr("&Step once\tS"), this);
    connect(menu_step, &QAction::triggered, this, &MainWindow::stepOnce);
    auto* menu_reset = new QAction(tr("&Reset (new run, knobs as shown)\tCtrl+R"), this);
    connect(menu_reset, &QAction::triggered, this, &MainWindow::askedReset);
    run_menu_->insertActions(first, {menu_play, menu_step, menu_reset});
    run_menu_->insertSeparator(first);
    QAction* save = bar->addAction(style()->standardIcon(QStyle::SP_DialogSaveButton), tr("Save"));
    save->setToolTip(tr("Save a snapshot of the run: weights, optimizer, history, warnings (Ctrl+S)"));
    connect(save, &QAction::triggered, this,
            [this] { runFile().isEmpty() ? saveAsDialog() : (void)saveSnapshot(runFile()); });
    bar->addAction(branch_action_);
    target_box_ = new QComboBox;
    target_box_->addItems({tr("knobs → main run"), tr("knobs → branch")});
    target_box_->setToolTip(tr("Which of the two runs the knobs change and the expert plots show"));
    connect(target_box_, &QComboBox::currentIndexChanged, this, &MainWindow::setKnobTarget);
    target_box_action_ = bar->addWidget(target_box_);
    target_box_action_->setVisible(false);
    bar->addSeparator();

    const qsizetype before_view = bar->actions().size();
    buildPresetAndLayer(bar);
    bar->addSeparator();
    view_group_ = bar->actions().mid(before_view);

    // The pacer puts its speed box and Script stops before these (buildPacer).
    classroom_action_ = bar->addAction(tr("Classroom"));
    classroom_action_->setCheckable(true);
    classroom_action_->setToolTip(tr("Large fonts, advanced knobs hidden, lesson text shown, full screen (Ctrl+L)"));
    connect(classroom_action_, &QAction::toggled, this, &MainWindow::setClassroom);
    all_plots_action_ = bar->addAction(tr("All plots"));
    all_plots_action_->setCheckable(true);
    all_plots_action_->setToolTip(
        tr("Classroom mode shows the lesson's four plots; this adds loss and specialisation"));
    all_plots_action_->setVisible(false);
    connect(all_plots_action_, &QAction::toggled, this, &MainWindow::updateHiddenPlots);
    // Also in the Run menu: a toolbar overflow must not be the only way to them.
    run_menu_->addSeparator();
    run_menu_->addAction(classroom_action_);
    run_menu_->addAction(all_plots_action_);
    lecture_end_ = bar->addSeparator();

    buildEngineChooser(bar);
    buildViewControls(bar);

    QWidget* spacer = new QWidget;
    spacer->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    bar->addWidget(spacer);
    backend_label_ = new QLabel;  // showEngine fills it once a run has an engine
    backend_label_->setContentsMargins(10, 0, 10, 0);
    bar->addWidget(backend_label_);
    run_label_ = new QLabel;
    statusBar()->addPermanentWidget(run_label_);
}

void MainWindow::orderToolbar(bool classroom) {
    QToolBar* bar = findChild<QToolBar*>(QStringLiteral("run_toolbar"));
    for (QAction* a : view_group_) bar->removeAction(a);
    const QList<QAction*> actions = bar->actions();
    // Before the pacer's speed box (the lecturer's group), or right after that group.
    QAction* before = classroom ? actions.value(actions.indexOf(lecture_end_) + 1) : lecture_start_;
    bar->insertActions(before, view_group_);
}

void MainWindow::buildPresetAndLayer(QToolBar* bar) {
    training_only_.push_back(bar->addWidget(new QLabel(tr(" Preset "))));
    preset_box_ = new QComboBox;
    preset_box_->setObjectName(QStringLiteral("preset_box"));
    for (const auto& name : moescope::preset_names()) preset_box_->addItem(QString::fromStdString(name));
    preset_box_->setCurrentText(QString::fromStdString(session_->config().name));
    preset_box_->setToolTip(tr("Built-in presets; choosing one starts a new run"));
    connect(preset_box_, &QComboBox::textActivated, this, [this](const QString& name) {
        if (confirmDiscard(tr("switch to preset %1").arg(name))) return selectPreset(name);
        const QSignalBlocker block(preset_box_);
        preset_box_->setCurrentText(QString::fromStdString(session_->config().name));
    });
    training_only_.push_back(bar->addWidget(preset_box_));

    bar->addWidget(new QLabel(tr("  Layer ")));
    layer_box_ = new QComboBox;
    layer_box_->setObjectName(QStringLiteral("layer_box"));
    layer_box_->setToolTip(tr("MoE layer shown by the per-layer plots"));
    connect(layer_box_, &QComboBox::currentIndexChanged, grid_, &PlotGrid::setLayer);
    connect(layer_box_, &QComboBox::activated, this, [this] { layer_picked_ = true; });
    bar->addWidget(layer_box_);
}

void MainWindow::buildViewControls(QToolBar* bar) {
    bar->addWidget(new QLabel(tr("  Smoothing ")));
    smoothing_ = new QSlider(Qt::Horizontal);
    smoothing_->setRange(0, 99);
    smoothing_->setFixedWidth(110);
    smoothing_->setToolTip(tr("Exponential moving average of the time plots (0 = raw)"));
    connect(smoothing_, &QSlider::valueChanged, this, [this](int v) {
        grid_->setSmoothing(std::min(kMaxSmoothing, v / 100.0));
        QSettings().setValue(theme::kSettingsSmoothing, v);
    });
    bar->addWidget(smoothing_);

    bar->addWidget(new QLabel(tr("  Load window ")));
    auto* window = new QSpinBox;
    window->setRange(1, 1000);
    window->setSuffix(window->value() == 1 ? tr(" step") : tr(" steps"));
    connect(window, &QSpinBox::valueChanged, window,
            [window](int n) { window->setSuffix(n == 1 ? tr(" step") : tr(" steps")); });
    window->setToolTip(tr("Expert-load bars: this step (1) or the mean over the last N steps"));
    connect(window, &QSpinBox::valueChanged, grid_, &PlotGrid::setLoadWindow);
    bar->addWidget(window);
}

// Room for the longest text each shows, so the toolbar does not shift as the numbers grow
// and a crowded toolbar does not squeeze them (it shrinks its items to their minimum width
// before it moves any into the overflow); again after classroom mode changes the font
// ("step 200" was clipped to "step 20").
void MainWindow::fitStatusLabels() {
    for (QLabel* l : {step_label_, rate_label_, elapsed_label_}) {
        QFont f = l->font();
        f.setPointSize(QApplication::font().pointSize());
        l->setFont(f);
    }
    const QFontMetrics fm(step_label_->font());
    const int margins = step_label_->contentsMargins().left() + step_label_->contentsMargins().right();
    step_label_->setMinimumWidth(fm.horizontalAdvance(QStringLiteral("step 0000000")) + margins);
    int rate = 0;
    for (const QString& text : widestRateTexts()) rate = std::max(rate, fm.horizontalAdvance(text));
    rate_label_->setMinimumWidth(rate + margins);  // the speed box keeps its own (LessonPacer)
}
