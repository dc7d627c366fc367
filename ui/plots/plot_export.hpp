#pragma once
// Saving a plot as PNG, PDF or SVG: from a right-click menu on any plot, or
// directly (tests, report export).
#include <QString>

class QCustomPlot;

// Adds "Export PNG… / PDF… / SVG…" to the plot's right-click menu; `basename`
// is the suggested file name without extension.
void installExportMenu(QCustomPlot* plot, const QString& basename);

// Writes the plot at its current size; the format follows the extension
// (.png, .pdf, .svg, case-insensitive). False on an unknown extension or a write error.
bool exportPlot(QCustomPlot* plot, const QString& path);
