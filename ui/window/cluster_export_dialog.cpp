#include "window/cluster_export_dialog.hpp"

#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include "error.hpp"
#include "theme.hpp"

using namespace moescope;

namespace {

QLineEdit* line_edit(const char* name, const QString& placeholder, const QString& tip) {
    auto* e = new QLineEdit;
    e->setObjectName(QLatin1String(name));
    e->setPlaceholderText(placeholder);
    e->setToolTip(tip);
    return e;
}

}  // namespace

ClusterExportDialog::ClusterExportDialog(const SweepSpec& spec, const QString& cli, QWidget* parent)
    : QDialog(parent), spec_(spec), cli_(cli) {
    setWindowTitle(tr("Export for a cluster"));
    const SlurmOptions defaults;
    auto* intro = new QLabel(tr("One Slurm array task per cell × seed: %1 cells × %2 seeds = %3 tasks of %4 steps. "
                                "The folder must be one the cluster's nodes see (a shared disk).")
                                 .arg(spec.cells())
                                 .arg(spec.seeds)
                                 .arg(spec.runs())
                                 .arg(spec.steps));
    intro->setWordWrap(true);

    folder_ = line_edit("folder", tr("a new, empty folder"),
                        tr("Where the sweep's definition, the sbatch script and the tasks' results go. Empty or new, "
                           "or the folder of this same sweep (its finished cells are kept)."));
    auto* browse = new QPushButton(tr("Browse…"));
    auto* folderRow = new QHBoxLayout;
    folderRow->addWidget(folder_, 1);
    folderRow->addWidget(browse);
    partition_ = line_edit("partition", tr("the cluster's default"), tr("sbatch --partition"));
    time_ = line_edit("time", QString(), tr("sbatch --time: the limit per task, such as 1:00:00 or 2-00:00:00"));
    time_->setText(QString::fromStdString(defaults.time));
    cpus_ = new QSpinBox;
    cpus_->setObjectName(QStringLiteral("cpus"));
    cpus_->setRange(1, 4096);
    cpus_->setValue(defaults.cpus_per_task);
    cpus_->setToolTip(tr("sbatch --cpus-per-task. Each run trains on one thread, as in a local sweep."));
    mem_ = line_edit("mem", tr("the cluster's default, e.g. 2G"), tr("sbatch --mem per task"));
    gres_ = line_edit("gres", tr("none, e.g. gpu:1"),
                      tr("sbatch --gres. With a GPU the tasks train with --backend auto (the CUDA engine when built "
                         "and a device is free)."));
    account_ = line_edit("account", tr("none"), tr("sbatch --account"));
    parallel_ = new QSpinBox;
    parallel_->setObjectName(QStringLiteral("parallel"));
    parallel_->setRange(0, 1'000'000);
    parallel_->setValue(defaults.parallel);
    parallel_->setSpecialValueText(tr("no limit"));
    parallel_->setToolTip(tr("At most this many tasks at once (--array=…%P)."));

    auto* form = new QFormLayout;
    form->addRow(tr("Folder"), folderRow);
    form->addRow(tr("Partition"), partition_);
    form->addRow(tr("Time per task"), time_);
    form->addRow(tr("CPUs per task"), cpus_);
    form->addRow(tr("Memory per task"), mem_);
    form->addRow(tr("GRES"), gres_);
    form->addRow(tr("Account"), account_);
    form->addRow(tr("At most at once"), parallel_);

    error_ = new QLabel;
    error_->setObjectName(QStringLiteral("error"));
    error_->setWordWrap(true);
    error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    error_->setStyleSheet(QStringLiteral("color: %1").arg(theme::kCritical.name()));
    error_->hide();

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Cancel);
    buttons->addButton(tr("Write"), QDialogButtonBox::AcceptRole)->setDefault(true);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addLayout(form);
    layout->addWidget(error_);
    layout->addWidget(buttons);
    setMinimumWidth(520);

    connect(buttons, &QDialogButtonBox::accepted, this, &ClusterExportDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &ClusterExportDialog::reject);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Sweep folder"), folder_->text());
        if (!dir.isEmpty()) folder_->setText(QDir::toNativeSeparators(dir));
    });
}

QString ClusterExportDialog::folder() const { return folder_->text().trimmed(); }

SlurmOptions ClusterExportDialog::options() const {
    SlurmOptions o;
    o.partition = partition_->text().trimmed().toStdString();
    o.time = time_->text().trimmed().toStdString();
    o.cpus_per_task = cpus_->value();
    o.mem = mem_->text().trimmed().toStdString();
    o.gres = gres_->text().trimmed().toStdString();
    o.account = account_->text().trimmed().toStdString();
    o.parallel = parallel_->value();
    o.cli = cli_.toStdString();
    return o;
}

void ClusterExportDialog::setOptions(const SlurmOptions& o) {
    partition_->setText(QString::fromStdString(o.partition));
    time_->setText(QString::fromStdString(o.time));
    cpus_->setValue(o.cpus_per_task);
    mem_->setText(QString::fromStdString(o.mem));
    gres_->setText(QString::fromStdString(o.gres));
    account_->setText(QString::fromStdString(o.account));
    parallel_->setValue(o.parallel);
}

QString ClusterExportDialog::error() const { return error_->text(); }

void ClusterExportDialog::accept() {
    std::string script;
    try {
        if (folder().isEmpty()) throw ConfigError("choose a folder for the sweep (a new, empty one)");
        script = emit_slurm_sweep(spec_, options(), folder().toStdString());
    } catch (const Error& e) {
        error_->setText(QString::fromUtf8(e.what()));
        error_->show();
        return;
    }
    error_->clear();
    error_->hide();
    const QString path = QString::fromStdString(script);
    emit exported(QFileInfo(path).absolutePath(), path, options());
    QDialog::accept();
}
