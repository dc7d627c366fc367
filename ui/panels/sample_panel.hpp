#pragma once
// Samples (lm runs): text the language model writes every N steps from the
// current parameters, newest on top, each under the step it was written at, kept
// for the whole run, so a class sees the model learn to write. The boxes set how
// often, how much, at what temperature and from which prompt; the training thread
// writes (TrainingWorker::setSampling), this panel only shows.
#include <QString>
#include <QWidget>
#include <vector>

#include "run/metrics_frame.hpp"

class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QSpinBox;
class QTextBrowser;

class SamplePanel : public QWidget {
    Q_OBJECT
public:
    explicit SamplePanel(QWidget* parent = nullptr);

    // What the boxes ask for now (the prompt with "\n" read as a line break).
    SampleSettings settings() const;
    void setSettings(const SampleSettings& settings);
    void addSample(const LmSample& sample);
    // Forgets the samples (a new run) and shows `why` until the first one comes.
    void clear(const QString& why);

    int sampleCount() const { return int(samples_.size()); }
    const LmSample& sample(int i) const { return samples_[size_t(i)]; }  // 0: the oldest
    QString shownText() const;                                           // the panel's text as displayed, newest first
    QSpinBox* everyBox() const { return every_; }
    QDoubleSpinBox* temperatureBox() const { return temperature_; }
    QSpinBox* lengthBox() const { return length_; }
    QLineEdit* promptEdit() const { return prompt_; }

    // "\n" and "\t" typed in the prompt line as the characters; "\\" a backslash.
    static std::string unescape(const QString& typed);
    static QString escape(const std::string& prompt);

signals:
    void settingsChanged(const SampleSettings& settings);

protected:
    void changeEvent(QEvent* event) override;

private:
    void rebuild();
    void applyFont();

    QSpinBox* every_;
    QDoubleSpinBox* temperature_;
    QSpinBox* length_;
    QLineEdit* prompt_;
    QLabel* note_;
    QTextBrowser* text_;
    std::vector<LmSample> samples_;
};
