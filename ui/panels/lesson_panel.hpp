#pragma once
// The guided text of a lesson preset (resources/lessons/<preset>.md): what to
// watch, what to do, what should happen and why. Empty for other presets.
#include <QWidget>

class QLabel;
class QPushButton;
class QTextBrowser;
class QFrame;

class LessonPanel : public QWidget {
    Q_OBJECT
public:
    explicit LessonPanel(QWidget* parent = nullptr);
    // Shows the lesson of `preset`; returns false (and shows a hint) when it has none.
    bool showLesson(const QString& preset);
    bool hasLesson() const { return has_lesson_; }
    QString text() const;
    void setLarge(bool large);  // classroom mode: projector-sized text

    // A lesson stop: `text` (what comes next) above the lesson, with a Continue button.
    // `scroll_to`: a phrase of the text to bring into view ("What to do").
    void showStop(const QString& text, const QString& scroll_to = QString());
    void clearStop();
    bool isStopShown() const;
    QString stopText() const;
    QPushButton* continueButton() const { return continue_; }

signals:
    void continueRequested();

private:
    void tameHeadings();

    QTextBrowser* browser_;
    QFrame* stop_ = nullptr;
    QLabel* stop_text_ = nullptr;
    QPushButton* continue_ = nullptr;
    bool has_lesson_ = false;
};
