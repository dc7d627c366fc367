#include "window/sweep_window.hpp"

#include <qcustomplot.h>
#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QThread>
#include <QVBoxLayout>

#include <cmath>
#include <cstdio>
#include <tuple>

#include "error.hpp"
#include "io/sweep_file.hpp"
#include "plots/phase_map.hpp"
#include "plots/plot_export.hpp"
#include "run/sweep_worker.hpp"
#include "theme.hpp"
#include "train/knobs.hpp"
#include "window/cluster_export_dialog.hpp"

using namespace moescope;

namespace {

QString text_of(std::string_view s) { return QString::fromUtf8(s.data(), int(s.size())); }

double parse_field(const QLineEdit* edit, const QString& what) {
    bool ok = false;
    const double v = edit->text().trimmed().toDouble(&ok);
    if (!ok) throw ConfigError(what.toStdString() + ": '" + edit->text().toStdString() + "' is not a number");
    return v;
}

QString duration(double s) {
    if (s < 0) return QStringLiteral("?");
    const long t = std::lround(s);
    return t >= 60 ? QStringLiteral("%1 min %2 s").arg(t / 60).arg(t % 60, 2, 10, QLatin1Char('0'))
                   : QStringLiteral("%1 s").arg(t);
}

}  // namespace

SweepWindow::SweepWindow(const Config& base, QWidget* parent)
    : QWidget(parent, Qt::Window), base_(base), map_(new PhaseMap), worker_(new SweepWorker(this)) {
    setWindowTitle(tr("moescope — phase diagram"));
    auto* form = new QVBoxLayout;
    form->addWidget(buildAxis(x_, tr("x axis")));
    form->addWidget(buildAxis(y_, tr("y axis")));

    auto* runBox = new QGroupBox(tr("Runs"));
    auto* runForm = new QFormLayout(runBox);
    steps_ = new QSpinBox;
    steps_->setRange(1, 1000000);
    steps_->setValue(600);
    steps_->setToolTip(tr("Training steps per run. Lesson scripts are off during sweeps."));
    seeds_ = new QSpinBox;
    seeds_->setRange(1, 64);
    seeds_->setValue(3);  // one seed's map is a coin flip near the boundary
    seeds_->setToolTip(
        tr("Runs per cell with seeds base, base+1, …: cells show their median, a circle marks a cell whose seeds "
           "disagree about collapse, and the tooltip shows the spread."));
    threads_ = new QSpinBox;
    threads_->setRange(1, std::max(1, QThread::idealThreadCount()));
    threads_->setValue(threads_->maximum());
    threads_->setToolTip(tr("Cells trained at once, one core each."));
    runForm->addRow(tr("Steps"), steps_);
    runForm->addRow(tr("Seeds"), seeds_);
    runForm->addRow(tr("Threads"), threads_);
    form->addWidget(runBox);

    measure_ = new QComboBox;
    for (const auto& m : sweep_measures()) measure_->addItem(text_of(m.label), text_of(m.name));
    auto* measureRow = new QFormLayout;
    measureRow->addRow(tr("Colour"), measure_);
    form->addLayout(measureRow);

    start_ = new QPushButton(tr("Start"));
    cancel_ = new QPushButton(tr("Cancel"));
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(start_);
    buttons->addWidget(cancel_);
    form->addLayout(buttons);
    progress_ = new QProgressBar;
    progress_->setRange(0, 1);
    progress_->setValue(0);
    form->addWidget(progress_);
    status_ = new QLabel;
    status_->setWordWrap(true);
    form->addWidget(status_);

    auto* save = new QPushButton(tr("Save sweep…"));
    auto* open = new QPushButton(tr("Open sweep…"));
    auto* exportMap = new QPushButton(tr("Export map…"));
    auto* exportCells = new QPushButton(tr("Export cells…"));
    auto* exportCluster = new QPushButton(tr("Export for a cluster…"));
    exportCluster->setToolTip(
        tr("Write this sweep as a Slurm job array (one task per cell × seed) into a folder, to run with sbatch and "
           "merge with moescope-cli sweep --merge; Open sweep… shows the merged map."));
    auto* files = new QGridLayout;
    files->addWidget(save, 0, 0);
    files->addWidget(open, 0, 1);
    files->addWidget(exportMap, 1, 0);
    files->addWidget(exportCells, 1, 1);
    files->addWidget(exportCluster, 2, 0, 1, 2);
    form->addLayout(files);
    form->addStretch(1);

    auto* side = new QWidget;
    side->setLayout(form);
    side->setFixedWidth(300);
    auto* layout = new QHBoxLayout(this);
    layout->addWidget(side);
    layout->addWidget(map_, 1);

    connect(start_, &QPushButton::clicked, this, &SweepWindow::start);
    connect(cancel_, &QPushButton::clicked, this, &SweepWindow::cancel);
    connect(measure_, &QComboBox::currentIndexChanged, map_, &PhaseMap::setMeasure);
    connect(map_, &PhaseMap::openRun, this, &SweepWindow::openRun);
    connect(worker_, &SweepWorker::cellFinished, map_, &PhaseMap::addCell);
    connect(worker_, &SweepWorker::progressed, this, [this](const SweepProgress& p) {
        progress_->setRange(0, int(p.runs));
        progress_->setValue(int(p.runs_done));
        setStatus(tr("%1 of %2 cells, %3 of %4 runs; %5 elapsed, about %6 left")
                      .arg(p.cells_done)
                      .arg(p.cells)
                      .arg(p.runs_done)
                      .arg(p.runs)
                      .arg(duration(p.elapsed_s), duration(p.eta_s)));
    });
    connect(worker_, &SweepWorker::finished, this, &SweepWindow::onFinished);
    connect(worker_, &SweepWorker::failed, this, [this](const QString& message) {
        setRunningUi(false);
        setStatus(tr("Sweep failed: %1").arg(message), true);
    });
    connect(save, &QPushButton::clicked, this, [this] {
        QString path = QFileDialog::getSaveFileName(this, tr("Save sweep"), QStringLiteral("sweep.moesweep"),
                                                    tr("Sweeps (*.moesweep)"));
        if (path.isEmpty()) return;
        if (QFileInfo(path).suffix().isEmpty()) path += QStringLiteral(".moesweep");
        saveSweep(path);
    });
    connect(open, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Open sweep"), {}, tr("Sweeps (*.moesweep)"));
        if (!path.isEmpty()) openSweep(path);
    });
    connect(exportMap, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export map"), QStringLiteral("phase.png"),
                                                          tr("Images (*.png *.svg *.pdf)"));
        if (!path.isEmpty()) this->exportMap(path);
    });
    connect(exportCells, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export cells"), QStringLiteral("phase.csv"),
                                                          tr("Tables (*.csv *.jsonl)"));
        if (!path.isEmpty()) this->exportCells(path);
    });
    connect(exportCluster, &QPushButton::clicked, this, &SweepWindow::exportForCluster);

    // The lesson 11 sweep by default: balancing weight against router speed.
    for (auto [f, name, lo, hi] :
         {std::tuple{&x_, "aux_weight", "0.001", "1"}, std::tuple{&y_, "router_lr", "0.001", "0.3"}}) {
        const QSignalBlocker block(f->knob);
        f->knob->setCurrentIndex(f->knob->findText(QLatin1String(name)));
        onKnobChosen(*f);
        f->lo->setText(QLatin1String(lo));
        f->hi->setText(QLatin1String(hi));
    }
    setRunningUi(false);
    map_->setSpec(spec());
    updateCurrent();
    setStatus(tr("Pick two knobs and press Start. Lesson scripts are off during sweeps."));
    resize(1150, 720);
}

