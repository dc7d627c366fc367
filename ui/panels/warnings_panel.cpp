#include "panels/warnings_panel.hpp"

#include <QEvent>
#include <QHeaderView>
#include <QPushButton>
#include <QStyle>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "monitor/remedy.hpp"
#include "theme.hpp"

namespace {

constexpr int kTintAlpha = 45;            // severity tint behind the severity cell
constexpr int kCompactWidth = 600;        // narrower panels use the compact row layout
constexpr int kMaxRemedyTextWidth = 200;  // compact: half of it

QColor severity_color(moescope::Severity s) {
    switch (s) {
        case moescope::Severity::Info:
            return theme::kInfo;
        case moescope::Severity::Warning:
            return theme::kWarning;
        case moescope::Severity::Critical:
            return theme::kCritical;
    }
    return theme::kGrey;
}

QStyle::StandardPixmap severity_icon(moescope::Severity s) {
    switch (s) {
        case moescope::Severity::Info:
            return QStyle::SP_MessageBoxInformation;
        case moescope::Severity::Warning:
            return QStyle::SP_MessageBoxWarning;
        case moescope::Severity::Critical:
            return QStyle::SP_MessageBoxCritical;
    }
    return QStyle::SP_MessageBoxWarning;
}

QTableWidgetItem* read_only_item(const QString& text) {
    auto* item = new QTableWidgetItem(text);
    item->setFlags(Qt::ItemIsEnabled);
    return item;
}

}  // namespace

WarningsPanel::WarningsPanel(QWidget* parent) : QWidget(parent) {
    table_ = new QTableWidget(0, ColumnCount, this);
    // "Since" stays short (a narrow dock needs the room for the message); its tooltip says what it counts.
    table_->setHorizontalHeaderLabels({tr("Severity"), tr("Layer"), tr("Since"), tr("Message"), tr("Remedy")});
    table_->horizontalHeaderItem(StepColumn)
        ->setToolTip(
            tr("Since step: the step at which the problem started. The message quotes the values measured then; "
               "the line under it, the value at the latest step."));
    table_->verticalHeader()->hide();
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setSelectionMode(QAbstractItemView::NoSelection);
    table_->setFocusPolicy(Qt::NoFocus);
    table_->setWordWrap(true);
    table_->setIconSize(QSize(16, 16));
    table_->setHorizontalScrollMode(QAbstractItemView::ScrollPerPixel);
    table_->setVerticalScrollMode(QAbstractItemView::ScrollPerPixel);
    QHeaderView* header = table_->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::ResizeToContents);
    header->setSectionResizeMode(MessageColumn, QHeaderView::Stretch);
    header->setSectionResizeMode(RemedyColumn, QHeaderView::Interactive);  // see fitRemedyColumn
    header->setMinimumSectionSize(36);
    table_->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);

    connect(table_, &QTableWidget::cellClicked, this, [this](int row, int) {
        if (row < warningCount()) emit layerClicked(warnings_[size_t(row)].layer);
    });

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(table_);

    showPlaceholder();
}

std::vector<WarningsPanel::Key> WarningsPanel::keys(const std::vector<moescope::Warning>& warnings) {
    std::vector<Key> k;
    k.reserve(warnings.size());
    for (const auto& w : warnings) k.emplace_back(w.id, w.layer, w.first_step);
    return k;
}

std::vector<moescope::Warning> WarningsPanel::withCurrentRemedies(const std::vector<moescope::Warning>& raised) const {
    std::vector<moescope::Warning> out = raised;
    if (knobs_)
        for (moescope::Warning& w : out) w.remedy = moescope::remedy_for(w.id, *knobs_);
    return out;
}

void WarningsPanel::setKnobs(std::optional<moescope::Config> knobs) {
    knobs_ = std::move(knobs);
    setWarnings(raised_);
}

