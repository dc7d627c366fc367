// Interface tests of the expert-region map: a hand-made grid's cells carry
// their experts in the theme's colours (read back from the colour map and from
// the drawn pixels), less sure cells are paler, the layer choice follows
// setLayer, at most kMaxPoints data points are drawn, clear() explains itself,
// and a map of a briefly trained moons run is saved for a look.
#include <qcustomplot.h>
#include <QApplication>
#include <QDir>
#include <QtTest>

#include "monitor/region_grid.hpp"
#include "plots/region_map.hpp"
#include "theme.hpp"
#include "train/trainer.hpp"

using moescope::RegionGrid;

namespace {

constexpr int kRes = 8;

// Plane [−2, 2] × [−1, 1]. Layer 0: quadrants, expert = 2·(top half) + (right
// half), fully sure except row 0 (the router is at chance there). Layer 1:
// expert 3 everywhere, with confidence 0.6.
RegionGrid handGrid() {
    RegionGrid g;
    g.resolution = kRes;
    g.layers = 2;
    g.experts = 4;
    g.x_min = -2;
    g.x_max = 2;
    g.y_min = -1;
    g.y_max = 1;
    g.top1.resize(size_t(2 * kRes * kRes));
    g.confidence.resize(g.top1.size());
    for (int row = 0; row < kRes; ++row)
        for (int col = 0; col < kRes; ++col) {
            const size_t a = g.index(0, row, col), b = g.index(1, row, col);
            g.top1[a] = int16_t(2 * (row >= kRes / 2) + (col >= kRes / 2));
            g.confidence[a] = row == 0 ? 0.25f : 1.0f;
            g.top1[b] = 3;
            g.confidence[b] = 0.6f;
        }
    return g;
}

int handExpert(int row, int col) { return 2 * (row >= kRes / 2) + (col >= kRes / 2); }

// The colour drawn at the centre of a cell, from a fresh render of the plot.
QColor pixelAt(RegionMap& m, const RegionGrid& g, int row, int col) {
    QCustomPlot* plot = m.customPlot();
    plot->replot();
    const QImage img = plot->toPixmap().toImage();
    const double px = plot->xAxis->coordToPixel(g.cell_x(col)), py = plot->yAxis->coordToPixel(g.cell_y(row));
    return img.pixelColor(int(px), int(py));
}

}  // namespace

class TestRegionMap : public QObject {
    Q_OBJECT
private slots:
    void cells_carry_their_expert_colours() {
        RegionMap m;
        m.resize(520, 380);
        m.show();
        m.refresh();
        QCOMPARE(m.shownLayer(), -1);  // nothing yet, and no note: the first grid is on its way
        QCOMPARE(m.note(), QString());
        const RegionGrid g = handGrid();
        m.setGrid(g);
        m.refresh();
        QCOMPARE(m.shownLayer(), 0);
        QCOMPARE(m.title(), QStringLiteral("Expert regions (layer 0)"));
        for (int row = 0; row < kRes; ++row)
            for (int col = 0; col < kRes; ++col) QCOMPARE(m.expertAt(row, col), handExpert(row, col));
        for (int e = 0; e < 4; ++e) QCOMPARE(m.expertColor(e), theme::expert_color(e));
        // Drawn pixels: a sure cell in its expert's colour, an unsure one paler (towards white).
        for (int e = 0; e < 4; ++e) {
            const int row = e >= 2 ? kRes - 1 : 1, col = e % 2 ? kRes - 1 : 0;
            QCOMPARE(pixelAt(m, g, row, col).rgb(), theme::expert_color(e).rgb());
        }
        const QColor sure = pixelAt(m, g, 1, 0), unsure = pixelAt(m, g, 0, 0);
        QVERIFY(unsure.lightness() > sure.lightness());
        QVERIFY(unsure.red() >= sure.red() && unsure.green() >= sure.green() && unsure.blue() >= sure.blue());
        // The legend names the experts that own a region: E0…E3.
        QCOMPARE(m.customPlot()->legend->itemCount(), 4);

        m.setLayer(1);
        m.refresh();
        QCOMPARE(m.title(), QStringLiteral("Expert regions (layer 1)"));
        QCOMPARE(m.expertAt(0, 0), 3);
        QCOMPARE(m.customPlot()->legend->itemCount(), 1);  // only E3 owns a region
        m.setLayer(7);                                     // a layer the grid lacks shows its last one
        m.refresh();
        QCOMPARE(m.shownLayer(), 1);
    }