SweepWindow::~SweepWindow() = default;  // the worker (a child) cancels and joins

QWidget* SweepWindow::buildAxis(AxisFields& f, const QString& title) {
    auto* box = new QGroupBox(title);
    auto* grid = new QFormLayout(box);
    f.knob = new QComboBox;
    for (const auto& k : knob_table())
        if (k.kind == KnobKind::Live && !k.is_text() && k.section == "train") {
            f.knob->addItem(text_of(k.name));
            f.knob->setItemData(f.knob->count() - 1, text_of(k.help), Qt::ToolTipRole);
        }
    f.lo = new QLineEdit;
    f.hi = new QLineEdit;
    f.n = new QSpinBox;
    f.n->setRange(1, 64);
    f.n->setValue(7);
    f.log = new QCheckBox(tr("log spacing"));
    auto* range = new QHBoxLayout;
    range->addWidget(f.lo);
    range->addWidget(new QLabel(QStringLiteral("…")));
    range->addWidget(f.hi);
    grid->addRow(tr("Knob"), f.knob);
    grid->addRow(tr("Range"), range);
    grid->addRow(tr("Points"), f.n);
    grid->addRow(QString(), f.log);
    connect(f.knob, &QComboBox::currentIndexChanged, this, [this, &f] { onKnobChosen(f); });
    return box;
}

// A new knob gets its whole range, spaced in log when its slider is.
void SweepWindow::onKnobChosen(AxisFields& f) {
    const KnobDef* k = find_knob(f.knob->currentText().toStdString());
    if (!k) return;
    const double lo = k->log_scale && k->min <= 0 ? std::max(k->max * 1e-3, 1e-4) : k->min;
    f.lo->setText(QString::number(lo, 'g', 6));
    f.hi->setText(QString::number(k->max, 'g', 6));
    f.log->setChecked(k->log_scale);
    updateCurrent();
}

