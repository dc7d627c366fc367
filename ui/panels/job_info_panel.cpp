#include "panels/job_info_panel.hpp"

#include <QDir>
#include <QFormLayout>
#include <QLabel>
#include <QLocale>
#include <QVBoxLayout>

using namespace moescope;

namespace {
QString qs(const std::string& s) { return QString::fromStdString(s); }
QString or_unknown(const std::string& s, const QString& unknown) { return s.empty() ? unknown : qs(s); }
QString count(long n) { return QLocale::c().toString(qlonglong(n)).replace(QLatin1Char(','), QChar(0x202F)); }
}  // namespace

JobInfoPanel::JobInfoPanel(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    note_ = new QLabel;
    note_->setWordWrap(true);
    layout->addWidget(note_);
    form_ = new QFormLayout;
    form_->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    layout->addLayout(form_);
    addField(tr("Path"), tr("The router log file, or the directory of rank files, being read"));
    addField(tr("Format"), tr("Detected from the lines' content (docs/formats/routerlog.md)"));
    addField(tr("Framework"), tr("Whose flags the warnings' remedies name: from the log's header, or Megatron-LM "
                                 "for its tokens-per-expert log"));
    addField(tr("Model"), tr("As the log's header names it"));
    addField(tr("Layers"), tr("MoE layers seen in one step"));
    addField(tr("Experts"), tr("Experts per layer, after merging the ranks"));
    addField(tr("Top-k"), tr("Experts per token, from the log's header; without it loads are shares of all "
                             "assignments"));
    addField(tr("EP size"), tr("Expert-parallel size: ranks r and r' hold the same experts when r % EP == r' % EP "
                               "(summed); otherwise their experts are concatenated. `moescope watch PATH --ep N`"));
    addField(tr("Ranks"), tr("Log files read (one per rank for a directory)"));
    addField(tr("Last step"), tr("The newest step complete on every rank"));
    addField(tr("Records/s"), tr("Lines (one step of one layer on one rank) read per second, over the last second"));
    addField(tr("Records"), tr("Lines read so far"));
    addField(tr("Bad lines skipped"), tr("Lines that are not records (reported with their line number) and steps "
                                         "whose ranks do not add up"));
    problem_ = new QLabel;
    problem_->setWordWrap(true);
    problem_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(problem_);
    layout->addStretch(1);
    setJob(JobInfo{}, true);
}

QLabel* JobInfoPanel::addField(const QString& name, const QString& tooltip) {
    auto* label = new QLabel;
    label->setWordWrap(true);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    label->setToolTip(tooltip);
    form_->addRow(name + QLatin1Char(':'), label);
    fields_[name] = label;
    return label;
}

void JobInfoPanel::setJob(const JobInfo& job, bool live) {
    note_->setText(live ? tr("<b>Watching a job</b> (read-only). Its router statistics fill the plots as the log "
                             "grows; warnings name the job's own flags. Save keeps the history (no weights).")
                        : tr("<b>A watched job's saved history</b> (read-only): compare it with a run through "
                             "File → Compare with snapshot."));
    const QString unknown = tr("not stated");
    const QString waiting = job.records == 0 && live ? tr("waiting for the first step…") : unknown;
    auto set = [this](const QString& field, const QString& v) { fields_.at(field)->setText(v); };
    set(tr("Path"), QDir::toNativeSeparators(qs(job.source)));
    set(tr("Format"), or_unknown(job.format, waiting));
    set(tr("Framework"), or_unknown(job.framework, unknown));
    set(tr("Model"), or_unknown(job.model, unknown));
    set(tr("Layers"), job.layers > 0 ? QString::number(job.layers) : waiting);
    set(tr("Experts"), job.experts > 0 ? QString::number(job.experts) : waiting);
    set(tr("Top-k"), job.top_k > 0 ? QString::number(job.top_k) : unknown);
    set(tr("EP size"), job.ep > 0 ? QString::number(job.ep) : tr("1 (not stated)"));
    set(tr("Ranks"), QString::number(job.ranks));
    set(tr("Last step"), job.last_step >= 0 ? QString::number(job.last_step) : tr("none yet"));
    set(tr("Records/s"), live ? QString::number(job.records_per_s, 'f', 0) : tr("(saved)"));
    set(tr("Records"), count(job.records));
    set(tr("Bad lines skipped"), count(job.bad_lines));
    if (job.records == 0 && job.bad_lines == 0) problem_->clear();
}

void JobInfoPanel::setProblem(const QString& message) { problem_->setText(tr("Latest problem: %1").arg(message)); }

QString JobInfoPanel::value(const QString& field) const {
    const auto it = fields_.find(field);
    return it == fields_.end() ? QString() : it->second->text();
}

QString JobInfoPanel::problem() const { return problem_->text(); }
