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

#include "panels/knob_panel.hpp"
#include "panels/lesson_panel.hpp"
#include "plots/plot_style.hpp"
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
    bar->insertWidget(before, pacer_->speedBox());
    bar->insertAction(before, pacer_->stopsAction());
    run_menu_->addSeparator();
    run_menu_->addAction(pacer_->stopsAction());
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
    knobs_->setAdvancedVisible(!on);
    lesson_->setLarge(on);
    // Plot text sized for the back row of a lecture hall.
    for (QCustomPlot* plot : findChildren<QCustomPlot*>()) scale_plot_fonts(plot, on ? 1.6 : 1.0);
    if (on) {
        lesson_dock_->show();
        showFullScreen();
        return;
    }
    showNormal();
    if (!normal_geometry_.isEmpty()) {
        restoreGeometry(normal_geometry_);
        restoreState(normal_state_);
        normal_geometry_.clear();
        normal_state_.clear();
    }
}