SweepSpec SweepWindow::spec() const {
    auto axis = [](const AxisFields& f, const QString& which) {
        SweepAxis a;
        a.knob = f.knob->currentText().toStdString();
        a.lo = parse_field(f.lo, which + tr(" from"));
        a.hi = parse_field(f.hi, which + tr(" to"));
        a.n = f.n->value();
        a.log = f.log->isChecked();
        return a;
    };
    return make_sweep_spec(base_, axis(x_, tr("x")), axis(y_, tr("y")), steps_->value(), seeds_->value());
}

void SweepWindow::setSpecFields(const SweepSpec& s) {
    for (auto [f, a] : {std::pair{&x_, &s.x}, std::pair{&y_, &s.y}}) {
        const QSignalBlocker block(f->knob);
        f->knob->setCurrentIndex(f->knob->findText(QString::fromStdString(a->knob)));
        f->lo->setText(QString::number(a->lo, 'g', QLocale::FloatingPointShortest));
        f->hi->setText(QString::number(a->hi, 'g', QLocale::FloatingPointShortest));
        f->n->setValue(a->n);
        f->log->setChecked(a->log);
    }
    steps_->setValue(int(std::min<long>(s.steps, steps_->maximum())));
    seeds_->setValue(s.seeds);
}

void SweepWindow::setBase(const Config& base) {
    base_ = base;
    updateCurrent();
}

void SweepWindow::updateCurrent() {
    const KnobDef* kx = find_knob(x_.knob->currentText().toStdString());
    const KnobDef* ky = find_knob(y_.knob->currentText().toStdString());
    const SweepSpec& shown = map_->result().spec;
    // The star marks the main run's values of the knobs the map shows.
    const KnobDef* sx = find_knob(shown.x.knob);
    const KnobDef* sy = find_knob(shown.y.knob);
    if (sx && sy)
        map_->setCurrent(sx->get_number(base_), sy->get_number(base_));
    else if (kx && ky)
        map_->setCurrent(kx->get_number(base_), ky->get_number(base_));
}

void SweepWindow::showResult(const SweepResult& result) {
    setSpecFields(result.spec);
    map_->setResult(result);
    updateCurrent();
    progress_->setRange(0, int(result.spec.cells()));
    progress_->setValue(int(result.cells.size()));
}

bool SweepWindow::formSpec(SweepSpec& out) {
    try {
        out = spec();
        out.validate();
        return true;
    } catch (const Error& e) {
        setStatus(QString::fromUtf8(e.what()), true);
        return false;
    }
}

bool SweepWindow::start() {
    if (isRunning()) return false;
    SweepSpec s;
    if (!formSpec(s)) return false;
    setWindowTitle(tr("moescope — phase diagram"));
    map_->setSpec(s);
    updateCurrent();
    progress_->setRange(0, int(s.runs()));
    progress_->setValue(0);
    worker_->start(s, threads_->value());
    setRunningUi(true);
    setStatus(tr("Running %1 cells × %2 seeds on %3 threads…").arg(s.cells()).arg(s.seeds).arg(threads_->value()));
    return true;
}

void SweepWindow::cancel() {
    if (!isRunning()) return;
    worker_->cancel();
    setStatus(tr("Cancelling: finished cells are kept…"));
}

bool SweepWindow::isRunning() const { return worker_->isRunning(); }

void SweepWindow::onFinished(const SweepResult& result, bool cancelled) {
    map_->setResult(result);
    setRunningUi(false);
    int collapsed = 0;
    for (const SweepCell& c : result.cells) collapsed += sweep_cell_collapsed(c, result.spec.base);
    setStatus((cancelled ? tr("Cancelled: kept %1 of %2 cells; ") : tr("Done: %1 of %2 cells; "))
                  .arg(result.cells.size())
                  .arg(result.spec.cells()) +
              tr("%1 collapsed. Click a cell to open its run.").arg(collapsed));
    emit sweepFinished(cancelled);
}

bool SweepWindow::saveSweep(const QString& path) {
    try {
        save_sweep(map_->result(), path.toStdString());
        setStatus(tr("Saved %1").arg(path));
        return true;
    } catch (const Error& e) {
        setStatus(QString::fromUtf8(e.what()), true);
        return false;
    }
}

bool SweepWindow::exportMap(const QString& path) {
    QString why;
    if (!exportPlot(map_->customPlot(), path, &why)) {
        setStatus(why, true);
        return false;
    }
    setStatus(tr("Wrote %1").arg(path));
    return true;
}

