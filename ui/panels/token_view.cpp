#include "panels/token_view.hpp"

#include <QAbstractTextDocumentLayout>
#include <QComboBox>
#include <QEvent>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHelpEvent>
#include <QLabel>
#include <QTextBrowser>
#include <QTextCursor>
#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "theme.hpp"

namespace {
// Perceived brightness (ITU-R BT.601 weights) above which dark ink reads best.
constexpr int kLightBackground = 140;
constexpr int kMonoPointsOverUi = 2;  // the text a little larger than the window's own
const QString kLineBreak = QStringLiteral("\u21B5");
}  // namespace

TokenView::TokenView(QWidget* parent) : QWidget(parent) {
    layer_box_ = new QComboBox;
    layer_box_->setToolTip(tr("MoE layer whose first choices colour the text"));
    connect(layer_box_, &QComboBox::currentIndexChanged, this, &TokenView::setLayer);
    step_ = new QLabel;
    legend_ = new QLabel;
    legend_->setWordWrap(true);
    legend_->setTextFormat(Qt::RichText);
    legend_->setToolTip(tr("Each expert's colour and its share of the characters shown"));
    // One row: layer, legend, step, never taller than it needs; the text below.
    auto* layer_label = layer_label_ = new QLabel(tr("Layer"));
    for (QLabel* l : {layer_label, legend_, step_}) l->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Maximum);
    auto* head = new QHBoxLayout;
    head->addWidget(layer_label);
    head->addWidget(layer_box_);
    head->addSpacing(12);
    head->addWidget(legend_, 1);
    head->addWidget(step_);
    note_ = new QLabel;
    note_->setWordWrap(true);
    note_->setAlignment(Qt::AlignCenter);
    text_ = new QTextBrowser;
    text_tip_ =
        tr("Each character on the colour of the expert it was routed to first in the chosen layer; hover a "
           "character for its experts and gates in every layer");
    text_->viewport()->installEventFilter(this);
    text_->viewport()->setMouseTracking(true);

    // No taller than the text: the dock leaves the rest of the window to the plots.
    connect(text_->document()->documentLayout(), &QAbstractTextDocumentLayout::documentSizeChanged, this,
            [this](const QSizeF& size) {
                text_->setMaximumHeight(int(std::ceil(size.height())) + 2 * text_->frameWidth());
            });

    auto* box = new QVBoxLayout(this);
    box->addLayout(head);
    box->addWidget(text_, 1);
    box->addWidget(note_, 1);
    applyFont();
    clear(tr("No run yet."));
}

QColor TokenView::inkOn(const QColor& background) {
    const int brightness = (299 * background.red() + 587 * background.green() + 114 * background.blue()) / 1000;
    return brightness > kLightBackground ? theme::kInk : QColor(Qt::white);
}

void TokenView::setText(const std::vector<std::string>& chars) {
    chars_.clear();
    for (const std::string& c : chars) chars_.push_back(c == "\n" ? kLineBreak : QString::fromStdString(c));
    experts_ = {};
    note_->hide();
    text_->show();
    rebuild();
}

void TokenView::setExperts(const moescope::TokenExperts& experts) {
    if (experts.chars != charCount() || experts.layers < 1) return;  // not this text's: keep what is shown
    experts_ = experts;
    if (layer_box_->count() != experts.layers) {
        const QSignalBlocker block(layer_box_);
        layer_box_->clear();
        for (int l = 0; l < experts.layers; ++l) layer_box_->addItem(QStringLiteral("L%1").arg(l));
        layer_ = std::clamp(layer_, 0, experts.layers - 1);
        layer_box_->setCurrentIndex(layer_);
    }
    rebuild();
}

void TokenView::setLayer(int layer) {
    if (layer < 0) return;
    layer_ = layer;
    if (layer_box_->currentIndex() != layer) {
        const QSignalBlocker block(layer_box_);
        layer_box_->setCurrentIndex(layer);
    }
    rebuild();
}

void TokenView::clear(const QString& why) {
    chars_.clear();
    positions_.clear();
    experts_ = {};
    text_->clear();
    text_->hide();
    legend_->clear();
    step_->clear();
    note_->setText(why);
    note_->show();
}

