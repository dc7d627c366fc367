// MainWindow's language-model parts: the "Samples" dock (text the model writes
// every N steps, shown for lm runs only) and the held-out bits/char curve on the
// loss plot (lm runs only; other runs keep their plot as it was).
#include <QDockWidget>

#include "panels/sample_panel.hpp"
#include "plots/time_plot.hpp"
#include "window/main_window.hpp"

void MainWindow::buildSampleDock() {
    samples_ = new SamplePanel;
    samples_->setMinimumSize(320, 120);
    samples_dock_ = new QDockWidget(tr("Samples"), this);
    samples_dock_->setObjectName(QStringLiteral("samples_dock"));
    samples_dock_->setWidget(samples_);
    // Beside the tokens, under the plots: the text the model reads and the text it writes.
    addDockWidget(Qt::BottomDockWidgetArea, samples_dock_);
    splitDockWidget(tokens_dock_, samples_dock_, Qt::Horizontal);
    samples_dock_->hide();
    session_->setSampling(samples_->settings());
    connect(samples_, &SamplePanel::settingsChanged, session_, &RunSession::setSampling);
}

void MainWindow::adoptLanguageModel(const moescope::Config& cfg) {
    const bool lm = cfg.dataset == "lm";
    grid_->plots().loss->setCurveShown("test_bits", lm);
    grid_->plots().loss->refresh();
    samples_->clear(lm ? tr("The model writes a sample every %1 steps (set above): the first one comes at step %2.")
                             .arg(samples_->settings().every)
                             .arg(samples_->settings().every)
                       : tr("Samples are written by the language model (dataset = lm, e.g. the lm preset)."));
    if (lm && !samples_dock_->isVisible()) {
        samples_dock_->show();
        // Two fifths of the width; the tokens (showTokens) the rest.
        if (tokens_dock_->isVisible())
            resizeDocks({tokens_dock_, samples_dock_}, {width() * 3 / 5, width() * 2 / 5}, Qt::Horizontal);
    } else if (!lm) {
        samples_dock_->hide();
    }
}

void MainWindow::showSamples(const MetricsFrame& frame) {
    for (const LmSample& s : frame.samples) samples_->addSample(s);
}