bool SweepWindow::exportCells(const QString& path) {
    QString why;
    if (!map_->exportCells(path, &why)) {
        setStatus(why, true);
        return false;
    }
    setStatus(tr("Wrote %1").arg(path));
    return true;
}

bool SweepWindow::openSweep(const QString& path) {
    if (isRunning()) return false;
    try {
        const SweepResult result = load_sweep(path.toStdString());
        showResult(result);
        const QString counts = tr("%1 of %2 cells").arg(result.cells.size()).arg(result.spec.cells());
        setWindowTitle(tr("%1 (%2) — moescope phase diagram").arg(QFileInfo(path).fileName(), counts));
        setStatus(result.complete()
                      ? tr("Opened %1: %2.").arg(path, counts)
                      : tr("Opened %1: %2; the %3 hatched cells are not run yet (missing from the merge, or the "
                           "sweep was cancelled).")
                            .arg(path, counts)
                            .arg(result.spec.cells() - long(result.cells.size())));
        return true;
    } catch (const Error& e) {
        setStatus(QString::fromUtf8(e.what()), true);
        return false;
    }
}

// The tasks run the moescope-cli next to this window: a cluster's nodes must see it at that path.
ClusterExportDialog* SweepWindow::exportForCluster() {
    SweepSpec s;
    if (!formSpec(s)) return nullptr;
    auto* dialog =
        new ClusterExportDialog(s, QCoreApplication::applicationDirPath() + QStringLiteral("/moescope-cli"), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    if (slurm_) dialog->setOptions(*slurm_);
    connect(dialog, &ClusterExportDialog::exported, this,
            [this](const QString& dir, const QString& script, const SlurmOptions& o) {
                slurm_ = o;
                showClusterCommands(dir, script);
            });
    dialog->open();
    return dialog;
}

void SweepWindow::showClusterCommands(const QString& dir, const QString& script) {
    const QString cli = QCoreApplication::applicationDirPath() + QStringLiteral("/moescope-cli");
    setStatus(tr("Wrote %1: submit it with sbatch %2").arg(dir, script));
    const auto pre = [](const QString& command) {
        return QStringLiteral("<pre>%1</pre>").arg(command.toHtmlEscaped());
    };
    auto* box = new QMessageBox(
        QMessageBox::Information, tr("Export for a cluster"),
        tr("<p>Wrote the sweep and its job array into %1.</p><p>Submit it on the cluster:</p>%2"
           "<p>Merge what has finished (any time, also while it runs):</p>%3"
           "<p>Open the merged map here with <i>Open sweep…</i>: cells not run yet are hatched.<br>%4</p>")
            .arg(dir.toHtmlEscaped(), pre(QStringLiteral("sbatch ") + script),
                 pre(QStringLiteral("moescope-cli sweep --merge %1 --out map.moesweep").arg(dir)),
                 (QFileInfo::exists(cli) ? tr("Each task runs %1, which the cluster's nodes must see at that path "
                                              "(edit the script's last line if not).")
                                         : tr("Each task runs %1, which is not on this machine: edit the script's "
                                              "last line to the cluster's moescope-cli."))
                     .arg(cli.toHtmlEscaped())),
        QMessageBox::Ok, this);
    box->setTextFormat(Qt::RichText);
    box->setTextInteractionFlags(Qt::TextSelectableByMouse);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
    cluster_message_ = box;
}

QString SweepWindow::status() const { return status_->text(); }

void SweepWindow::setStatus(const QString& text, bool error) {
    status_->setText(text);
    status_->setStyleSheet(error ? QStringLiteral("color: %1").arg(theme::kCritical.name()) : QString());
}

void SweepWindow::setRunningUi(bool running) {
    start_->setEnabled(!running);
    cancel_->setEnabled(running);
    for (QWidget* w : {static_cast<QWidget*>(x_.knob), static_cast<QWidget*>(y_.knob)}) w->setEnabled(!running);
}

int renderSweepPng(const QString& sweepPath, const QString& pngPath) {
    PhaseMap map;
    try {
        map.setResult(load_sweep(sweepPath.toStdString()));
    } catch (const Error& e) {
        std::fprintf(stderr, "moescope: error: %s\n", e.what());
        return 2;
    }
    map.setAttribute(Qt::WA_DontShowOnScreen);
    map.resize(900, 700);
    map.show();
    map.customPlot()->replot();
    QString why;
    if (!exportPlot(map.customPlot(), pngPath, &why)) {
        std::fprintf(stderr, "moescope: error: %s\n", qUtf8Printable(why));
        return 2;
    }
    return 0;
}
