#pragma once
// One knob's row in the knob panel: name, editor, unit and a reset button,
// chosen from the knob's row in the knob table (choices → combo box, int →
// spin box, real → slider + spin box, log-scaled for rates and weights,
// text → line edit). The row only reports edits; the panel validates them.
#include <QString>
#include <QWidget>

#include "train/knobs.hpp"

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QSlider;
class QSpinBox;
class QToolButton;

class KnobEditor : public QWidget {
    Q_OBJECT
public:
    // Slider positions: [0, kSliderSteps].
    static constexpr int kSliderSteps = 1000;

    explicit KnobEditor(const moescope::KnobDef& def, QWidget* parent = nullptr);

    const moescope::KnobDef& def() const { return def_; }
    QString name() const;
    QString valueText() const { return value_; }  // the value shown (last set or edited)

    // Shows `text` without emitting valueEdited.
    void setValueText(const QString& text);
    // Sets `text` and emits valueEdited as if the user had entered it.
    void editValue(const QString& text);
    // Why the last edit was refused ("50 is out of range [1, 16], kept 8"), shown under the
    // box; "" hides it. The next edit clears it.
    void showProblem(const QString& text);
    QString problemText() const;
    // Aligns the name and unit columns across rows.
    void setColumnWidths(int label, int unit);
    int labelWidthHint() const;
    int unitWidthHint() const;

    // Slider mapping (public for tests): position ↔ value of a real knob.
    // Log-scaled knobs span [max(min, 1e-6), max] logarithmically; when min is 0
    // the leftmost position means exactly 0.
    double sliderToValue(int position) const;
    int valueToSlider(double value) const;

    QSlider* slider() const { return slider_; }
    QDoubleSpinBox* realSpin() const { return real_spin_; }
    QSpinBox* intSpin() const { return int_spin_; }
    QComboBox* combo() const { return combo_; }
    QLineEdit* lineEdit() const { return line_edit_; }
    QToolButton* resetButton() const { return reset_; }

signals:
    // Once per distinct user edit; `value` is in the knob table's text form.
    void valueEdited(const QString& name, const QString& value);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void buildEditor();
    void showValue(const QString& text);  // updates every widget, never emits
    void commit(const QString& text);     // emits when `text` differs from the last value
    void onSliderMoved(int position);
    void onSliderReleased();
    void onRealSpinChanged(double value);

    const moescope::KnobDef& def_;
    QString value_;
    QLabel* label_ = nullptr;
    QLabel* unit_ = nullptr;
    QSlider* slider_ = nullptr;
    QDoubleSpinBox* real_spin_ = nullptr;
    QSpinBox* int_spin_ = nullptr;
    QComboBox* combo_ = nullptr;
    QLineEdit* line_edit_ = nullptr;
    QToolButton* reset_ = nullptr;
    QLabel* problem_ = nullptr;
};
