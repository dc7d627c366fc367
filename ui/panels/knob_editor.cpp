#include "panels/knob_editor.hpp"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMouseEvent>
#include <QRegularExpression>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QToolButton>
#include <algorithm>
#include <cmath>
#include <limits>

#include "theme.hpp"

namespace {

constexpr double kLogFloor = 1e-6;  // lowest slider value of a log knob whose minimum is 0
constexpr int kSpinWidth = 88;

QString qs(std::string_view s) { return QString::fromUtf8(s.data(), qsizetype(s.size())); }

// Nine significant digits: exact for typed values, hides the binary noise of
// spin-box arithmetic (0.1 + 0.2 shows "0.3").
QString format_real(double v) { return QString::number(v, 'g', 9); }

double round_significant(double v, int digits) {
    if (v == 0 || !std::isfinite(v)) return v;
    const double scale = std::pow(10.0, digits - 1 - int(std::floor(std::log10(std::abs(v)))));
    return std::round(v * scale) / scale;
}

// The next value of the 1-2-5 series above (up) or below `v` (> 0).
double next_nice(double v, bool up) {
    const int decade = int(std::floor(std::log10(v)));
    double best = up ? std::numeric_limits<double>::infinity() : 0;
    for (int e = decade - 1; e <= decade + 1; ++e)
        for (double m : {1.0, 2.0, 5.0}) {
            const double c = m * std::pow(10.0, e);
            if (up && c > v * (1 + 1e-9)) best = std::min(best, c);
            if (!up && c < v * (1 - 1e-9)) best = std::max(best, c);
        }
    return best;
}

// The arrows a knob's box offers at `v`: up below its maximum, down above its minimum.
QAbstractSpinBox::StepEnabled steps_within(double v, const moescope::KnobDef& def) {
    QAbstractSpinBox::StepEnabled e = QAbstractSpinBox::StepNone;
    if (v < def.max) e |= QAbstractSpinBox::StepUpEnabled;
    if (v > def.min) e |= QAbstractSpinBox::StepDownEnabled;
    return e;
}

// A double spin box that reads and writes numbers like the knob table does
// ("1e-05", "0.001"), accepts any finite number so the panel can explain an
// out-of-range one, and steps log knobs along 1-2-5 and linear ones by `step`.
class RealSpinBox : public QDoubleSpinBox {
public:
    RealSpinBox(const moescope::KnobDef& def, QWidget* parent) : QDoubleSpinBox(parent), def_(def) {
        setDecimals(12);
        setRange(-1e15, 1e15);
        setKeyboardTracking(false);
        setSingleStep(round_significant((def.max - def.min) / 100, 1));
        setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    }