    // Up to 64 experts each get a distinct colour, exactly the theme's.
    void sixty_four_experts() {
        RegionGrid g;
        g.resolution = 8;
        g.layers = 1;
        g.experts = 64;
        g.x_min = g.y_min = 0;
        g.x_max = g.y_max = 1;
        for (int i = 0; i < 64; ++i) {
            g.top1.push_back(int16_t(i));
            g.confidence.push_back(1.0f);
        }
        RegionMap m;
        m.setGrid(g);
        m.refresh();
        QSet<QRgb> seen;
        for (int e = 0; e < 64; ++e) {
            QCOMPARE(m.expertAt(e / 8, e % 8), e);
            QCOMPARE(m.expertColor(e), theme::expert_color(e));
            seen.insert(theme::expert_color(e).rgb());
        }
        QCOMPARE(seen.size(), 64);
    }

    void points_are_subsampled() {
        RegionMap m;
        m.setGrid(handGrid());
        const long n = 2000;
        Eigen::MatrixXf x(2, n);
        std::vector<int32_t> y(static_cast<size_t>(n));
        for (long i = 0; i < n; ++i) {
            x(0, i) = float(i % 40) / 10.0f - 2.0f;
            x(1, i) = float(i / 40) / 25.0f - 1.0f;
            y[size_t(i)] = int32_t(i % 3);
        }
        m.setPoints(x, y, 3);
        m.refresh();
        QCOMPARE(m.pointCount(), RegionMap::kMaxPoints);
        QCOMPARE(m.customPlot()->legend->itemCount(), 4 + 3);  // experts, then classes
        m.setPoints(x.leftCols(100), std::vector<int32_t>(y.begin(), y.begin() + 100), 3);
        m.refresh();
        QCOMPARE(m.pointCount(), 100);
    }

    void clear_explains_why() {
        RegionMap m;
        m.setGrid(handGrid());
        m.setPoints(Eigen::MatrixXf::Zero(2, 10), std::vector<int32_t>(10, 1), 2);
        m.refresh();
        m.clear();
        QCOMPARE(m.note(), QStringLiteral("Expert regions need a 2-D dataset (blobs, moons, spirals)"));
        QCOMPARE(m.shownLayer(), -1);
        QCOMPARE(m.pointCount(), 0);
        QCOMPARE(m.expertAt(0, 0), -1);
        QCOMPARE(m.title(), QStringLiteral("Expert regions"));
        m.resize(520, 380);
        const QString dir = QStringLiteral(MOESCOPE_BUILD_DIR) + "/screenshots";
        QDir().mkpath(dir);
        m.customPlot()->replot();
        QVERIFY(m.grab().save(dir + "/region_map_note.png"));
        m.setGrid(handGrid());
        m.refresh();
        QCOMPARE(m.note(), QString());
        QCOMPARE(m.shownLayer(), 0);
    }

    // A real map: moons after a short run, as the window shows it.
    void screenshot_of_a_trained_moons_run() {
        moescope::Config cfg = moescope::load_preset("lesson1_baseline");
        cfg.dataset = "moons";
        cfg.train_samples = 2000;
        cfg.test_samples = 200;
        cfg.batch_tokens = 256;
        cfg.router_lr = 0.01;
        moescope::Trainer trainer(cfg);
        for (int s = 0; s < 150; ++s) trainer.step();
        RegionGrid g = moescope::compute_region_grid(trainer.engine(), trainer.config(), trainer.dataset(), 64);
        g.step = trainer.steps_done();
        RegionMap m;
        m.resize(560, 400);
        m.show();
        m.setGrid(g);
        const moescope::Dataset& d = trainer.dataset();
        m.setPoints(d.x_train, d.y_train, d.num_classes);
        m.refresh();
        QVERIFY(m.pointCount() <= RegionMap::kMaxPoints);
        m.customPlot()->replot();
        const QString dir = QStringLiteral(MOESCOPE_BUILD_DIR) + "/screenshots";
        QDir().mkpath(dir);
        QVERIFY(m.grab().save(dir + "/region_map.png"));
    }
};

QTEST_MAIN(TestRegionMap)
#include "test_region_map.moc"
