#pragma once
// The sweep window: a separate top-level window that maps where routing
// collapses over two knobs. Pick two numeric live knobs, their ranges, points
// and log spacing, steps and seeds; Start runs every cell on all cores in the
// background (SweepWorker) while the phase map fills cell by cell; Cancel keeps
// the finished cells. Save/Open .moesweep files, export the map (PNG/SVG/PDF)
// or the cells (CSV/JSONL); "Export for a cluster…" writes the sweep as a Slurm
// job array (ClusterExportDialog). A sweep opened without all its cells (a
// partial cluster merge) shows the missing ones hatched and says how many are
// in. Clicking a cell emits openRun with its config.
#include <QPointer>
#include <QWidget>

#include <optional>

#include "io/sweep_cluster.hpp"
#include "run/metrics_frame.hpp"  // Config metatype
#include "train/sweep.hpp"

class ClusterExportDialog;
class PhaseMap;
class QMessageBox;
class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class SweepWorker;

class SweepWindow : public QWidget {
    Q_OBJECT
public:
    // `base` is the run the sweep starts from (its lesson script is dropped).
    explicit SweepWindow(const moescope::Config& base, QWidget* parent = nullptr);
    ~SweepWindow() override;

    // The form's spec; throws ConfigError naming the bad field.
    moescope::SweepSpec spec() const;
    void setSpecFields(const moescope::SweepSpec& spec);
    // Base config for the next sweep and the star on the map (the run in the main window).
    void setBase(const moescope::Config& base);
    void showResult(const moescope::SweepResult& result);  // a finished or loaded sweep

    bool start();  // false (and a message in the status line) on a bad form
    void cancel();
    bool isRunning() const;
    bool saveSweep(const QString& path);  // false and a status message on error
    bool openSweep(const QString& path);
    // "Export for a cluster…": opens the dialog (not modal) for the form's sweep, or returns
    // nullptr with the form's error in the status line.
    ClusterExportDialog* exportForCluster();
    // What the last export said: the commands that submit and merge it (selectable), for tests.
    QMessageBox* clusterMessage() const { return cluster_message_; }
    // The map as an image (.png, .svg, .pdf) and its cells as a table (.csv,
    // .jsonl): false and the writer's message (file and reason) in the status line.
    bool exportMap(const QString& path);
    bool exportCells(const QString& path);
    PhaseMap* map() const { return map_; }
    QString status() const;

signals:
    void openRun(const moescope::Config& cfg);
    void sweepFinished(bool cancelled);

private:
    struct AxisFields {
        QComboBox* knob;
        QLineEdit *lo, *hi;
        QSpinBox* n;
        QCheckBox* log;
    };
    QWidget* buildAxis(AxisFields& f, const QString& title);
    void onKnobChosen(AxisFields& f);
    void onFinished(const moescope::SweepResult& result, bool cancelled);
    bool formSpec(moescope::SweepSpec& out);  // spec() checked; false and the error in the status line
    void showClusterCommands(const QString& dir, const QString& script);
    void updateCurrent();
    void setStatus(const QString& text, bool error = false);
    void setRunningUi(bool running);

    moescope::Config base_;
    AxisFields x_{}, y_{};
    QSpinBox *steps_, *seeds_, *threads_;
    QComboBox* measure_;
    QPushButton *start_, *cancel_;
    QProgressBar* progress_;
    QLabel* status_;
    PhaseMap* map_;
    SweepWorker* worker_;
    QPointer<QMessageBox> cluster_message_;
    std::optional<moescope::SlurmOptions> slurm_;  // the last export's, offered again
};

// `moescope --sweep-png FILE.moesweep OUT.png`: draws the saved sweep's phase
// map (load entropy) to a PNG without showing a window. Returns the exit
// status: 0, or 2 after one line on stderr.
int renderSweepPng(const QString& sweepPath, const QString& pngPath);
