#include "plots/region_map.hpp"

#include <qcustomplot.h>
#include <QVBoxLayout>

#include <algorithm>
#include <iterator>

#include "plots/plot_export.hpp"
#include "plots/plot_style.hpp"
#include "theme.hpp"

namespace {

// A cell's opacity over the white plot background: the router's top-1
// probability rescaled from chance (1/E) to certainty, so undecided regions
// fade; never below kMinAlpha so every region keeps its expert's hue.
constexpr double kMinAlpha = 0.3;

unsigned char cell_alpha(float confidence, int experts) {
    const double chance = 1.0 / std::max(experts, 1);
    const double t = experts > 1 ? std::clamp((confidence - chance) / (1.0 - chance), 0.0, 1.0) : 1.0;
    return static_cast<unsigned char>(255.0 * (kMinAlpha + (1.0 - kMinAlpha) * t) + 0.5);
}

// One level per expert: value e in the data range [0, levels − 1] is exactly
// level e, drawn in theme::expert_color(e). Stops sit where QCPColorGradient
// places its levels (i · 1/(n−1), bit for bit): anywhere else its truncating
// interpolation can move a channel by one.
QCPColorGradient expert_gradient(int levels) {
    QCPColorGradient g;
    g.clearColorStops();
    g.setLevelCount(levels);
    const double step = 1.0 / double(levels - 1);
    for (int e = 0; e < levels; ++e) g.setColorStopAt(e * step, theme::expert_color(e));
    return g;
}

// Filled shapes, so a class reads by shape as well as by colour.
QCPScatterStyle::ScatterShape class_shape(int cls) {
    static const QCPScatterStyle::ScatterShape kShapes[] = {QCPScatterStyle::ssDisc, QCPScatterStyle::ssSquare,
                                                            QCPScatterStyle::ssTriangle, QCPScatterStyle::ssDiamond,
                                                            QCPScatterStyle::ssTriangleInverted};
    return kShapes[cls % int(std::size(kShapes))];
}

}  // namespace

RegionMap::RegionMap(QWidget* parent) : QWidget(parent), plot_(new QCustomPlot(this)) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(plot_);

    plot_->plotLayout()->insertRow(0);
    title_ = new QCPTextElement(plot_, tr("Expert regions"), theme::plot_font(10));
    title_->setTextColor(theme::kInk);
    plot_->plotLayout()->addElement(0, 0, title_);

    map_ = new QCPColorMap(plot_->xAxis, plot_->yAxis);
    map_->setInterpolate(false);
    map_->setAntialiased(false);

    // The legend sits right of the map, top-aligned, so it never hides a region.
    auto* side = new QCPLayoutGrid;
    plot_->plotLayout()->addElement(1, 1, side);
    plot_->plotLayout()->setColumnStretchFactor(1, 0.001);
    plot_->axisRect()->insetLayout()->take(plot_->legend);
    side->addElement(0, 0, plot_->legend);
    side->addElement(1, 0, new QCPLayoutElement(plot_));  // takes the height left under the legend
    side->setRowStretchFactor(0, 0.001);
    plot_->legend->setVisible(true);
    plot_->legend->setFont(theme::plot_font(8));
    plot_->legend->setBorderPen(QPen(theme::kGrey));
    plot_->legend->setIconSize(12, 10);
    plot_->legend->setRowSpacing(0);

    note_ = new QCPItemText(plot_);
    note_->position->setType(QCPItemPosition::ptAxisRectRatio);
    note_->position->setCoords(0.5, 0.5);
    note_->setPositionAlignment(Qt::AlignCenter);
    note_->setFont(theme::plot_font(9));
    note_->setColor(theme::kInk);
    note_->setPadding(QMargins(8, 4, 8, 4));
    note_->setVisible(false);

    plot_->xAxis->setLabel(QStringLiteral("x₀"));
    plot_->yAxis->setLabel(QStringLiteral("x₁"));
    for (QCPAxis* axis : {plot_->xAxis, plot_->yAxis}) style_axis_text(axis);
    installExportMenu(plot_, tr("expert regions"));
    setMinimumSize(240, 200);
    rebuildMap();  // empty until the first grid: no axes, no legend
    rebuildLegend();
}

void RegionMap::setGrid(const moescope::RegionGrid& grid) {
    grid_ = grid;
    map_dirty_ = true;
}

void RegionMap::setPoints(const Eigen::MatrixXf& x, const std::vector<int32_t>& y, int classes) {
    point_x_.assign(size_t(std::max(classes, 0)), {});
    point_y_.assign(point_x_.size(), {});
    const long n = x.rows() == 2 ? std::min<long>(x.cols(), long(y.size())) : 0;
    const long drawn = std::min<long>(n, kMaxPoints);
    // Every (n/drawn)-th sample: deterministic, and spread over the whole set.
    for (long j = 0; j < drawn; ++j) {
        const long i = j * n / drawn;
        const int32_t c = y[size_t(i)];
        if (c < 0 || c >= classes) continue;
        point_x_[size_t(c)].push_back(x(0, i));
        point_y_[size_t(c)].push_back(x(1, i));
    }
    points_dirty_ = true;
}

void RegionMap::setLayer(int layer) {
    if (layer == layer_) return;
    layer_ = layer;
    map_dirty_ = true;
}

