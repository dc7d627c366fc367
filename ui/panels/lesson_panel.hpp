#pragma once
// The guided text of a lesson preset (resources/lessons/<preset>.md): what to
// watch, what to do, what should happen and why. Empty for other presets.
#include <QWidget>

class QTextBrowser;

class LessonPanel : public QWidget {
    Q_OBJECT
public:
    explicit LessonPanel(QWidget* parent = nullptr);
    // Shows the lesson of `preset`; returns false (and shows a hint) when it has none.
    bool showLesson(const QString& preset);
    bool hasLesson() const { return has_lesson_; }
    QString text() const;
    void setLarge(bool large);  // classroom mode: projector-sized text

private:
    QTextBrowser* browser_;
    bool has_lesson_ = false;
};
