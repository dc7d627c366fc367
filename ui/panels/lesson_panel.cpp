#include "panels/lesson_panel.hpp"

#include <QFile>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QTextBrowser>
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
    auto* row = new QHBoxLayout(stop_);
    stop_text_ = new QLabel;
    stop_text_->setWordWrap(true);
    stop_text_->setTextFormat(Qt::PlainText);
    continue_ = new QPushButton(tr("Continue"));
    continue_->setToolTip(tr("Apply what comes next and play on (Space)"));
    connect(continue_, &QPushButton::clicked, this, &LessonPanel::continueRequested);
    row->addWidget(stop_text_, 1);
    row->addWidget(continue_);
    stop_->hide();
    layout->addWidget(stop_);
    layout->addWidget(browser_);
    browser_->setOpenExternalLinks(false);
    setLarge(false);
}

bool LessonPanel::showLesson(const QString& preset) {
    QFile file(QStringLiteral(":/lessons/%1.md").arg(preset));
    has_lesson_ = file.open(QIODevice::ReadOnly);
    if (has_lesson_)
        browser_->setMarkdown(QString::fromUtf8(file.readAll()));
    else
        browser_->setMarkdown(tr("*%1 is not a lesson.* Pick a preset named `lesson…` to get a guided demo: what to "
                                 "watch, which knob to turn, what should happen and why.")
                                  .arg(preset));
    return has_lesson_;
}

QString LessonPanel::text() const { return browser_->toPlainText(); }

void LessonPanel::setLarge(bool large) {
    QFont f = browser_->font();
    f.setPointSize(large ? 16 : 10);
    browser_->setFont(f);
    QFont banner = stop_text_->font();
    banner.setPointSize(large ? 16 : 10);
    banner.setBold(true);
    stop_text_->setFont(banner);
}

void LessonPanel::showStop(const QString& text) {
    stop_text_->setText(text);
    stop_->show();
}

void LessonPanel::clearStop() { stop_->hide(); }

bool LessonPanel::isStopShown() const { return !stop_->isHidden(); }

QString LessonPanel::stopText() const { return stop_text_->text(); }