    QString textFromValue(double v) const override { return format_real(v); }
    double valueFromText(const QString& text) const override { return text.trimmed().toDouble(); }
    QValidator::State validate(QString& text, int&) const override {
        bool ok = false;
        const double v = text.trimmed().toDouble(&ok);
        if (ok) return std::isfinite(v) ? QValidator::Acceptable : QValidator::Invalid;
        static const QRegularExpression partial(QStringLiteral(R"(^\s*[-+]?\d*\.?\d*([eE][-+]?\d*)?\s*$)"));
        return partial.match(text).hasMatch() ? QValidator::Intermediate : QValidator::Invalid;
    }
    void stepBy(int steps) override {
        double v = value();
        for (int i = 0; i < std::abs(steps); ++i) v = step(v, steps > 0);
        setValue(std::clamp(v, def_.min, def_.max));
        selectAll();
    }

protected:
    StepEnabled stepEnabled() const override { return steps_within(value(), def_); }

private:
    double step(double v, bool up) const {
        if (!def_.log_scale) return v + (up ? singleStep() : -singleStep());
        const double floor = std::max(def_.min, kLogFloor);
        if (v <= 0 || (v <= floor && !up)) return up ? floor : def_.min;
        return next_nice(v, up);
    }
    const moescope::KnobDef& def_;
};

// An integer box that accepts any whole number typed, so the panel can say why
// one out of range is refused (QSpinBox would revert it silently); the arrows stay in range.
class IntSpinBox : public QSpinBox {
public:
    IntSpinBox(const moescope::KnobDef& def, QWidget* parent) : QSpinBox(parent), def_(def) {
        setRange(-kAnyInt, kAnyInt);
        setKeyboardTracking(false);
        setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    }
    void stepBy(int steps) override {
        setValue(int(std::clamp(double(value()) + steps, def_.min, def_.max)));
        selectAll();
    }

protected:
    StepEnabled stepEnabled() const override { return steps_within(value(), def_); }

private:
    static constexpr int kAnyInt = 999999999;
    const moescope::KnobDef& def_;
};

// A slider whose handle, dragged with Shift held, follows the mouse kFine times
// slower: a log knob's ~100 px span many decades, so a plain drag jumps in steps of
// ~10 % and a fine one in ~1 % (the arrow keys and a focused wheel move one position).
class FineSlider : public QSlider {
public:
    static constexpr double kFine = 10;
    using QSlider::QSlider;

protected:
    void mousePressEvent(QMouseEvent* e) override {
        last_x_ = e->position().x();
        carry_ = 0;
        QSlider::mousePressEvent(e);
    }
    void mouseMoveEvent(QMouseEvent* e) override {
        const double x = e->position().x();
        if (!isSliderDown() || !(e->modifiers() & Qt::ShiftModifier)) {
            last_x_ = x;
            QSlider::mouseMoveEvent(e);
            return;
        }
        const double positions_per_px = double(maximum() - minimum()) / std::max(1, width());
        carry_ += (x - last_x_) * positions_per_px / kFine;
        last_x_ = x;
        const int whole = int(carry_);
        carry_ -= whole;
        setSliderPosition(std::clamp(sliderPosition() + whole, minimum(), maximum()));
        e->accept();
    }

private:
    double last_x_ = 0, carry_ = 0;
};

QString kind_text(moescope::KnobKind kind) {
    return kind == moescope::KnobKind::Live ? QStringLiteral("live: applies at the next step")
                                            : QStringLiteral("structural: needs a new run");
}

// The knob table's text form of `text`: numbers normalised so "0.10" and "0.1"
// are the same value; anything unparsable is passed on for the panel to reject.
QString normalized(const moescope::KnobDef& def, const QString& text) {
    const QString t = text.trimmed();
    if (def.is_text()) return def.choices.empty() ? text : t;
    bool ok = false;
    const double v = t.toDouble(&ok);
    if (!ok) return t;
    if (def.is_int() && v == std::floor(v) && std::abs(v) < 1e15) return QString::number(qint64(v));
    return format_real(v);
}

}  // namespace