void WarningsPanel::setWarnings(const std::vector<moescope::Warning>& active) {
    std::vector<moescope::Warning> shown = withCurrentRemedies(active);
    // A row's remedy is a button or a sentence: when one turns into the other, the row is rebuilt.
    auto has_button = [](const std::vector<moescope::Warning>& ws) {
        std::vector<bool> b;
        for (const auto& w : ws) b.push_back(!w.remedy.knob.empty());
        return b;
    };
    const bool same_set = keys(shown) == keys(warnings_) && has_button(shown) == has_button(warnings_);
    const bool was_empty = warnings_.empty();
    raised_ = active;
    warnings_ = std::move(shown);
    if (same_set) {
        // Messages carry the latest measured values, remedies the latest knobs: refresh the text in place.
        updateMessages();
        updateRemedies();
        return;
    }
    rebuild();
    emit countChanged(warningCount());
    if (was_empty != warnings_.empty()) {
        updateGeometry();
        emit wantedHeightChanged(wantedHeight());
    }
}

void WarningsPanel::changeEvent(QEvent* event) {
    QWidget::changeEvent(event);
    if (event->type() != QEvent::FontChange) return;
    rebuild();  // remedy buttons and row heights follow the new font
    updateGeometry();
}

int WarningsPanel::wantedHeight() const {
    const int frame = 2 * table_->frameWidth();
    if (warnings_.empty()) return frame + table_->fontMetrics().height() + 10;
    int rows = 0;
    for (int row = 0; row < std::min(4, table_->rowCount()); ++row) rows += table_->rowHeight(row);
    return frame + table_->horizontalHeader()->sizeHint().height() + rows;
}

QSize WarningsPanel::sizeHint() const { return {QWidget::sizeHint().width(), wantedHeight()}; }

void WarningsPanel::showPlaceholder() {
    table_->horizontalHeader()->hide();  // a header over one grey line only takes room
    table_->setRowCount(1);
    auto* item = read_only_item(tr("No warnings — routing looks healthy"));
    item->setForeground(theme::kGrey);
    item->setTextAlignment(Qt::AlignCenter);
    table_->setItem(0, 0, item);
    table_->setSpan(0, 0, 1, ColumnCount);
}

void WarningsPanel::rebuild() {
    // Removing the rows also deletes their remedy buttons.
    table_->clearSpans();
    table_->setRowCount(0);
    if (warnings_.empty()) {
        showPlaceholder();
        return;
    }
    table_->horizontalHeader()->show();
    table_->setRowCount(int(warnings_.size()));
    for (int row = 0; row < int(warnings_.size()); ++row) {
        const moescope::Warning& w = warnings_[size_t(row)];

        auto* severity = read_only_item({});
        severity->setToolTip(QString::fromUtf8(moescope::severity_name(w.severity)));
        severity->setIcon(style()->standardIcon(severity_icon(w.severity)));
        QColor tint = severity_color(w.severity);
        tint.setAlpha(kTintAlpha);
        severity->setBackground(tint);
        table_->setItem(row, SeverityColumn, severity);

        auto* layer = read_only_item(w.layer < 0 ? tr("all") : QStringLiteral("L%1").arg(w.layer));
        layer->setTextAlignment(Qt::AlignCenter);
        table_->setItem(row, LayerColumn, layer);

        auto* step = read_only_item(QString::number(w.first_step));
        step->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        table_->setItem(row, StepColumn, step);

        table_->setItem(row, MessageColumn, read_only_item({}));

        if (w.remedy.knob.empty()) {
            table_->setItem(row, RemedyColumn, read_only_item({}));
        } else {
            auto* button = new QPushButton;
            // The value at the time of the click: the knobs may have moved since the row was built.
            connect(button, &QPushButton::clicked, this, [this, row] {
                if (row >= warningCount()) return;
                const moescope::Remedy& r = warnings_[size_t(row)].remedy;
                if (!r.knob.empty()) emit remedyRequested(QString::fromStdString(r.knob), r.value);
            });
            // A holder keeps the button at its natural height in a tall, wrapped row.
            auto* holder = new QWidget;
            auto* holder_layout = new QVBoxLayout(holder);
            holder_layout->setContentsMargins(4, 2, 4, 2);
            holder_layout->addWidget(button, 0, Qt::AlignVCenter);
            table_->setCellWidget(row, RemedyColumn, holder);
        }
    }
    updateMessages();
    applyCompact();
}

