#include "window/help_dialogs.hpp"

#include <QDialogButtonBox>
#include <QFile>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QRegularExpression>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>

#include "train/config.hpp"
#include "window/lesson_pacer.hpp"

namespace {

// "# Lesson 2 — Collapse from skewed data" → "Collapse from skewed data".
QString lesson_title(const QString& preset) {
    QFile f(QStringLiteral(":/lessons/%1.md").arg(preset));
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text)) return preset;
    const QString first = QString::fromUtf8(f.readLine()).trimmed();
    static const QRegularExpression heading(QStringLiteral("^#\\s*Lesson\\s*\\d+\\s*[—–:-]\\s*"));
    QString title = first;
    title.remove(heading);
    return title.isEmpty() ? preset : title;
}

// The description's first sentence after "Lesson N: ...:" (the title again).
QString lesson_line(const std::string& description) {
    QString d = QString::fromStdString(description);
    static const QRegularExpression prefix(QStringLiteral("^Lesson\\s*\\d+:\\s*[^.]*\\.\\s*"));
    d.remove(prefix);
    const int end = d.indexOf(QStringLiteral(". "));
    return end > 0 ? d.left(end + 1) : d;
}

}  // namespace

std::vector<LessonEntry> lesson_entries() {
    std::vector<LessonEntry> out;
    static const QRegularExpression name(QStringLiteral("^lesson(\\d+)_"));
    for (const std::string& p : moescope::preset_names()) {
        const QString preset = QString::fromStdString(p);
        const auto m = name.match(preset);
        if (!m.hasMatch()) continue;
        LessonEntry e;
        e.number = m.captured(1).toInt();
        e.preset = preset;
        e.title = lesson_title(preset);
        try {
            const moescope::Config cfg = moescope::load_preset(p);
            e.line = lesson_line(cfg.description);
            e.steps = cfg.lesson_steps;
        } catch (const std::exception&) {
            continue;  // a broken preset is reported when chosen, not here
        }
        out.push_back(e);
    }
    std::sort(out.begin(), out.end(), [](const LessonEntry& a, const LessonEntry& b) { return a.number < b.number; });
    return out;
}

QString getting_started_text() {
    return QObject::tr(
        "<h3>A five-minute tour</h3><ol>"
        "<li><b>Start.</b> The window trains the last preset: Space pauses and continues, S takes one step, "
        "Ctrl+R starts a new run. The toolbar shows the step, tokens/s and training time.</li>"
        "<li><b>Read the plots.</b> <i>Load per expert</i>: one bar per expert, its share of this step's "
        "tokens, with a dashed line at the fair share. <i>Load over time</i>: a collapse is one bright row. "
        "<i>Entropy</i>: router and load entropy (1 = uniform). <i>Loss and accuracy</i>, <i>Balance</i> "
        "(max utilisation, dead experts, dropped share) and <i>Specialisation</i> (which expert each class "
        "goes to).</li>"
        "<li><b>Break it.</b> Choose <tt>collapse</tt> in the Preset box: within a few dozen steps two or three "
        "experts take almost everything and the Warnings dock lists collapse and dead experts, each with a "
        "remedy.</li>"
        "<li><b>Fix it.</b> Press a warning's <i>Apply</i> button or move <tt>aux_weight</tt> in the Knobs "
        "panel. Every change is drawn as a labelled line on the time plots.</li>"
        "<li><b>Compare.</b> Ctrl+B branches the run; change a knob in the branch and its curves (dash-dot) "
        "show the difference.</li>"
        "<li><b>Keep it.</b> Ctrl+S saves a snapshot, Ctrl+O opens one, Ctrl+E exports the metrics.</li>"
        "<li><b>Teach.</b> <i>Help → Lessons…</i> lists the lessons; Ctrl+L switches to classroom mode "
        "(large text, full screen).</li></ol>");
}

LessonBrowser::LessonBrowser(QWidget* parent) : QDialog(parent) {
    setWindowTitle(tr("Lessons"));
    const auto lessons = lesson_entries();
    table_ = new QTableWidget(int(lessons.size()), 4, this);
    table_->setHorizontalHeaderLabels({tr("#"), tr("Lesson"), tr("What happens"), tr("Length")});
    table_->verticalHeader()->hide();
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setWordWrap(true);
    for (int row = 0; row < int(lessons.size()); ++row) {
        const LessonEntry& e = lessons[size_t(row)];
        auto* number = new QTableWidgetItem(QString::number(e.number));
        number->setData(Qt::UserRole, e.preset);
        number->setTextAlignment(Qt::AlignRight | Qt::AlignTop);
        table_->setItem(row, 0, number);
        auto* title = new QTableWidgetItem(e.title);
        title->setToolTip(e.preset);
        table_->setItem(row, 1, title);
        auto* line = new QTableWidgetItem(e.line);
        line->setToolTip(e.line);
        table_->setItem(row, 2, line);
        // At lecture speed a lesson lasts about LessonPacer::kLectureSeconds, stops aside.
        table_->setItem(
            row, 3,
            new QTableWidgetItem(
                e.steps > 0 ? tr("%1 steps, ~%2 min").arg(e.steps).arg(LessonPacer::kLectureSeconds / 60.0, 0, 'g', 2)
                            : tr("at your pace (no script)")));
    }
    QHeaderView* h = table_->horizontalHeader();
    h->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    h->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    h->setSectionResizeMode(2, QHeaderView::Stretch);
    h->setSectionResizeMode(3, QHeaderView::ResizeToContents);
    table_->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    if (table_->rowCount() > 0) table_->selectRow(0);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    QPushButton* start = buttons->addButton(tr("&Start lesson"), QDialogButtonBox::AcceptRole);
    start->setDefault(true);
    auto choose = [this] {
        const int row = table_->currentRow();
        if (row < 0) return;
        const QString preset = table_->item(row, 0)->data(Qt::UserRole).toString();
        accept();
        emit lessonChosen(preset);
    };
    connect(start, &QPushButton::clicked, this, choose);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(table_, &QTableWidget::cellDoubleClicked, this, choose);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("Each lesson plays a scripted story with a guided text, and pauses before "
                                    "each scripted change (Script stops). Double-click one to start it."),
                                 this));
    layout->addWidget(table_);
    layout->addWidget(buttons);
    resize(900, 560);
}