int TokenView::expertAt(long i) const {
    if (i < 0 || i >= experts_.chars || layer_ >= experts_.layers) return -1;
    return experts_.expert(layer_, i);
}

QColor TokenView::backgroundAt(long i) const {
    if (i < 0 || i >= long(positions_.size())) return {};
    QTextCursor c(text_->document());
    c.setPosition(positions_[size_t(i)] + 1);  // the format of the character before the cursor
    return c.charFormat().background().color();
}

QColor TokenView::foregroundAt(long i) const {
    if (i < 0 || i >= long(positions_.size())) return {};
    QTextCursor c(text_->document());
    c.setPosition(positions_[size_t(i)] + 1);
    return c.charFormat().foreground().color();
}

QString TokenView::characterAt(long i) const { return i >= 0 && i < charCount() ? chars_[size_t(i)] : QString(); }
QString TokenView::stepText() const { return step_->text(); }
QString TokenView::legendText() const { return legend_->text(); }
QString TokenView::note() const { return note_->isVisibleTo(this) ? note_->text() : QString(); }

QString TokenView::toolTipAt(long i) const {
    if (i < 0 || i >= charCount()) return {};
    QString ch = chars_[size_t(i)];
    if (ch == QStringLiteral(" ")) ch = tr("space");
    QStringList lines;
    lines << tr("“%1” · character %2").arg(ch.toHtmlEscaped()).arg(i);
    const bool coloured = experts_.chars == charCount() && experts_.layers > 0;
    if (!coloured) return lines.join(QStringLiteral("<br>")) + QStringLiteral("<br>") + tr("no experts yet");
    auto swatch = [](int e) {
        const QColor bg = theme::expert_color(e);
        return QStringLiteral("<span style=\"background-color:%1; color:%2\">&nbsp;E%3&nbsp;</span>")
            .arg(bg.name(), inkOn(bg).name())
            .arg(e);
    };
    for (int l = 0; l < experts_.layers; ++l) {
        QStringList chosen;
        if (experts_.k > 0)
            for (int r = 0; r < experts_.k; ++r)
                chosen << swatch(experts_.topk_expert_at(l, i, r)) +
                              QStringLiteral(" %1").arg(double(experts_.topk_gate_at(l, i, r)), 0, 'f', 2);
        else
            chosen << swatch(experts_.expert(l, i)) + tr(" first choice");
        QString line = QStringLiteral("L%1: ").arg(l) + chosen.join(QStringLiteral(" · "));
        if (l == layer_) line = QStringLiteral("<b>") + line + QStringLiteral("</b>");
        lines << line;
    }
    if (experts_.k > 0) lines << tr("<i>top-%1 experts and their gates, largest first</i>").arg(experts_.k);
    return QStringLiteral("<qt>") + lines.join(QStringLiteral("<br>")) + QStringLiteral("</qt>");
}

long TokenView::charIndexAt(const QPoint& viewport_pos) const {
    if (positions_.empty()) return -1;
    const QTextCursor c = text_->cursorForPosition(viewport_pos);
    int p = c.position();
    // The caret lies between characters: the one under the pointer is left of it when the pointer is.
    if (text_->cursorRect(c).left() > viewport_pos.x()) --p;
    const auto it = std::lower_bound(positions_.begin(), positions_.end(), p);
    if (it == positions_.end() || *it != p) return -1;
    // Off the text's lines (below the last one): no character.
    const QRect line = text_->cursorRect(c);
    if (viewport_pos.y() < line.top() - 2 || viewport_pos.y() > line.bottom() + 2) return -1;
    return long(it - positions_.begin());
}

QPoint TokenView::pointOf(long i) const {
    if (i < 0 || i >= long(positions_.size())) return {-1, -1};
    QTextCursor c(text_->document());
    c.setPosition(positions_[size_t(i)]);
    const QRect left = text_->cursorRect(c);
    c.setPosition(positions_[size_t(i)] + 1);
    const QRect right = text_->cursorRect(c);
    // A character that wrapped to the next line: its right caret is on another line; use the left one's.
    const int x = right.top() == left.top() ? (left.left() + right.left()) / 2 : left.left() + 3;
    return {x, left.center().y()};
}

