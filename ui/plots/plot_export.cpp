#include "plots/plot_export.hpp"

#include <qcustomplot.h>
#include <QBuffer>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMessageBox>
#include <QPageLayout>
#include <QPdfWriter>
#include <QRegularExpression>

#include "error.hpp"
#include "io/atomic_file.hpp"

namespace {

QByteArray pngBytes(const QPixmap& pixmap) {
    QByteArray png;
    QBuffer buffer(&png);
    buffer.open(QIODevice::WriteOnly);
    if (pixmap.isNull() || !pixmap.save(&buffer, "PNG")) return {};
    return png;
}

// Qt6::Svg (QSvgGenerator) is not a dependency, so an SVG export is a minimal
// SVG document holding the plot as an embedded 2× PNG: a valid, scalable
// container that drops into slides and web pages, though not vector drawing.
QByteArray svgBytes(QCustomPlot* plot) {
    const int w = plot->width(), h = plot->height();
    const QByteArray png = pngBytes(plot->toPixmap(w, h, 2.0));
    if (png.isEmpty()) return {};
    const QByteArray size = QStringLiteral("width=\"%1\" height=\"%2\"").arg(w).arg(h).toUtf8();
    QByteArray svg;
    svg += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" " + size +
           " viewBox=\"0 0 " + QByteArray::number(w) + " " + QByteArray::number(h) + "\">\n";
    svg += "<image x=\"0\" y=\"0\" " + size + " xlink:href=\"data:image/png;base64,";
    svg += png.toBase64();
    svg += "\"/>\n</svg>\n";
    return svg;
}

// What QCustomPlot::savePdf draws (vector, one page the plot's size), into memory.
QByteArray pdfBytes(QCustomPlot* plot) {
    const int w = plot->width(), h = plot->height();
    QByteArray pdf;
    QBuffer buffer(&pdf);
    buffer.open(QIODevice::WriteOnly);
    {
        QPdfWriter writer(&buffer);
        writer.setResolution(72);
        writer.setPageLayout(
            QPageLayout(QPageSize(QSizeF(w, h), QPageSize::Point), QPageLayout::Portrait, QMarginsF()));
        QCPPainter painter;
        if (!painter.begin(&writer)) return {};
        painter.setMode(QCPPainter::pmVectorized);
        painter.setWindow(0, 0, w, h);
        plot->toPainter(&painter, w, h);
        painter.end();
    }
    return pdf;
}

bool saveBytes(const QByteArray& bytes, const QString& path, QString* why) {
    if (bytes.isEmpty()) {
        if (why) *why = QObject::tr("could not draw the image for %1").arg(path);
        return false;
    }
    try {
        moescope::write_file_atomically(path.toStdString(), {std::string_view(bytes.constData(), size_t(bytes.size()))},
                                        "image");
        return true;
    } catch (const moescope::Error& e) {
        if (why) *why = QString::fromStdString(e.what());
        return false;
    }
}

QString fileStem(const QString& basename) {
    QString stem = basename.toLower();
    stem.replace(QRegularExpression(QStringLiteral("[^a-z0-9]+")), QStringLiteral("_"));
    stem.remove(QRegularExpression(QStringLiteral("^_+|_+$")));
    return stem.isEmpty() ? QStringLiteral("plot") : stem;
}

}  // namespace

bool exportPlot(QCustomPlot* plot, const QString& path, QString* why) {
    if (!plot) return false;
    const QString ext = QFileInfo(path).suffix().toLower();
    if (ext == QLatin1String("png")) return saveBytes(pngBytes(plot->toPixmap(0, 0, 2.0)), path, why);
    if (ext == QLatin1String("pdf")) return saveBytes(pdfBytes(plot), path, why);
    if (ext == QLatin1String("svg")) return saveBytes(svgBytes(plot), path, why);
    if (why) *why = QObject::tr("%1: the format follows the extension: .png, .pdf or .svg").arg(path);
    return false;
}

bool savePixmapFile(const QPixmap& image, const QString& path, QString* why) {
    return saveBytes(pngBytes(image), path, why);
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
                QString why;
                if (!exportPlot(plot, path, &why))
                    QMessageBox::warning(plot, QObject::tr("Cannot export the plot"), why);
            });
        }
        menu.exec(plot->mapToGlobal(pos));
    });
}
