#include "panels/lesson_panel.hpp"

#include <QFile>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QScrollBar>
#include <QTextBlock>
#include <QTextBrowser>
#include <QTextCursor>
#include <QTextDocument>
#include <QVBoxLayout>

#include "theme.hpp"

LessonPanel::LessonPanel(QWidget* parent) : QWidget(parent), browser_(new QTextBrowser) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    // The stop banner: the class reads what comes next before the lecturer continues.
    stop_ = new QFrame;
    stop_->setFrameShape(QFrame::StyledPanel);
    stop_->setAutoFillBackground(true);
    QPalette banner = stop_->palette();
    QColor tint = theme::kInfo;
    tint.setAlpha(40);
    banner.setColor(QPalette::Window, tint);
    stop_->setPalette(banner);
    // The text over the whole width and Continue under it: beside the button, a narrow
    // dock's text wrapped to many lines and pushed the lesson out of view.
    auto* column = new QVBoxLayout(stop_);
    column->setContentsMargins(6, 4, 6, 4);
    column->setSpacing(2);
    stop_text_ = new QLabel;
    stop_text_->setWordWrap(true);
    stop_text_->setTextFormat(Qt::PlainText);
    continue_ = new QPushButton(tr("Continue"));
    continue_->setToolTip(tr("Apply what comes next and play on (Space)"));
    connect(continue_, &QPushButton::clicked, this, &LessonPanel::continueRequested);
    column->addWidget(stop_text_);
    column->addWidget(continue_, 0, Qt::AlignRight);
    stop_->hide();
    layout->addWidget(stop_);
    layout->addWidget(browser_);
    browser_->setOpenExternalLinks(false);
    setLarge(false);
}

bool LessonPanel::showLesson(const QString& preset) {
    QFile file(QStringLiteral(":/lessons/%1.md").arg(preset));
    has_lesson_ = file.open(QIODevice::ReadOnly);
    if (has_lesson_) {
        browser_->setMarkdown(QString::fromUtf8(file.readAll()));
        tameHeadings();
    } else
        browser_->setMarkdown(tr("*%1 is not a lesson.* Pick a preset named `lesson…` to get a guided demo: what to "
                                 "watch, which knob to turn, what should happen and why.")
                                  .arg(preset));
    return has_lesson_;
}

// Markdown's title is twice the text's size: in a dock a third of the screen wide it
// wrapped onto three to six lines before the text began. A third larger is enough.
void LessonPanel::tameHeadings() {
    QTextDocument* doc = browser_->document();
    for (QTextBlock block = doc->begin(); block.isValid(); block = block.next()) {
        if (block.blockFormat().headingLevel() == 0) continue;
        QTextCursor c(block);
        c.select(QTextCursor::BlockUnderCursor);
        QTextCharFormat f;
        f.setProperty(QTextFormat::FontSizeAdjustment, block.blockFormat().headingLevel() == 1 ? 1 : 0);
        f.setFontWeight(QFont::Bold);
        c.mergeCharFormat(f);
    }
}

QString LessonPanel::text() const { return browser_->toPlainText(); }

void LessonPanel::setLarge(bool large) {
    QFont f = browser_->font();
    f.setPointSize(large ? 16 : 10);
    browser_->setFont(f);
    QFont banner = stop_text_->font();
    banner.setPointSize(large ? 14 : 10);
    banner.setBold(true);
    stop_text_->setFont(banner);
}

void LessonPanel::showStop(const QString& text, const QString& scroll_to) {
    stop_text_->setText(text);
    stop_->show();
    if (scroll_to.isEmpty()) return;
    // Brings that part of the text into view, at the top, without leaving it selected.
    browser_->moveCursor(QTextCursor::Start);
    if (!browser_->find(scroll_to)) return;
    QTextCursor c = browser_->textCursor();
    c.clearSelection();
    browser_->setTextCursor(c);
    QScrollBar* bar = browser_->verticalScrollBar();
    bar->setValue(bar->value() + browser_->cursorRect().top() - 4);
}

void LessonPanel::clearStop() { stop_->hide(); }

bool LessonPanel::isStopShown() const { return !stop_->isHidden(); }

QString LessonPanel::stopText() const { return stop_text_->text(); }
