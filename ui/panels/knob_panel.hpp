#pragma once
// Every knob of the knob table as one editor row, grouped by section (live
// groups first). Edits are checked against a copy of the current config before
// they leave the panel: an invalid value is never emitted, its error is shown.
#include <QHash>
#include <QString>
#include <QWidget>
#include <vector>

#include "train/config.hpp"

class QGroupBox;
class QLabel;
class KnobEditor;

class KnobPanel : public QWidget {
    Q_OBJECT
public:
    explicit KnobPanel(QWidget* parent = nullptr);

    // Shows `cfg` in every editor without emitting; clears any error.
    void setConfig(const moescope::Config& cfg);
    // The config as shown, including edits not yet applied by a new run.
    const moescope::Config& config() const { return config_; }

    // Classroom mode (false): only the few knobs a lesson turns stay visible.
    void setAdvancedVisible(bool visible);
    bool advancedVisible() const { return advanced_; }

    KnobEditor* editor(const QString& name) const { return editors_.value(name, nullptr); }
    QString errorText() const;
    int editorCount() const { return int(editors_.size()); }

signals:
    void liveKnobChanged(const QString& name, const QString& value);
    void structuralKnobChanged(const QString& name, const QString& value);

private:
    struct Group {
        QString section;
        QGroupBox* box;
    };
    void onValueEdited(const QString& name, const QString& value);
    void showError(const QString& message);

    moescope::Config config_;
    QHash<QString, KnobEditor*> editors_;
    std::vector<Group> groups_;
    QLabel* error_ = nullptr;
    bool advanced_ = true;
};
