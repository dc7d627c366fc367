#include "panels/sample_panel.hpp"

#include <QDoubleSpinBox>
#include <QEvent>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QTextBrowser>
#include <QTextCursor>
#include <QVBoxLayout>

#include "theme.hpp"

SamplePanel::SamplePanel(QWidget* parent) : QWidget(parent) {
    every_ = new QSpinBox;
    every_->setRange(0, 1000000);
    every_->setSingleStep(50);
    every_->setSpecialValueText(tr("never"));
    every_->setToolTip(tr("The model writes a sample every this many steps (never: 0)"));
    temperature_ = new QDoubleSpinBox;
    temperature_->setRange(0.0, 2.0);
    temperature_->setSingleStep(0.1);
    temperature_->setDecimals(2);
    temperature_->setToolTip(
        tr("Sampling temperature: 0 always writes the most likely character, 1 draws from the model's distribution, "
           "higher is wilder"));
    length_ = new QSpinBox;
    length_->setRange(1, 2000);
    length_->setSingleStep(50);
    length_->setToolTip(tr("Characters each sample writes"));
    prompt_ = new QLineEdit;
    prompt_->setToolTip(tr("What the model continues; \\n is a line break"));
    prompt_->setMinimumWidth(80);

    auto* head = new QHBoxLayout;
    head->addWidget(new QLabel(tr("Every")));
    head->addWidget(every_);
    head->addWidget(new QLabel(tr("steps, T")));
    head->addWidget(temperature_);
    head->addWidget(new QLabel(tr("length")));
    head->addWidget(length_);
    head->addWidget(new QLabel(tr("prompt")));
    head->addWidget(prompt_, 1);

    note_ = new QLabel;
    note_->setWordWrap(true);
    text_ = new QTextBrowser;
    text_->setToolTip(tr("Text the model wrote from its parameters at each step shown, newest on top"));
    auto* box = new QVBoxLayout(this);
    box->addLayout(head);
    box->addWidget(note_);
    box->addWidget(text_, 1);

    setSettings(SampleSettings{});
    auto changed = [this] { emit settingsChanged(settings()); };
    connect(every_, &QSpinBox::valueChanged, this, changed);
    connect(temperature_, &QDoubleSpinBox::valueChanged, this, changed);
    connect(length_, &QSpinBox::valueChanged, this, changed);
    connect(prompt_, &QLineEdit::editingFinished, this, changed);
    applyFont();
    clear(tr("No samples yet."));
}

std::string SamplePanel::unescape(const QString& typed) {
    QString out;
    for (qsizetype i = 0; i < typed.size(); ++i) {
        if (typed[i] == QLatin1Char('\\') && i + 1 < typed.size()) {
            const QChar c = typed[i + 1];
            if (c == QLatin1Char('n') || c == QLatin1Char('t') || c == QLatin1Char('\\')) {
                out += c == QLatin1Char('n') ? QLatin1Char('\n') : c == QLatin1Char('t') ? QLatin1Char('\t') : c;
                ++i;
                continue;
            }
        }
        out += typed[i];
    }
    return out.toStdString();
}

QString SamplePanel::escape(const std::string& prompt) {
    QString out;
    for (const QChar c : QString::fromStdString(prompt)) {
        if (c == QLatin1Char('\n'))
            out += QStringLiteral("\\n");
        else if (c == QLatin1Char('\t'))
            out += QStringLiteral("\\t");
        else if (c == QLatin1Char('\\'))
            out += QStringLiteral("\\\\");
        else
            out += c;
    }
    return out;
}

SampleSettings SamplePanel::settings() const {
    SampleSettings s;
    s.every = every_->value();
    s.temperature = temperature_->value();
    s.length = length_->value();
    s.prompt = unescape(prompt_->text());
    return s;
}

void SamplePanel::setSettings(const SampleSettings& s) {
    const QSignalBlocker b1(every_), b2(temperature_), b3(length_), b4(prompt_);
    every_->setValue(s.every);
    temperature_->setValue(s.temperature);
    length_->setValue(s.length);
    prompt_->setText(escape(s.prompt));
}

void SamplePanel::addSample(const LmSample& sample) {
    samples_.push_back(sample);
    note_->hide();
    rebuild();
}

void SamplePanel::clear(const QString& why) {
    samples_.clear();
    text_->clear();
    note_->setText(why);
    note_->show();
}

QString SamplePanel::shownText() const { return text_->toPlainText(); }

void SamplePanel::rebuild() {
    text_->clear();
    QTextCursor cursor(text_->document());
    QTextCharFormat head;
    head.setFontWeight(QFont::Bold);
    head.setForeground(theme::kInk);
    QTextCharFormat prompt;
    prompt.setForeground(theme::kGrey);
    QTextCharFormat body;
    bool first = true;
    for (auto it = samples_.rbegin(); it != samples_.rend(); ++it) {
        if (!first) cursor.insertBlock();
        first = false;
        cursor.insertText(tr("step %1 · T %2").arg(it->step).arg(it->temperature, 0, 'g', 3), head);
        cursor.insertBlock();
        if (!it->error.empty()) {
            cursor.insertText(tr("(no sample: %1)").arg(QString::fromStdString(it->error)), prompt);
        } else {
            // The prompt in grey, a leading line break left out: the text starts on its own line anyway.
            std::string p = it->prompt;
            if (!p.empty() && p.front() == '\n') p.erase(0, 1);
            if (!p.empty()) cursor.insertText(QString::fromStdString(p), prompt);
            cursor.insertText(QString::fromStdString(it->text), body);
        }
        cursor.insertBlock();
    }
    text_->moveCursor(QTextCursor::Start);
}

void SamplePanel::applyFont() {
    QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    mono.setPointSize(font().pointSize() + 1);
    text_->setFont(mono);
}

void SamplePanel::changeEvent(QEvent* event) {
    if (event->type() == QEvent::FontChange) applyFont();
    QWidget::changeEvent(event);
}