KnobEditor::KnobEditor(const moescope::KnobDef& def, QWidget* parent) : QWidget(parent), def_(def) {
    auto* rows = new QVBoxLayout(this);
    rows->setContentsMargins(0, 0, 0, 0);
    rows->setSpacing(0);
    auto* row = new QHBoxLayout;
    rows->addLayout(row);
    row->setContentsMargins(0, 1, 0, 1);
    row->setSpacing(6);

    label_ = new QLabel(name(), this);
    row->addWidget(label_);

    buildEditor();
    if (slider_) row->addWidget(slider_, 1);
    if (real_spin_) row->addWidget(real_spin_, slider_ ? 0 : 1);
    if (int_spin_) {
        row->addStretch(1);
        row->addWidget(int_spin_);
    }
    if (combo_) row->addWidget(combo_, 1);
    if (line_edit_) row->addWidget(line_edit_, 1);
    for (QWidget* w : {static_cast<QWidget*>(slider_), static_cast<QWidget*>(real_spin_),
                       static_cast<QWidget*>(int_spin_), static_cast<QWidget*>(combo_)})
        if (w) {
            w->setFocusPolicy(Qt::StrongFocus);
            w->installEventFilter(this);
        }

    unit_ = new QLabel(qs(def_.unit), this);
    QPalette unit_palette = unit_->palette();
    unit_palette.setColor(QPalette::WindowText, theme::kGrey);
    unit_->setPalette(unit_palette);
    row->addWidget(unit_);

    reset_ = new QToolButton(this);
    reset_->setText(QStringLiteral("↺"));
    reset_->setAutoRaise(true);
    reset_->setToolTip(QStringLiteral("reset to default %1").arg(qs(def_.default_text())));
    connect(reset_, &QToolButton::clicked, this, [this] { editValue(qs(def_.default_text())); });
    row->addWidget(reset_);

    // Why a typed value was refused, under the box it was typed in.
    problem_ = new QLabel(this);
    problem_->setObjectName(QStringLiteral("knob_problem"));
    problem_->setWordWrap(true);
    problem_->setAlignment(Qt::AlignRight);
    QPalette problem_palette = problem_->palette();
    problem_palette.setColor(QPalette::WindowText, theme::kCritical);
    problem_->setPalette(problem_palette);
    problem_->hide();
    rows->addWidget(problem_);

    QString tip = qs(def_.help) + QStringLiteral("\nrange: ") + qs(def_.range_text());
    if (!def_.unit.empty()) tip += QLatin1Char(' ') + qs(def_.unit);
    tip += QStringLiteral(", default: ") + qs(def_.default_text()) + QLatin1Char('\n') + kind_text(def_.kind);
    if (slider_) tip += QStringLiteral("\nslider: drag with Shift held for fine control");
    setToolTip(tip);

    setValueText(qs(def_.default_text()));
}

QString KnobEditor::name() const { return qs(def_.name); }

void KnobEditor::buildEditor() {
    if (!def_.choices.empty()) {
        combo_ = new QComboBox(this);
        for (auto choice : def_.choices) combo_->addItem(qs(choice));
        connect(combo_, &QComboBox::activated, this, [this](int i) { commit(combo_->itemText(i)); });
    } else if (def_.is_int()) {
        int_spin_ = new IntSpinBox(def_, this);
        int_spin_->setFixedWidth(kSpinWidth);
        connect(int_spin_, &QSpinBox::valueChanged, this, [this](int v) { commit(QString::number(v)); });
    } else if (def_.is_real()) {
        slider_ = new FineSlider(Qt::Horizontal, this);
        slider_->setRange(0, kSliderSteps);
        slider_->setPageStep(kSliderSteps / 10);
        slider_->setMinimumWidth(60);
        connect(slider_, &QSlider::valueChanged, this, &KnobEditor::onSliderMoved);
        connect(slider_, &QSlider::sliderReleased, this, &KnobEditor::onSliderReleased);
        real_spin_ = new RealSpinBox(def_, this);
        real_spin_->setFixedWidth(kSpinWidth);
        connect(real_spin_, &QDoubleSpinBox::valueChanged, this, &KnobEditor::onRealSpinChanged);
    } else {
        line_edit_ = new QLineEdit(this);
        line_edit_->setPlaceholderText(QStringLiteral("(none)"));
        connect(line_edit_, &QLineEdit::editingFinished, this, [this] { commit(line_edit_->text()); });
    }
}

void KnobEditor::setValueText(const QString& text) {
    value_ = normalized(def_, text);
    showValue(value_);
}

void KnobEditor::editValue(const QString& text) {
    showValue(normalized(def_, text));
    commit(text);
}

void KnobEditor::showProblem(const QString& text) {
    problem_->setText(text);
    problem_->setVisible(!text.isEmpty());
}

QString KnobEditor::problemText() const { return problem_->text(); }

void KnobEditor::commit(const QString& text) {
    showProblem({});
    const QString v = normalized(def_, text);
    reset_->setEnabled(v != normalized(def_, qs(def_.default_text())));
    if (v == value_) return;
    value_ = v;
    emit valueEdited(name(), v);
}

