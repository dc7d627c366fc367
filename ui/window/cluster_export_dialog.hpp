#pragma once
// "Export for a cluster…" in the sweep window: the sweep on the form handed to
// Slurm as a job array, as `moescope-cli sweep ... --emit slurm DIR` does
// (docs/sweep.md, "On a cluster"). The dialog asks for the folder and what
// each array task asks of Slurm; Write calls emit_slurm_sweep. A refusal (a
// folder holding another sweep, a path an sbatch script cannot carry, a bad
// option) shows the project's message in the dialog, which stays open.
#include <QDialog>

#include "io/sweep_cluster.hpp"
#include "train/sweep.hpp"

class QLabel;
class QLineEdit;
class QSpinBox;

class ClusterExportDialog : public QDialog {
    Q_OBJECT
public:
    // `cli`: the moescope-cli each task runs (absolute path).
    ClusterExportDialog(const moescope::SweepSpec& spec, const QString& cli, QWidget* parent = nullptr);

    QString folder() const;
    moescope::SlurmOptions options() const;            // the form's options, cli included
    void setOptions(const moescope::SlurmOptions& o);  // all but cli (the dialog's own)
    QString error() const;                             // the last refusal's message; empty after a write

    void accept() override;  // writes the folder; stays open with the message when refused

signals:
    // The sweep was written with `options`: DIR/sweep.moesweep and `script` (DIR/sweep.sbatch).
    void exported(const QString& dir, const QString& script, const moescope::SlurmOptions& options);

private:
    moescope::SweepSpec spec_;
    QString cli_;
    QLineEdit *folder_, *partition_, *time_, *mem_, *gres_, *account_;
    QSpinBox *cpus_, *parallel_;
    QLabel* error_;
};
