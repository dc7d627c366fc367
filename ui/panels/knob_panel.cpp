#include "panels/knob_panel.hpp"

#include <QGroupBox>
#include <QLabel>
#include <QRegularExpression>
#include <QScrollArea>
#include <QVBoxLayout>
#include <algorithm>

#include "error.hpp"
#include "panels/knob_editor.hpp"
#include "theme.hpp"
#include "train/knobs.hpp"

namespace {

QString qs(std::string_view s) { return QString::fromUtf8(s.data(), qsizetype(s.size())); }

// Group order and titles by knob-table section: what changes the running
// training first, then what needs a new run.
struct SectionTitle {
    const char* section;
    const char* title;
};
constexpr SectionTitle kSectionTitles[] = {
    {"train", "Training (live)"},    {"monitor", "Monitor thresholds (live)"},
    {"model", "Model (structural)"}, {"dataset", "Dataset (structural)"},
    {"run", "Run (live)"},
};

// The knobs the classroom mode keeps: the ones collapse lessons turn.
bool is_basic(std::string_view name) {
    static constexpr std::string_view kBasic[] = {"aux_weight",      "router_lr",   "lr",      "noise_std", "z_weight",
                                                  "capacity_factor", "temperature", "experts", "top_k",     "policy"};
    return std::find(std::begin(kBasic), std::end(kBasic), name) != std::end(kBasic);
}

bool is_advanced_section(const QString& section) {
    return section == QLatin1String("monitor") || section == QLatin1String("dataset") ||
           section == QLatin1String("run");
}

}  // namespace

KnobPanel::KnobPanel(QWidget* parent) : QWidget(parent) {
    auto* content = new QWidget;
    auto* groups_layout = new QVBoxLayout(content);
    groups_layout->setContentsMargins(4, 4, 4, 4);
    groups_layout->setSpacing(8);

    // Sections in kSectionTitles order, then any section the table adds later.
    std::vector<QString> sections;
    for (const auto& s : kSectionTitles) sections.push_back(QLatin1String(s.section));
    for (const auto& k : moescope::knob_table())
        if (std::find(sections.begin(), sections.end(), qs(k.section)) == sections.end())
            sections.push_back(qs(k.section));

    int label_width = 0, unit_width = 0;
    for (const QString& section : sections) {
        QString title = section;
        for (const auto& s : kSectionTitles)
            if (section == QLatin1String(s.section)) title = QString::fromUtf8(s.title);
        auto* box = new QGroupBox(title, content);
        auto* rows = new QVBoxLayout(box);
        rows->setContentsMargins(8, 4, 4, 4);
        rows->setSpacing(0);
        for (const auto& k : moescope::knob_table()) {
            if (qs(k.section) != section) continue;
            auto* ed = new KnobEditor(k, box);
            rows->addWidget(ed);
            editors_.insert(ed->name(), ed);
            label_width = std::max(label_width, ed->labelWidthHint());
            unit_width = std::max(unit_width, ed->unitWidthHint());
            connect(ed, &KnobEditor::valueEdited, this, &KnobPanel::onValueEdited);
        }
        if (rows->isEmpty()) {
            delete box;
            continue;
        }
        groups_layout->addWidget(box);
        groups_.push_back({section, box});
    }
    groups_layout->addStretch(1);
    for (KnobEditor* ed : std::as_const(editors_)) ed->setColumnWidths(label_width, unit_width);

    auto* scroll = new QScrollArea(this);
    scroll->setWidget(content);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);

    error_ = new QLabel(this);
    error_->setWordWrap(true);
    error_->setContentsMargins(6, 0, 6, 2);
    error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QPalette error_palette = error_->palette();
    error_palette.setColor(QPalette::WindowText, theme::kCritical);
    error_->setPalette(error_palette);
    error_->hide();

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(4);
    layout->addWidget(scroll, 1);
    layout->addWidget(error_);

    setConfig(config_);
}

void KnobPanel::setConfig(const moescope::Config& cfg) {
    config_ = cfg;
    for (const auto& k : moescope::knob_table())
        if (KnobEditor* ed = editor(qs(k.name))) {
            ed->setValueText(QString::fromStdString(k.get_text(config_)));
            ed->showProblem({});
        }
    showError({});
}

void KnobPanel::setAdvancedVisible(bool visible) {
    advanced_ = visible;
    for (const Group& g : groups_) g.box->setVisible(visible || !is_advanced_section(g.section));
    for (KnobEditor* ed : std::as_const(editors_)) ed->setVisible(visible || is_basic(ed->def().name));
}

QString KnobPanel::errorText() const { return error_->text(); }

void KnobPanel::onValueEdited(const QString& name, const QString& value) {
    KnobEditor* ed = editor(name);
    const moescope::KnobDef& def = ed->def();
    moescope::Config next = config_;
    try {
        // Whole-config rules (top_k ≤ experts, dataset "csv" needs csv_path) are
        // checked when a run starts: edits may pass through such states.
        def.set_text(next, value.toStdString());
    } catch (const moescope::ConfigError& e) {
        const QString kept = QString::fromStdString(def.get_text(config_));
        ed->setValueText(kept);
        showError(QString::fromUtf8(e.what()));
        // Beside the box: the reason without the knob's name (the row says it), and what stayed.
        QString why = QString::fromUtf8(e.what());
        why.remove(QRegularExpression(QStringLiteral("^knob '[^']*': ")));
        ed->showProblem(tr("%1; kept %2").arg(why, kept));
        return;
    }
    config_ = next;
    showError({});
    const QString text = QString::fromStdString(def.get_text(config_));
    if (def.kind == moescope::KnobKind::Live)
        emit liveKnobChanged(name, text);
    else
        emit structuralKnobChanged(name, text);
}

void KnobPanel::showError(const QString& message) {
    error_->setText(message);
    error_->setVisible(!message.isEmpty());
}
