#pragma once
// Help for a newcomer: the five-minute tour (Help → Getting started) and the
// lesson browser (Help → Lessons…): every lesson with its number, title, one
// line and length, so lessons are not only raw names in the Preset box.
#include <QDialog>
#include <QString>
#include <vector>

class QTableWidget;

struct LessonEntry {
    int number = 0;
    QString preset;  // "lesson2_collapse"
    QString title;   // the lesson text's heading, "Collapse from skewed data"
    QString line;    // the preset's description, first sentence after "Lesson N:"
    long steps = 0;  // lesson_steps
};

// Every lesson preset, by number.
std::vector<LessonEntry> lesson_entries();

// The tour, as rich text.
QString getting_started_text();

class LessonBrowser : public QDialog {
    Q_OBJECT
public:
    explicit LessonBrowser(QWidget* parent = nullptr);
    QTableWidget* table() const { return table_; }

signals:
    void lessonChosen(const QString& preset);

private:
    QTableWidget* table_;
};
