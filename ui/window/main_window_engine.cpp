// The engine part of MainWindow: the toolbar's engine box and the label that
// says which engine trains and why.
#include <omp.h>
#include <QLabel>
#include <QStatusBar>
#include <QToolBar>

#include "window/main_window.hpp"

void MainWindow::buildEngineChooser(QToolBar* bar) {
    training_only_.push_back(bar->addWidget(new QLabel(tr("  Engine "))));
    engine_box_ = new EngineChooser;
    training_only_.push_back(bar->addWidget(engine_box_));
    connect(engine_box_, &EngineChooser::backendChosen, session_, &RunSession::setBackend);
    connect(engine_box_, &EngineChooser::refused, this, [this](const QString& message) {
        last_error_ = message;
        statusBar()->showMessage(message, 10000);
    });
    connect(session_, &RunSession::engineRefused, this, [this](const QString& message) {
        engine_box_->revert();
        last_error_ = tr("The run stays on its engine: %1").arg(message);
        statusBar()->showMessage(last_error_, 10000);
    });
    connect(session_, &RunSession::engineChanged, this, &MainWindow::showEngine);
}

void MainWindow::setEngineOptions(std::vector<EngineOption> options, moescope::Backend initial) {
    engine_box_->setOptions(std::move(options));
    for (const EngineOption& o : engine_box_->options())
        if (o.backend == initial && !o.available) {
            statusBar()->showMessage(tr("%1 is not available: %2").arg(o.label, o.reason), 10000);
            return;
        }
    engine_box_->showChosen(initial);
    session_->setBackend(initial);
}

void MainWindow::showEngine(const QString& name, const QString& reason) {
    // The CPU engine's OpenMP team size (OMP_NUM_THREADS or every core), not the machine's core count.
    const int threads = omp_get_max_threads();
    const QString engine = name != QLatin1String("cpu") ? name.toUpper()
                           : threads == 1               ? tr("CPU · 1 thread")
                                                        : tr("CPU · %1 threads").arg(threads);
    backend_label_->setText(tr("%1 · %2").arg(engine, reason));
    backend_label_->setToolTip(tr("The engine that trains, and why this one (choose it in the Engine box)"));
}