void KnobEditor::showValue(const QString& text) {
    reset_->setEnabled(text != normalized(def_, qs(def_.default_text())));
    if (combo_) {
        const QSignalBlocker block(combo_);
        combo_->setCurrentIndex(combo_->findText(text));
    }
    if (line_edit_) {
        const QSignalBlocker block(line_edit_);
        line_edit_->setText(text);
    }
    bool ok = false;
    const double v = text.toDouble(&ok);
    if (!ok) return;
    if (int_spin_) {
        const QSignalBlocker block(int_spin_);
        int_spin_->setValue(int(std::clamp(v, def_.min, def_.max)));
    }
    if (real_spin_) {
        const QSignalBlocker block(real_spin_);
        real_spin_->setValue(v);
    }
    if (slider_) {
        const QSignalBlocker block(slider_);
        slider_->setValue(valueToSlider(v));
    }
}

void KnobEditor::onSliderMoved(int position) {
    const double v = sliderToValue(position);
    {
        const QSignalBlocker block(real_spin_);
        real_spin_->setValue(v);
    }
    // While dragging only the number follows; the value is sent on release, so a
    // drag is one intervention rather than dozens.
    if (!slider_->isSliderDown()) commit(format_real(v));
}

void KnobEditor::onSliderReleased() { commit(format_real(sliderToValue(slider_->value()))); }

void KnobEditor::onRealSpinChanged(double value) {
    {
        const QSignalBlocker block(slider_);
        slider_->setValue(valueToSlider(value));
    }
    commit(format_real(value));
}

double KnobEditor::sliderToValue(int position) const {
    const double lo = def_.min, hi = def_.max;
    const int p = std::clamp(position, 0, kSliderSteps);
    if (p == kSliderSteps) return hi;
    if (!def_.log_scale)
        return p == 0 ? lo : std::clamp(round_significant(lo + (hi - lo) * p / kSliderSteps, 3), lo, hi);
    // Log knobs with min 0: position 0 is exactly 0, positions 1.. span [1e-6, max].
    const bool zero_at_left = lo <= 0;
    const int first = zero_at_left ? 1 : 0;
    if (zero_at_left && p == 0) return 0;
    const double floor = std::max(lo, kLogFloor);
    if (p == first) return floor;
    const double t = double(p - first) / (kSliderSteps - first);
    return std::clamp(round_significant(floor * std::pow(hi / floor, t), 3), floor, hi);
}

int KnobEditor::valueToSlider(double value) const {
    const double lo = def_.min, hi = def_.max;
    if (!(hi > lo)) return 0;
    if (!def_.log_scale) return int(std::lround(std::clamp((value - lo) / (hi - lo), 0.0, 1.0) * kSliderSteps));
    const bool zero_at_left = lo <= 0;
    const int first = zero_at_left ? 1 : 0;
    if (zero_at_left && value <= 0) return 0;
    const double floor = std::max(lo, kLogFloor);
    const double t = std::clamp(std::log(std::max(value, floor) / floor) / std::log(hi / floor), 0.0, 1.0);
    return first + int(std::lround(t * (kSliderSteps - first)));
}

// The wheel scrolls the panel unless the editor under it has focus: scrolling
// through the knobs must not turn them.
bool KnobEditor::eventFilter(QObject* watched, QEvent* event) {
    if (event->type() == QEvent::Wheel && !static_cast<QWidget*>(watched)->hasFocus()) {
        event->ignore();  // ignored and filtered: the scroll area gets it instead
        return true;
    }
    return QWidget::eventFilter(watched, event);
}

void KnobEditor::setColumnWidths(int label, int unit) {
    label_->setFixedWidth(label);
    unit_->setFixedWidth(unit);
}

int KnobEditor::labelWidthHint() const { return label_->sizeHint().width(); }
int KnobEditor::unitWidthHint() const { return unit_->sizeHint().width(); }
