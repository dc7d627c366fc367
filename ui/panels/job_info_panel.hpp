#pragma once
// What a watched job's log says about the job, in place of the knob panel
// while a run is watched (or a watched run's saved history is open): where it
// is read from, the format and framework detected, its shape, how far it got,
// how fast records arrive and how many lines were skipped. Read-only: moescope
// cannot turn a real job's knobs; the warnings name the job's own flags.
#include <QString>
#include <QWidget>
#include <map>

#include "io/snapshot_history.hpp"

class QFormLayout;
class QLabel;

class JobInfoPanel : public QWidget {
    Q_OBJECT
public:
    explicit JobInfoPanel(QWidget* parent = nullptr);

    // `live`: a log being followed (records/s shown); otherwise a saved history.
    void setJob(const moescope::JobInfo& job, bool live);
    void setProblem(const QString& message);  // the latest bad line or merge problem

    // The value shown for a field, by its label ("Last step"); "" when there is no such field.
    QString value(const QString& field) const;
    QString problem() const;

private:
    QLabel* addField(const QString& name, const QString& tooltip);

    QLabel* note_ = nullptr;
    QFormLayout* form_ = nullptr;
    std::map<QString, QLabel*> fields_;
    QLabel* problem_ = nullptr;
};
