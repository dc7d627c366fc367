#include "panels/lesson_panel.hpp"

#include <QFile>
#include <QTextBrowser>
#include <QVBoxLayout>

LessonPanel::LessonPanel(QWidget* parent) : QWidget(parent), browser_(new QTextBrowser) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
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
}