QWidget* TokenView::textViewport() const { return text_->viewport(); }

bool TokenView::eventFilter(QObject* watched, QEvent* event) {
    if (watched == text_->viewport() && event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        const long i = charIndexAt(help->pos());
        const QString tip = i >= 0 ? toolTipAt(i) : (charCount() > 0 ? text_tip_ : QString());
        if (tip.isEmpty())
            QToolTip::hideText();
        else
            QToolTip::showText(help->globalPos(), tip, text_->viewport());
        return true;
    }
    return QWidget::eventFilter(watched, event);
}

void TokenView::rebuild() {
    text_->clear();
    positions_.clear();
    QTextCursor cursor(text_->document());
    const bool coloured = experts_.chars == charCount() && layer_ < experts_.layers;
    for (long i = 0; i < charCount(); ++i) {
        QTextCharFormat f;
        if (coloured) {
            const QColor bg = theme::expert_color(experts_.expert(layer_, i));
            f.setBackground(bg);
            f.setForeground(inkOn(bg));
        }
        positions_.push_back(cursor.position());
        cursor.insertText(chars_[size_t(i)], f);
        if (chars_[size_t(i)] == kLineBreak) cursor.insertBlock();
    }
    text_->moveCursor(QTextCursor::Start);
    step_->setText(coloured ? tr("step %1").arg(experts_.step) : tr("waiting for the first step"));
    rebuildLegend();
}

void TokenView::rebuildLegend() {
    if (experts_.chars != charCount() || layer_ >= experts_.layers || charCount() == 0) {
        legend_->clear();
        return;
    }
    std::vector<long> count(size_t(experts_.experts), 0);
    for (long i = 0; i < charCount(); ++i) ++count[size_t(experts_.expert(layer_, i))];
    QStringList items;
    for (int e = 0; e < experts_.experts; ++e) {
        const QColor bg = theme::expert_color(e);
        items << QStringLiteral("<span style=\"background-color:%1; color:%2\">&nbsp;E%3&nbsp;</span>&nbsp;%4%")
                     .arg(bg.name(), inkOn(bg).name())
                     .arg(e)
                     .arg(std::lround(100.0 * double(count[size_t(e)]) / double(charCount())));
    }
    // The Load per expert bars are coloured by load level, not by expert: say which colours these are.
    legend_->setText(tr("Expert colours: ") + items.join(QStringLiteral(" &nbsp; ")));
}

void TokenView::setLayerBoxVisible(bool visible) {
    layer_box_->setVisible(visible);
    layer_label_->setVisible(visible);
}

int TokenView::heightFor(int width) const {
    const QFontMetrics fm(text_->font());
    const int text_width =
        std::max(1, width - 2 * text_->frameWidth() - 2 * int(text_->document()->documentMargin()) - 24);
    const int per_line = std::max(1, text_width / std::max(1, fm.horizontalAdvance(QLatin1Char('M'))));
    // Each paragraph (a line break ends one) wraps on its own.
    int lines = 0, run = 0;
    for (const QString& c : chars_) {
        ++run;
        if (c == kLineBreak) lines += (run + per_line - 1) / per_line, run = 0;
    }
    lines += (run + per_line - 1) / per_line;
    const int head = std::max({legend_->heightForWidth(width / 2), layer_box_->sizeHint().height(), fm.height()});
    return head + (std::max(lines, 3) + 1) * fm.lineSpacing() + 2 * text_->frameWidth() +
           2 * int(text_->document()->documentMargin()) + 24;
}

void TokenView::applyFont() {
    QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    mono.setPointSize(font().pointSize() + kMonoPointsOverUi);
    text_->setFont(mono);
}

void TokenView::changeEvent(QEvent* event) {
    // Classroom mode enlarges the application font: the text follows it.
    if (event->type() == QEvent::FontChange) applyFont();
    QWidget::changeEvent(event);
}
