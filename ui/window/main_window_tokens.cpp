// MainWindow's "Tokens by expert" dock: shown by itself when a run trains on a
// text or lm dataset, hidden (and explaining itself if opened) for any other run.
#include <QComboBox>
#include <QDockWidget>
#include <algorithm>

#include "panels/token_view.hpp"
#include "window/main_window.hpp"

void MainWindow::buildTokenDock() {
    tokens_ = new TokenView;
    tokens_->setMinimumSize(320, 100);
    tokens_dock_ = new QDockWidget(tr("Tokens by expert"), this);
    tokens_dock_->setObjectName(QStringLiteral("tokens_dock"));
    tokens_dock_->setWidget(tokens_);
    // Under the plots, full width: a few long lines of text read better than a narrow column.
    addDockWidget(Qt::BottomDockWidgetArea, tokens_dock_, Qt::Vertical);
    tokens_dock_->hide();
    // One layer box: the toolbar's chooses the layer here as in the plots.
    tokens_->setLayerBoxVisible(false);
    connect(layer_box_, &QComboBox::currentIndexChanged, tokens_, &TokenView::setLayer);
}

void MainWindow::showTokens(const MetricsFrame& frame) {
    if (frame.token_chars) {
        tokens_->setText(*frame.token_chars);
        const bool was_shown = tokens_dock_->isVisible();
        tokens_dock_->show();
        // Room for every character: a new dock otherwise opens at its minimum, a line and a half.
        // Beside the Samples dock (lm runs) the text takes three fifths of the width.
        if (!was_shown) {
            const bool beside = samples_dock_ && samples_dock_->isVisible();
            const int share = beside ? width() * 3 / 5 : width();
            if (beside) resizeDocks({tokens_dock_, samples_dock_}, {share, width() - share}, Qt::Horizontal);
            resizeDocks({tokens_dock_}, {std::min(tokens_->heightFor(share), height() / 2)}, Qt::Vertical);
        }
    }
    if (frame.token_experts) {
        tokens_->setExperts(*frame.token_experts);
        if (layer_box_->currentIndex() >= 0 && tokens_->shownLayer() != layer_box_->currentIndex())
            tokens_->setLayer(layer_box_->currentIndex());
    }
    if (frame.tokens_unsupported && (tokens_->charCount() > 0 || tokens_dock_->isVisible())) {
        tokens_->clear(
            tr("Tokens by expert colours the characters of a text dataset (dataset = text, e.g. the "
               "lesson12_tokens preset) or the language model's held-out text (dataset = lm, e.g. the lm preset). "
               "This run's dataset is neither."));
        tokens_dock_->hide();
    }
}
