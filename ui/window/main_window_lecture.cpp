// MainWindow as a lecturer uses it: one-key shortcuts (also while a knob's
// number box has focus), the lesson pacer (speed and script stops) and
// classroom mode.
#include <qcustomplot.h>
#include <QAction>
#include <QApplication>
#include <QDockWidget>
#include <QMenu>
#include <QShortcut>
#include <QToolBar>
#include <algorithm>

#include "panels/knob_panel.hpp"
#include "panels/lesson_panel.hpp"
#include "plots/plot_style.hpp"
#include "plots/specialisation_map.hpp"
#include "window/editor_keys.hpp"
#include "window/lesson_pacer.hpp"
#include "window/main_window.hpp"

void MainWindow::buildShortcuts() {
    auto add = [this](const QKeySequence& key, auto fn) {
        auto* sc = new QShortcut(key, this);
        sc->setContext(Qt::ApplicationShortcut);
        connect(sc, &QShortcut::activated, this, fn);
    };
    add(QKeySequence(Qt::Key_Space), [this] { play_action_->toggle(); });
    add(QKeySequence(Qt::Key_S), [this] {
        if (step_action_->isEnabled()) stepOnce();
    });
    add(QKeySequence(QStringLiteral("Ctrl+R")), [this] { askedReset(); });
    add(QKeySequence(QStringLiteral("Ctrl+L")), [this] { classroom_action_->toggle(); });
    add(QKeySequence(Qt::Key_F11), [this] { isFullScreen() ? showNormal() : showFullScreen(); });
    new EditorKeys(grid_);  // Space and S still work while a knob's number box has focus; Esc leaves it
}

void MainWindow::buildPacer() {
    pacer_ = new LessonPacer(session_, lesson_, this);
    connect(pacer_, &LessonPacer::playRequested, this, &MainWindow::setPlaying);
    QToolBar* bar = findChild<QToolBar*>(QStringLiteral("run_toolbar"));
    QAction* before = classroom_action_;
    lecture_start_ = bar->insertWidget(before, pacer_->speedBox());
    training_only_.push_back(lecture_start_);
    bar->insertAction(before, pacer_->stopsAction());
    training_only_.push_back(pacer_->stopsAction());
    run_menu_->addSeparator();
    run_menu_->addAction(pacer_->stopsAction());
}

// Whether a watched job's log carries an aux loss or a z-loss (aux_loss, z_loss) on any layer.
static bool logs_router_losses(const MetricsHistory& h) {
    for (int layer = 0; layer < h.layers(); ++layer)
        for (const char* name : {"layer_aux", "layer_z_loss"})
            if (const DecimatedSeries* s = h.series(name, layer); s && s->size() > 0) return true;
    return false;
}

// Classroom mode shows the lesson's plots only (unless All plots is on); a watched job
// leaves out the plots its log cannot fill: it carries no task loss and no classes, and
// its router losses only when it logs them (checked again as its records arrive).
void MainWindow::updateHiddenPlots() {
    const Plots& p = grid_->plots();
    const bool classroom = classroom_action_->isChecked() && !all_plots_action_->isChecked();
    const bool watching = isReadOnly();
    std::vector<QWidget*> hidden;
    if (classroom || watching) hidden.push_back(p.loss);
    if (classroom || !watching || !logs_router_losses(session_->history())) hidden.push_back(p.router_loss);
    if (classroom || watching) hidden.push_back(p.specialisation);
    grid_->setHidden(hidden);
}

void MainWindow::setClassroom(bool on) {
    if (classroom_action_->isChecked() != on) classroom_action_->setChecked(on);
    // Classroom mode is for this session only: the layout saved at exit is the one from before it.
    if (on && normal_geometry_.isEmpty()) {
        normal_geometry_ = saveGeometry();
        normal_state_ = saveState();
    }
    QFont f = QApplication::font();
    if (normal_font_size_ == 0) normal_font_size_ = f.pointSize();
    f.setPointSize(on ? normal_font_size_ + 5 : normal_font_size_);
    QApplication::setFont(f);
    fitStatusLabels();
    orderToolbar(on);
    knobs_->setAdvancedVisible(!on);
    lesson_->setLarge(on);
    // Plot text sized for the back row of a lecture hall.
    for (QCustomPlot* plot : findChildren<QCustomPlot*>()) scale_plot_fonts(plot, on ? 1.6 : 1.0);
    updateHiddenPlots();
    all_plots_action_->setVisible(on);
    if (on) {
        // What a lesson needs at a size the back row reads: the lesson text beside four plots
        // (load, heat map, entropy, balance); the knobs are a tab behind the text, loss and
        // specialisation one click away (All plots). At 1280×720 six plots and three docks
        // left each plot about 290×130 pixels.
        lesson_dock_->show();
        side_dock_->show();
        if (dockWidgetArea(side_dock_) != dockWidgetArea(lesson_dock_)) tabifyDockWidget(lesson_dock_, side_dock_);
        lesson_dock_->raise();
        showFullScreen();
        resizeDocks({lesson_dock_}, {std::max(360, width() * 3 / 10)}, Qt::Horizontal);
        return;
    }
    showNormal();
    if (!normal_geometry_.isEmpty()) {
        restoreGeometry(normal_geometry_);
        restoreState(normal_state_);
        normal_geometry_.clear();
        normal_state_.clear();
    }
    // The layout from before classroom mode may predate the lesson: a loaded lesson keeps its text.
    if (lesson_->hasLesson()) lesson_dock_->show();
}
