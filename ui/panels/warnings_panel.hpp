#pragma once
// The monitor's active warnings as a table: severity, layer, first step,
// message (with the rule's value now under it) and a one-click remedy button
// that asks for the suggested knob value.
// Rows are rebuilt only when the set of warnings changes, so 30 Hz updates
// do not flicker or steal a button press.
#include <QString>
#include <QWidget>
#include <optional>
#include <tuple>
#include <vector>

#include "monitor/monitor.hpp"

class QPushButton;
class QTableWidget;

class WarningsPanel : public QWidget {
    Q_OBJECT
public:
    enum Column { SeverityColumn, LayerColumn, StepColumn, MessageColumn, RemedyColumn, ColumnCount };

    explicit WarningsPanel(QWidget* parent = nullptr);

    void setWarnings(const std::vector<moescope::Warning>& active);
    // The knobs of the run the remedies act on: each remedy is then computed from them
    // (monitor/remedy.hpp), not taken as raised, so it never offers a value that was right
    // for an earlier step's knobs, and hides when no value can help. nullopt (a watched job,
    // whose remedies name its own flags): remedies as raised.
    void setKnobs(std::optional<moescope::Config> knobs);

    int warningCount() const { return int(warnings_.size()); }
    QPushButton* remedyButton(int row) const;  // nullptr when the row has no knob remedy
    QString messageAt(int row) const;          // the message as raised
    QString currentAt(int row) const;          // "now load entropy 0.8 (0.52 when raised)"; "" when unknown
    QTableWidget* table() const { return table_; }

    // One line when there is nothing to show; the header and up to four rows otherwise.
    QSize sizeHint() const override;
    int wantedHeight() const;

signals:
    void remedyRequested(const QString& knob, double value);
    void layerClicked(int layer);  // a row was clicked: its layer (-1 for the whole model)
    void countChanged(int count);  // the number of active warnings changed
    // The panel went from empty to showing warnings or back: the dock may resize to wantedHeight().
    void wantedHeightChanged(int height);

protected:
    void resizeEvent(QResizeEvent* event) override;
    void changeEvent(QEvent* event) override;  // a new font (classroom mode) refits the columns

private:
    using Key = std::tuple<std::string, int, long>;  // id, layer, first step
    static std::vector<Key> keys(const std::vector<moescope::Warning>& warnings);
    void rebuild();
    void showPlaceholder();
    void updateMessages();
    void updateRemedies();
    std::vector<moescope::Warning> withCurrentRemedies(const std::vector<moescope::Warning>& raised) const;
    void applyCompact();
    void fitRemedyColumn();

    QTableWidget* table_ = nullptr;
    std::vector<moescope::Warning> raised_;    // as the monitor sent them
    std::vector<moescope::Warning> warnings_;  // as shown: remedies from knobs_ when set
    std::optional<moescope::Config> knobs_;
    bool compact_ = false;
};
