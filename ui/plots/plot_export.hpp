#pragma once
// Saving a plot as PNG, PDF or SVG: from a right-click menu on any plot, or
// directly (tests, report export).
#include <QString>

class QCustomPlot;
class QPixmap;

// Adds "Export PNG… / PDF… / SVG…" to the plot's right-click menu; `basename`
// is the suggested file name without extension.
void installExportMenu(QCustomPlot* plot, const QString& basename);

// Writes the plot at its current size; the format follows the extension
// (.png, .pdf, .svg, case-insensitive). The image is made in memory and saved
// by the core's write_file_atomically (io/atomic_file.hpp): a symlink, FIFO or
// device at `path` is refused, never written through. False on an unknown
// extension or a write error, with the reason in `why` when given.
bool exportPlot(QCustomPlot* plot, const QString& path, QString* why = nullptr);

// Saves `image` (a screenshot) as PNG at `path` the same way.
bool savePixmapFile(const QPixmap& image, const QString& path, QString* why = nullptr);
