#pragma once
// Paces a run for a room (issue 18 §5): a speed box (steps per second, with a
// "lecture" speed at which a lesson lasts about a minute) and Script stops,
// which pause before each scripted change and at the lesson's end, show what
// comes next in the lesson panel and wait for Continue.
#include <QObject>
#include <QString>

#include "train/config.hpp"

class QAction;
class QComboBox;
class LessonPanel;
class RunSession;

class LessonPacer : public QObject {
    Q_OBJECT
public:
    static constexpr double kLectureSeconds = 60;  // a lesson at lecture speed
    static constexpr double kLectureDefault = 10;  // steps/s at "lecture" for a run that is not a lesson

    LessonPacer(RunSession* session, LessonPanel* lesson, QObject* parent);

    QComboBox* speedBox() const { return speed_; }
    QAction* stopsAction() const { return stops_; }

    // A new run: lessons start at lecture speed with stops on, other runs at full speed.
    void onRunAdopted(const moescope::Config& cfg);
    // Benchmarks and screenshots: every run at `steps_per_s` (0: full speed) instead of
    // the lesson's lecture speed; `stops` says whether lessons still pause at their stops.
    void holdSpeed(double steps_per_s, bool stops);
    // Steps per second now in force (0: as fast as the machine goes).
    double pace() const;
    // "Step 250: next, the script sets noise_std to 4." / the lesson's end.
    static QString stopText(const moescope::Config& cfg, long step);

signals:
    void playRequested(bool playing);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void fitSpeedBox();
    void applyPace();
    void onStop(long step);

    RunSession* session_;
    LessonPanel* lesson_;
    QComboBox* speed_ = nullptr;
    QAction* stops_ = nullptr;
    moescope::Config cfg_;
    double held_speed_ = -1;  // < 0: not held
    bool held_stops_ = true;
};
