#include "plots/specialisation_map.hpp"

#include <qcustomplot.h>
#include <QVBoxLayout>

#include "monitor/metrics_history.hpp"
#include "plots/color_map_parts.hpp"
#include "plots/load_heatmap.hpp"
#include "plots/plot_export.hpp"
#include "plots/plot_style.hpp"
#include "theme.hpp"

SpecialisationMap::SpecialisationMap(QWidget* parent) : QWidget(parent), plot_(new QCustomPlot(this)) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(plot_);

    const ColorMapParts parts = add_titled_color_map(plot_, tr("Specialisation"), tr("share of the class"));
    title_ = parts.title;
    map_ = parts.map;
    scale_ = parts.scale;
    map_->setGradient(heatmapGradient());
    map_->setDataRange(QCPRange(0.0, 1.0));
    for (QCPAxis* axis : {plot_->xAxis, plot_->yAxis}) {
        set_integer_ticks(axis);
        style_axis_text(axis);
    }
    plot_->xAxis->setLabel(tr("expert (top-1)"));
    plot_->yAxis->setLabel(tr("class"));
    plot_->setNotAntialiasedElements(QCP::aeAll);
    installExportMenu(plot_, tr("specialisation"));
    setMinimumSize(kPlotMinimumSize);
}

void SpecialisationMap::setHistory(const MetricsHistory* history) {
    history_ = history;
    dirty_ = true;
}

void SpecialisationMap::setLayer(int layer) {
    if (layer == layer_) return;
    layer_ = layer;
    dirty_ = true;
}

double SpecialisationMap::cell(int cls, int expert) const {
    if (cls < 0 || cls >= classes_ || expert < 0 || expert >= experts_) return 0.0;
    return map_->data()->cell(expert, cls);
}

QString SpecialisationMap::title() const { return title_->text(); }

void SpecialisationMap::clear() {
    if (classes_ == 0 && experts_ == 0) return;
    classes_ = experts_ = 0;
    map_->data()->clear();
    title_->setText(tr("Specialisation"));
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void SpecialisationMap::refresh() {
    const bool have = history_ && layer_ >= 0 && layer_ < int(history_->latest().layers.size());
    if (!have) {
        clear();
        dirty_ = true;
        return;
    }
    if (!dirty_ && history_->version() == built_version_) return;
    built_version_ = history_->version();
    dirty_ = false;

    const moescope::LayerMetrics& lm = history_->latest().layers[size_t(layer_)];
    const int experts = int(lm.load.size());
    const int classes = lm.classes;
    if (classes <= 0 || experts <= 0 || lm.class_expert.size() != size_t(classes) * size_t(experts)) {
        clear();
        return;
    }
    QCPColorMapData* cells = map_->data();
    cells->setSize(experts, classes);
    cells->setRange(QCPRange(0, experts - 1), QCPRange(0, classes - 1));
    for (int c = 0; c < classes; ++c) {
        const int32_t* row = lm.class_expert.data() + size_t(c) * size_t(experts);
        double total = 0;
        for (int e = 0; e < experts; ++e) total += row[e];
        // share_{c,e} = count_{c,e} / Σ_e count_{c,e}; a class with no tokens stays 0
        for (int e = 0; e < experts; ++e) cells->setCell(e, c, total > 0 ? row[e] / total : 0.0);
    }
    classes_ = classes;
    experts_ = experts;
    title_->setText(tr("Specialisation (NMI %1)").arg(lm.nmi, 0, 'f', 2));
    plot_->xAxis->setRange(-0.5, experts - 0.5);
    plot_->yAxis->setRange(-0.5, classes - 0.5);
    plot_->replot(QCustomPlot::rpQueuedReplot);
}
