#include "plots/plot_export.hpp"

#include <qcustomplot.h>
#include <QBuffer>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QRegularExpression>

namespace {

// Qt6::Svg (QSvgGenerator) is not a dependency, so an SVG export is a minimal
// SVG document holding the plot as an embedded 2× PNG: a valid, scalable
// container that drops into slides and web pages, though not vector drawing.
bool saveSvg(QCustomPlot* plot, const QString& path) {
    const int w = plot->width(), h = plot->height();
    const QPixmap pixmap = plot->toPixmap(w, h, 2.0);
    if (pixmap.isNull()) return false;
    QByteArray png;
    QBuffer buffer(&png);
    buffer.open(QIODevice::WriteOnly);
    if (!pixmap.save(&buffer, "PNG")) return false;

    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) return false;
    const QByteArray size = QStringLiteral("width=\"%1\" height=\"%2\"").arg(w).arg(h).toUtf8();
    QByteArray svg;
    svg += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" " + size +
           " viewBox=\"0 0 " + QByteArray::number(w) + " " + QByteArray::number(h) + "\">\n";
    svg += "<image x=\"0\" y=\"0\" " + size + " xlink:href=\"data:image/png;base64,";
    svg += png.toBase64();
    svg += "\"/>\n</svg>\n";
    return file.write(svg) == svg.size() && file.flush();
}

QString fileStem(const QString& basename) {
    QString stem = basename.toLower();
    stem.replace(QRegularExpression(QStringLiteral("[^a-z0-9]+")), QStringLiteral("_"));
    stem.remove(QRegularExpression(QStringLiteral("^_+|_+$")));
    return stem.isEmpty() ? QStringLiteral("plot") : stem;
}

}  // namespace

bool exportPlot(QCustomPlot* plot, const QString& path) {
    if (!plot) return false;
    const QString ext = QFileInfo(path).suffix().toLower();
    if (ext == QLatin1String("png")) return plot->savePng(path, 0, 0, 2.0);
    if (ext == QLatin1String("pdf")) return plot->savePdf(path);
    if (ext == QLatin1String("svg")) return saveSvg(plot, path);
    return false;
}

void installExportMenu(QCustomPlot* plot, const QString& basename) {
    plot->setContextMenuPolicy(Qt::CustomContextMenu);
    const QString stem = fileStem(basename);
    QObject::connect(plot, &QWidget::customContextMenuRequested, plot, [plot, stem](const QPoint& pos) {
        QMenu menu(plot);
        struct Format {
            QString label, ext, filter;
        };
        const Format formats[] = {
            {QObject::tr("Export PNG…"), QStringLiteral("png"), QObject::tr("PNG image (*.png)")},
            {QObject::tr("Export PDF…"), QStringLiteral("pdf"), QObject::tr("PDF document (*.pdf)")},
            {QObject::tr("Export SVG…"), QStringLiteral("svg"), QObject::tr("SVG image (*.svg)")},
        };
        for (const Format& f : formats) {
            menu.addAction(f.label, plot, [plot, stem, f] {
                QString path = QFileDialog::getSaveFileName(plot, f.label, stem + QLatin1Char('.') + f.ext, f.filter);
                if (path.isEmpty()) return;
                if (QFileInfo(path).suffix().isEmpty()) path += QLatin1Char('.') + f.ext;
                if (!exportPlot(plot, path)) qWarning("could not write %s", qUtf8Printable(path));
            });
        }
        menu.exec(plot->mapToGlobal(pos));
    });
}