void RegionMap::clear() {
    grid_ = {};
    point_x_.clear();
    point_y_.clear();
    rebuildMap();
    rebuildPoints();
    rebuildLegend();
    map_dirty_ = points_dirty_ = false;
    showNote(tr("Expert regions need a 2-D dataset (blobs, moons, spirals)"));
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void RegionMap::refresh() {
    if (!map_dirty_ && !points_dirty_) return;
    if (map_dirty_) rebuildMap();
    if (points_dirty_) rebuildPoints();
    rebuildLegend();
    map_dirty_ = points_dirty_ = false;
    if (shown_layer_ >= 0) showNote(QString());
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void RegionMap::rebuildMap() {
    const moescope::RegionGrid& g = grid_;
    const int n = g.resolution, experts = g.experts;
    const bool have = n > 0 && g.layers > 0 && experts > 0 && g.top1.size() == size_t(g.layers) * size_t(n) * size_t(n);
    expert_present_.assign(size_t(std::max(experts, 0)), 0);
    // Without a map the axes would show a stale plane: hide them with it.
    for (QCPAxis* axis : {plot_->xAxis, plot_->yAxis}) {
        axis->setVisible(have);
        axis->grid()->setVisible(have);
    }
    if (!have) {
        shown_layer_ = -1;
        map_->data()->clear();
        map_->setVisible(false);
        title_->setText(tr("Expert regions"));
        return;
    }
    shown_layer_ = std::clamp(layer_, 0, g.layers - 1);
    const int levels = std::max(experts, 2);  // a gradient needs two levels
    map_->setGradient(expert_gradient(levels));
    map_->setDataRange(QCPRange(0, levels - 1));
    QCPColorMapData* cells = map_->data();
    cells->setSize(n, n);
    // The range names the outer cells' centres: the cells then fill the plane edge to edge.
    cells->setRange(QCPRange(g.cell_x(0), g.cell_x(n - 1)), QCPRange(g.cell_y(0), g.cell_y(n - 1)));
    for (int row = 0; row < n; ++row)
        for (int col = 0; col < n; ++col) {
            const size_t i = g.index(shown_layer_, row, col);
            const int e = g.top1[i];
            cells->setCell(col, row, e);
            cells->setAlpha(col, row, cell_alpha(g.confidence[i], experts));
            if (e >= 0 && e < experts) expert_present_[size_t(e)] = 1;
        }
    map_->setVisible(true);
    plot_->xAxis->setRange(g.x_min, g.x_max);
    plot_->yAxis->setRange(g.y_min, g.y_max);
    title_->setText(tr("Expert regions (layer %1)").arg(shown_layer_));
}

void RegionMap::rebuildPoints() {
    const size_t classes = point_x_.size();
    while (class_graphs_.size() < classes) {
        QCPGraph* graph = plot_->addGraph();
        const int c = int(class_graphs_.size());
        graph->setLineStyle(QCPGraph::lsNone);
        // A darker rim of the class's own colour separates points from any region
        // tint without turning small discs black.
        const QColor fill = theme::class_color(c);
        graph->setScatterStyle(QCPScatterStyle(class_shape(c), QPen(fill.darker(170), 1.0), QBrush(fill), 7));
        graph->setName(tr("class %1").arg(c));
        class_graphs_.push_back(graph);
    }
    for (size_t c = 0; c < class_graphs_.size(); ++c) {
        QCPGraph* graph = class_graphs_[c];
        const bool used = c < classes;
        if (used)
            graph->setData(point_x_[c], point_y_[c]);
        else
            graph->data()->clear();
        graph->setVisible(used);
    }
}

void RegionMap::rebuildLegend() {
    plot_->legend->clearItems();
    for (size_t e = 0; e < expert_present_.size(); ++e) {
        if (!expert_present_[e]) continue;
        while (expert_swatches_.size() <= e) {
            // An empty graph whose legend icon is a square of the expert's colour.
            QCPGraph* swatch = plot_->addGraph();
            const int id = int(expert_swatches_.size());
            swatch->setLineStyle(QCPGraph::lsNone);
            swatch->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssSquare, QPen(theme::kGrey, 0.5),
                                                    QBrush(theme::expert_color(id)), 10));
            swatch->setName(QStringLiteral("E%1").arg(id));
            swatch->removeFromLegend();
            expert_swatches_.push_back(swatch);
        }
        expert_swatches_[e]->addToLegend();
    }
    for (QCPGraph* graph : class_graphs_)
        if (graph->visible() && !graph->data()->isEmpty()) graph->addToLegend();
    plot_->legend->setVisible(plot_->legend->itemCount() > 0);
}

void RegionMap::showNote(const QString& text) {
    note_->setText(text);
    note_->setVisible(!text.isEmpty());
}

int RegionMap::expertAt(int row, int col) const {
    QCPColorMapData* cells = map_->data();  // QCP's cell() is not const
    if (shown_layer_ < 0 || row < 0 || col < 0 || row >= cells->valueSize() || col >= cells->keySize()) return -1;
    return int(cells->cell(col, row));
}

QColor RegionMap::expertColor(int expert) const {
    QCPColorGradient gradient = map_->gradient();
    return QColor::fromRgb(gradient.color(expert, map_->dataRange()));
}

int RegionMap::pointCount() const {
    int n = 0;
    for (const QCPGraph* graph : class_graphs_)
        if (graph->visible()) n += graph->dataCount();
    return n;
}

QString RegionMap::title() const { return title_->text(); }

QString RegionMap::note() const { return note_->visible() ? note_->text() : QString(); }