void WarningsPanel::updateRemedies() {
    for (int row = 0; row < warningCount(); ++row) {
        const moescope::Remedy& r = warnings_[size_t(row)].remedy;
        const QString text = QString::fromStdString(r.text);
        if (QPushButton* button = remedyButton(row)) {
            button->setText((compact_ ? tr("Apply:\n%1 → %2") : tr("Apply: %1 → %2"))
                                .arg(QString::fromStdString(r.knob), QString::number(r.value, 'g', 6)));
            button->setToolTip(text);
        } else if (QTableWidgetItem* item = table_->item(row, RemedyColumn); item && item->toolTip() != text) {
            // What to do, in a line or two; the why is in the tooltip. The whole sentence
            // wrapped to five lines and pushed the next warning out of the dock.
            item->setText(text.section(QStringLiteral(": "), 0, 0).section(QStringLiteral(" ("), 0, 0));
            item->setToolTip(text);
        }
    }
}

void WarningsPanel::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    const bool compact = width() < kCompactWidth;
    if (compact == compact_) return;
    compact_ = compact;
    applyCompact();
}

// In a narrow panel the message needs the room: severity shows its icon only
// (its name moves to the tooltip) and remedy buttons break after "Apply:".
void WarningsPanel::applyCompact() {
    for (int row = 0; row < warningCount(); ++row) {
        const moescope::Warning& w = warnings_[size_t(row)];
        table_->item(row, SeverityColumn)
            ->setText(compact_ ? QString() : QString::fromUtf8(moescope::severity_name(w.severity)));
    }
    updateRemedies();
    fitRemedyColumn();
}

// Wide enough for every button; remedy texts wrap beyond a cap so that a long
// one does not squeeze the message.
void WarningsPanel::fitRemedyColumn() {
    const int text_cap = compact_ ? kMaxRemedyTextWidth / 2 : kMaxRemedyTextWidth;
    const int padding = 2 * table_->style()->pixelMetric(QStyle::PM_FocusFrameHMargin) + 8;
    int width = table_->horizontalHeader()->sectionSizeHint(RemedyColumn);
    for (int row = 0; row < warningCount(); ++row) {
        if (QWidget* holder = table_->cellWidget(row, RemedyColumn))
            width = std::max(width, holder->sizeHint().width());
        else if (QTableWidgetItem* item = table_->item(row, RemedyColumn))
            width =
                std::max(width, std::min(text_cap, table_->fontMetrics().horizontalAdvance(item->text()) + padding));
    }
    table_->setColumnWidth(RemedyColumn, width);
}

// The message is the one sentence written when the warning was raised; the
// line under it follows the rule's quantity, so a remedy that works shows
// before the warning clears (after the monitor's hysteresis).
void WarningsPanel::updateMessages() {
    if (warnings_.empty()) return;
    for (int row = 0; row < int(warnings_.size()); ++row) {
        const moescope::Warning& w = warnings_[size_t(row)];
        QTableWidgetItem* item = table_->item(row, MessageColumn);
        QString text = QString::fromStdString(w.message);
        if (std::isfinite(w.current_value) && !w.quantity.empty())
            text += QLatin1Char('\n') + tr("now %1 %2 (%3 when raised)")
                                            .arg(QString::fromStdString(w.quantity))
                                            .arg(QString::number(w.current_value, 'g', 2))
                                            .arg(QString::number(w.first_value, 'g', 2));
        if (item->text() == text) continue;
        item->setText(text);
        item->setToolTip(text);
    }
}

QPushButton* WarningsPanel::remedyButton(int row) const {
    if (row < 0 || row >= warningCount()) return nullptr;
    QWidget* holder = table_->cellWidget(row, RemedyColumn);
    return holder ? holder->findChild<QPushButton*>() : nullptr;
}

QString WarningsPanel::messageAt(int row) const {
    if (row < 0 || row >= warningCount()) return {};
    return table_->item(row, MessageColumn)->text().section(QLatin1Char('\n'), 0, 0);
}

QString WarningsPanel::currentAt(int row) const {
    if (row < 0 || row >= warningCount()) return {};
    return table_->item(row, MessageColumn)->text().section(QLatin1Char('\n'), 1);
}
