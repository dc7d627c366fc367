#include "window/lesson_pacer.hpp"

#include <QAction>
#include <QComboBox>
#include <QEvent>
#include <QSignalBlocker>
#include <QStringList>
#include <QStyle>
#include <QStyleOptionComboBox>
#include <algorithm>
#include <cmath>

#include "panels/lesson_panel.hpp"
#include "run/run_session.hpp"

namespace {
constexpr double kLecture = -1;  // the speed box's data for "lecture"
}

LessonPacer::LessonPacer(RunSession* session, LessonPanel* lesson, QObject* parent)
    : QObject(parent), session_(session), lesson_(lesson) {
    speed_ = new QComboBox;
    speed_->setToolTip(tr("Training speed. Lecture: a lesson lasts about a minute; max: as fast as this machine goes"));
    speed_->setSizeAdjustPolicy(QComboBox::AdjustToContents);  // classroom fonts clipped "max speed" to "max sp"
    speed_->addItem(tr("lecture"), kLecture);
    for (int rate : {2, 5, 10, 25, 50, 100}) speed_->addItem(tr("%1 steps/s").arg(rate), double(rate));
    speed_->addItem(tr("max speed"), 0.0);
    speed_->setCurrentIndex(speed_->count() - 1);
    connect(speed_, &QComboBox::currentIndexChanged, this, &LessonPacer::applyPace);
    // A crowded toolbar squeezes its items to their minimum width before it moves any into
    // its overflow: classroom fonts at 1920×1080 clipped "max speed" to "max speec".
    speed_->installEventFilter(this);
    fitSpeedBox();

    stops_ = new QAction(tr("Script stops"), this);
    stops_->setCheckable(true);
    stops_->setToolTip(tr(
        "Pause before each scripted change and at the end of a lesson, with the next step shown in the lesson panel"));
    connect(stops_, &QAction::toggled, session_, &RunSession::setStops);

    connect(session_, &RunSession::stopReached, this, &LessonPacer::onStop);
    connect(lesson_, &LessonPanel::continueRequested, this, [this] {
        lesson_->clearStop();
        emit playRequested(true);
    });
}

bool LessonPacer::eventFilter(QObject* watched, QEvent* event) {
    if (watched == speed_ && event->type() == QEvent::FontChange) fitSpeedBox();
    return QObject::eventFilter(watched, event);
}

// Never narrower than its longest item needs, in the font it has now.
void LessonPacer::fitSpeedBox() {
    int widest = 0;
    for (int i = 0; i < speed_->count(); ++i)
        widest = std::max(widest, speed_->fontMetrics().horizontalAdvance(speed_->itemText(i)));
    QStyleOptionComboBox opt;
    opt.initFrom(speed_);
    const QSize contents(widest, speed_->fontMetrics().height());
    speed_->setMinimumWidth(speed_->style()->sizeFromContents(QStyle::CT_ComboBox, &opt, contents, speed_).width());
}

void LessonPacer::onRunAdopted(const moescope::Config& cfg) {
    cfg_ = cfg;
    lesson_->clearStop();
    const bool lesson = cfg.lesson_steps > 0;
    const bool held = held_speed_ >= 0;
    {
        const QSignalBlocker block(speed_);
        int index = lesson ? 0 : speed_->count() - 1;
        if (held) index = std::max(0, speed_->findData(held_speed_));
        speed_->setCurrentIndex(index);
    }
    stops_->setChecked(lesson && (!held || held_stops_));
    session_->setStops(stops_->isChecked());
    applyPace();
}

void LessonPacer::holdSpeed(double steps_per_s, bool stops) {
    held_speed_ = steps_per_s;
    held_stops_ = stops;
    onRunAdopted(cfg_);
}

double LessonPacer::pace() const {
    const double data = speed_->currentData().toDouble();
    if (data != kLecture) return data;
    if (cfg_.lesson_steps <= 0) return kLectureDefault;
    return std::max(1.0, double(cfg_.lesson_steps) / kLectureSeconds);
}

void LessonPacer::applyPace() { session_->setPace(pace()); }

QString LessonPacer::stopText(const moescope::Config& cfg, long step) {
    QStringList changes;
    for (const auto& ch : cfg.script)
        if (ch.step == step)
            changes << tr("%1 to %2").arg(QString::fromStdString(ch.knob), QString::fromStdString(ch.value));
    if (!changes.isEmpty())
        return tr("Step %1: next, the script sets %2. Look at the plots now; Continue applies it.")
            .arg(step)
            .arg(changes.join(tr(" and ")));
    return tr("End of the lesson at step %1. Continue keeps training; the lesson text says what to try next.")
        .arg(step);
}

void LessonPacer::onStop(long step) {
    // At the end the text says what to try next: its "What to do" part comes into view.
    const bool end = cfg_.lesson_steps > 0 && step == cfg_.lesson_steps;
    lesson_->showStop(stopText(cfg_, step), end ? QStringLiteral("What to do") : QString());
    emit playRequested(false);
}
