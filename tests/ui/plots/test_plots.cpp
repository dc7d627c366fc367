// Interface tests of the plot widgets on hand-made histories: the plotted
// numbers are the history's numbers, views follow layer / smoothing / window,
// markers follow interventions, exports write real files, a 16,384-point
// series draws at most kMaxDrawnPoints, and the shared plot grid.
#include <qcustomplot.h>
#include <QApplication>
#include <QFile>
#include <QFileInfo>
#include <QGridLayout>
#include <QTemporaryDir>
#include <QtTest>

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "monitor/metric_defs.hpp"
#include "monitor/metrics_history.hpp"
#include "plots/load_heatmap.hpp"
#include "plots/load_histogram.hpp"
#include "plots/plot_export.hpp"
#include "plots/plot_grid.hpp"
#include "plots/region_map.hpp"
#include "plots/specialisation_map.hpp"
#include "plots/time_plot.hpp"
#include "theme.hpp"

using moescope::StepMetrics;

namespace {

// Layer 0: expert 0 overloaded (0.7, then 0.6 for steps > 90), expert 3 nearly
// dead; router entropy alternates 0.2 / 0.8. Layer 1: perfectly balanced.
StepMetrics handStep(long s) {
    StepMetrics m;
    m.step = s;
    m.ce = 2.0 - 0.01 * double(s);
    m.aux = 1.5;
    m.zloss = 0.3;
    m.train_acc = double(s) / 100.0;
    m.test_acc = s % 10 == 0 ? 0.5 : moescope::kNaN;
    m.layers.resize(2);
    auto& a = m.layers[0];
    a.load = s <= 90 ? std::vector<double>{0.7, 0.19, 0.1, 0.01} : std::vector<double>{0.6, 0.29, 0.1, 0.01};
    a.mean_prob = {0.5, 0.2, 0.2, 0.1};
    a.router_entropy = s % 2 ? 0.2 : 0.8;
    a.load_entropy = 0.6;
    a.dropped = 0.031;
    a.dead_experts = 2;
    a.classes = 3;
    a.class_expert = {6, 2, 2, 0, /**/ 0, 0, 5, 5, /**/ 0, 0, 0, 0};
    a.nmi = 0.42;
    auto& b = m.layers[1];
    b.load = {0.25, 0.25, 0.25, 0.25};
    b.mean_prob = {0.25, 0.25, 0.25, 0.25};
    b.router_entropy = 0.9;
    b.load_entropy = 1.0;
    for (auto* l : {&a, &b})
        for (double load : l->load) l->utilization.push_back(4 * load);
    return m;
}

void fillHand(MetricsHistory& h, long steps = 100) {
    h.reset(2, 4);
    for (long s = 1; s <= steps; ++s) h.append(handStep(s));
}

double lastValue(QCPGraph* g) { return (g->data()->constEnd() - 1)->value; }

moescope::Intervention iv(long step, const char* knob, const char* from, const char* to) {
    return {step, knob, from, to, "user"};
}

}  // namespace

class TestPlots : public QObject {
    Q_OBJECT
private slots:
    void timePlotCopiesSeries() {
        MetricsHistory h;
        fillHand(h);
        TimePlot p("t", {{"router", "router_entropy", true, theme::kBlue, false, false},
                         {"ce", "ce", false, theme::kOrange, false, false},
                         {"test", "test_acc", false, theme::kGreen, true, false, true}});
        p.setHistory(&h);
        p.refresh();
        QCOMPARE(p.graphCount(), 3);
        QCustomPlot* cp = p.customPlot();
        QCOMPARE(cp->graph(0)->dataCount(), 100);
        QCOMPARE(lastValue(cp->graph(0)), 0.8);
        QCOMPARE(lastValue(cp->graph(1)), 1.0);
        QCOMPARE(cp->graph(2)->dataCount(), 10);  // test_acc only on evaluation steps
        QCOMPARE(cp->xAxis->range().lower, 1.0);
        QCOMPARE(cp->xAxis->range().upper, 100.0);

        p.setLayer(1);
        p.refresh();
        QCOMPARE(lastValue(cp->graph(0)), 0.9);
        QCOMPARE(cp->graph(0)->data()->constBegin()->value, 0.9);
        QCOMPARE(lastValue(cp->graph(1)), 1.0);  // model-wide curve ignores the layer
    }

    void timePlotSmoothing() {
        MetricsHistory h;
        fillHand(h);
        TimePlot p("t", {{"router", "router_entropy", true, theme::kBlue, false, false}});
        p.setHistory(&h);
        p.setSmoothing(0.9);
        p.refresh();
        // EMA of 0.2, 0.8, 0.2, … settles into a = 0.9·b + 0.08, b = 0.9·a + 0.02 → a = 0.098/0.19
        QVERIFY(std::abs(lastValue(p.customPlot()->graph(0)) - 0.098 / 0.19) < 1e-3);
        QCOMPARE(p.customPlot()->graph(0)->data()->constBegin()->value, 0.2);
        p.setSmoothing(0.0);
        p.refresh();
        QCOMPARE(lastValue(p.customPlot()->graph(0)), 0.8);
    }

    void timePlotRebuildsOnlyOnChange() {
        MetricsHistory h;
        fillHand(h);
        TimePlot p("t", {{"ce", "ce", false, theme::kBlue, false, false}});
        p.setHistory(&h);
        p.refresh();
        const int built = p.rebuildCount();
        QCOMPARE(built, 1);
        p.refresh();
        p.refresh();
        QCOMPARE(p.rebuildCount(), built);
        h.append(handStep(101));
        p.refresh();
        QCOMPARE(p.rebuildCount(), built + 1);
        QCOMPARE(p.customPlot()->graph(0)->dataCount(), 101);
        p.setSmoothing(0.5);
        p.refresh();
        QCOMPARE(p.rebuildCount(), built + 2);
    }

    void timePlotMarkers() {
        MetricsHistory h;
        fillHand(h);
        h.add_interventions({iv(20, "aux_weight", "0", "0.1"), iv(60, "router_lr", "0.1", "0.001")});
        std::unique_ptr<TimePlot> p(makeEntropyPlot(nullptr));
        p->setHistory(&h);
        p->refresh();
        QCOMPARE(p->markerCount(), 2);
        QCustomPlot* cp = p->customPlot();
        QCOMPARE(cp->itemCount(), 4);  // a line and a label each
        auto* line = qobject_cast<QCPItemStraightLine*>(cp->item(0));
        QVERIFY(line);
        QCOMPARE(line->point1->coords().x(), 20.0);
        QCOMPARE(line->pen().color(), theme::kMarker);
        auto* label = qobject_cast<QCPItemText*>(cp->item(1));
        QVERIFY(label);
        QCOMPARE(label->text(), QString::fromUtf8("aux_weight 0 \u2192 0.1"));

        h.add_interventions({iv(80, "noise_std", "0", "1")});
        p->refresh();
        QCOMPARE(p->markerCount(), 3);
        QCOMPARE(cp->itemCount(), 6);

        h.reset(2, 4);  // a new run: the old markers go
        p->refresh();
        QCOMPARE(p->markerCount(), 0);
        QCOMPARE(cp->itemCount(), 0);
        QCOMPARE(cp->graph(0)->dataCount(), 0);
    }

    void timePlotFollowsDataUntilUserZooms() {
        MetricsHistory h;
        fillHand(h);
        std::unique_ptr<TimePlot> p(makeLossPlot(nullptr));
        p->resize(600, 300);
        p->show();
        p->setHistory(&h);
        p->refresh();
        QCustomPlot* cp = p->customPlot();
        QVERIFY(p->followsData());
        QCOMPARE(cp->yAxis2->range().upper, 1.05);  // accuracy axis stays fixed, with room for a dot at 1

        cp->xAxis->setRange(10, 20);  // what a wheel zoom or drag does
        QVERIFY(!p->followsData());
        h.append(handStep(101));
        p->refresh();
        QCOMPARE(cp->xAxis->range().lower, 10.0);
        QCOMPARE(cp->xAxis->range().upper, 20.0);

        QTest::mouseDClick(cp, Qt::LeftButton, {}, cp->axisRect()->center());
        QVERIFY(p->followsData());
        QCOMPARE(cp->xAxis->range().upper, 101.0);
    }

    void nullAndEmptyHistoriesAreHarmless() {
        MetricsHistory empty;
        empty.reset(2, 4);
        std::unique_ptr<TimePlot> t(makeBalancePlot(nullptr));
        LoadHistogram bars;
        LoadHeatmap heat;
        SpecialisationMap spec;
        for (const MetricsHistory* h : std::initializer_list<const MetricsHistory*>{nullptr, &empty}) {
            t->setHistory(h);
            bars.setHistory(h);
            heat.setHistory(h);
            spec.setHistory(h);
            t->refresh();
            bars.refresh();
            heat.refresh();
            spec.refresh();
        }
        QCOMPARE(t->customPlot()->graph(0)->dataCount(), 0);
        QCOMPARE(bars.barCount(), 0);
        QCOMPARE(heat.stepBins(), 0);
        QCOMPARE(spec.classes(), 0);

        MetricsHistory h;
        fillHand(h);
        bars.setHistory(&h);
        bars.setLayer(5);  // no such layer
        bars.refresh();
        QCOMPARE(bars.barCount(), 0);
        bars.setLayer(0);
        bars.refresh();
        QCOMPARE(bars.barCount(), 4);
    }

    void histogramShowsLoads() {
        MetricsHistory h;
        fillHand(h);
        LoadHistogram p;
        p.setHistory(&h);
        p.refresh();
        QCOMPARE(p.barCount(), 4);
        QCOMPARE(p.fairShare(), 0.25);
        QCOMPARE(p.barValue(0), 0.6);
        QCOMPARE(p.barValue(1), 0.29);
        QCOMPARE(p.barValue(3), 0.01);
        QCOMPARE(p.barColor(0), theme::kOverloaded);  // utilization 2.4
        QCOMPARE(p.barColor(2), theme::kFair);        // utilization 0.4
        QCOMPARE(p.barColor(3), theme::kDead);        // utilization 0.04
        QCOMPARE(p.meanProb(0), 0.5);
        QCOMPARE(p.infoText(), QStringLiteral("dropped 3.1%   dead: 2"));

        p.setWindow(20);  // steps 81..100: ten of 0.7, ten of 0.6
        p.refresh();
        QVERIFY(std::abs(p.barValue(0) - 0.65) < 1e-12);
        QVERIFY(std::abs(p.barValue(1) - 0.24) < 1e-12);
        p.setWindow(1000);  // the whole run
        p.refresh();
        QVERIFY(std::abs(p.barValue(0) - 0.69) < 1e-12);

        p.setWindow(1);
        p.setLayer(1);
        p.refresh();
        for (int e = 0; e < 4; ++e) {
            QCOMPARE(p.barValue(e), 0.25);
            QCOMPARE(p.barColor(e), theme::kFair);
        }
    }

    // The grey of a bar and the dead count beside it use the same threshold: the run's dead_util.
    void histogramGreysBelowDeadUtil() {
        MetricsHistory h;
        fillHand(h);
        LoadHistogram p;
        p.setHistory(&h);
        StepMetrics m = handStep(101);
        m.dead_util = 0.5;  // expert 2 (utilization 0.4) counts as dead now
        h.append(m);
        p.refresh();
        QCOMPARE(p.barColor(2), theme::kDead);
        QCOMPARE(p.barColor(3), theme::kDead);
        QVERIFY(p.barColor(1) != theme::kDead);  // utilization 1.16
        m = handStep(102);
        m.dead_util = 0.01;  // and expert 3 (utilization 0.04) is alive
        h.append(m);
        p.refresh();
        QCOMPARE(p.barColor(3), theme::kFair);
        QCOMPARE(p.barColor(2), theme::kFair);
        QCOMPARE(p.barColor(0), theme::kOverloaded);
    }

    // Each time plot draws exactly the metrics whose table row names it, labelled from the table.
    void timePlotsDrawTheTablesMetrics() {
        using moescope::MetricPlot;
        const std::vector<std::pair<MetricPlot, TimePlot* (*)(QWidget*)>> plots = {
            {MetricPlot::Loss, makeLossPlot},
            {MetricPlot::Balance, makeBalancePlot},
            {MetricPlot::Entropy, makeEntropyPlot}};
        for (const auto& [which, make] : plots) {
            std::unique_ptr<TimePlot> p(make(nullptr));
            std::set<std::string> drawn, listed;
            for (const CurveSpec& c : p->curves()) {
                drawn.insert(c.series);
                const moescope::MetricDef* d = moescope::find_metric(c.series);
                QVERIFY2(d, c.series.c_str());
                QCOMPARE(c.label, QString::fromUtf8(d->label.data(), qsizetype(d->label.size())));
                QCOMPARE(c.per_layer, d->scope == moescope::MetricScope::Layer);
            }
            for (const auto& d : moescope::metric_table())
                if (d.plot == which) listed.insert(std::string(d.name));
            QVERIFY2(drawn == listed, moescope::plot_name(which).data());
        }
    }

    void heatmapBinsLoads() {
        MetricsHistory h;
        fillHand(h);
        LoadHeatmap p;
        p.setHistory(&h);
        p.refresh();
        QCOMPARE(p.stepBins(), 100);
        QCOMPARE(p.cell(0, 0), 0.7);
        QCOMPARE(p.cell(0, 99), 0.6);
        QCOMPARE(p.cell(3, 50), 0.01);
        QCOMPARE(p.colorMax(), 0.7);  // above 2/E = 0.5
        auto* map = qobject_cast<QCPColorMap*>(p.customPlot()->plottable(0));
        QVERIFY(map);
        // a collapsed expert is the brightest row; an idle one the darkest
        QCOMPARE(QColor(map->gradient().color(0.7, map->dataRange())), theme::kYellow);
        QCOMPARE(QColor(map->gradient().color(0.0, map->dataRange())), theme::kInk);
        p.setLayer(1);
        p.refresh();
        QCOMPARE(p.cell(0, 0), 0.25);
        QCOMPARE(p.colorMax(), 0.5);

        // A long run: at most 600 bins, each the mean of its steps.
        MetricsHistory longRun;
        longRun.reset(1, 2);
        for (long s = 1; s <= 3000; ++s) {
            StepMetrics m;
            m.step = s;
            m.layers.resize(1);
            const double l0 = s <= 1502 ? 0.9 : 0.3;
            m.layers[0].load = {l0, 1 - l0};
            m.layers[0].utilization = {2 * l0, 2 * (1 - l0)};
            longRun.append(m);
        }
        p.setHistory(&longRun);
        p.setLayer(0);
        p.refresh();
        QCOMPARE(p.stepBins(), LoadHeatmap::kMaxBins);
        QCOMPARE(p.cell(0, 0), 0.9);
        QCOMPARE(p.cell(0, 599), 0.3);
        QVERIFY(std::abs(p.cell(1, 0) - 0.1) < 1e-12);
        // 3000 steps in 600 bins: 5 steps each; bin 300 holds steps 1501..1505,
        // two of 0.9 and three of 0.3.
        QVERIFY(std::abs(p.cell(0, 300) - (2 * 0.9 + 3 * 0.3) / 5) < 1e-12);
        QCOMPARE(p.cell(0, 299), 0.9);
        QCOMPARE(p.cell(0, 301), 0.3);
    }

    void specialisationNormalisesRows() {
        MetricsHistory h;
        fillHand(h);
        SpecialisationMap p;
        p.setHistory(&h);
        p.refresh();
        QCOMPARE(p.classes(), 3);
        QCOMPARE(p.experts(), 4);
        QCOMPARE(p.cell(0, 0), 0.6);
        QCOMPARE(p.cell(0, 1), 0.2);
        QCOMPARE(p.cell(0, 3), 0.0);
        QCOMPARE(p.cell(1, 2), 0.5);
        QCOMPARE(p.cell(1, 3), 0.5);
        QCOMPARE(p.cell(2, 0), 0.0);  // a class with no tokens stays empty
        QVERIFY(p.title().contains(QStringLiteral("NMI 0.42")));
        auto* map = qobject_cast<QCPColorMap*>(p.customPlot()->plottable(0));
        QVERIFY(map);
        QCOMPARE(map->dataRange(), QCPRange(0.0, 1.0));  // shares, not counts
        QCOMPARE(QColor(map->gradient().color(1.0, QCPRange(0, 1))), theme::kYellow);
    }

    void exportWritesFiles() {
        MetricsHistory h;
        fillHand(h);
        LoadHistogram p;
        p.resize(500, 300);
        p.show();
        p.setHistory(&h);
        p.refresh();
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const struct {
            const char* name;
            QByteArray magic;
        } files[] = {{"bars.png", "\x89PNG"}, {"bars.pdf", "%PDF"}, {"bars.SVG", "<?xml"}};
        for (const auto& f : files) {
            const QString path = dir.filePath(f.name);
            QVERIFY2(exportPlot(p.customPlot(), path), f.name);
            QFile file(path);
            QVERIFY(file.open(QIODevice::ReadOnly));
            const QByteArray bytes = file.readAll();
            QVERIFY2(bytes.size() > 1000, f.name);
            QVERIFY2(bytes.startsWith(f.magic), f.name);
        }
        QFile svg(dir.filePath("bars.SVG"));
        QVERIFY(svg.open(QIODevice::ReadOnly));
        const QByteArray text = svg.readAll();
        QVERIFY(text.contains("<svg") && text.contains("data:image/png;base64,iVBOR") && text.endsWith("</svg>\n"));
        QVERIFY(!exportPlot(p.customPlot(), dir.filePath("bars.xyz")));
        QVERIFY(!QFile::exists(dir.filePath("bars.xyz")));

        // A symlink or FIFO at the target is refused with the reason (the core's
        // write_file_atomically): the file the link names keeps its bytes.
        QFile outside(dir.filePath("outside.txt"));
        QVERIFY(outside.open(QIODevice::WriteOnly) && outside.write("keep me") == 7);
        outside.close();
        QVERIFY(::mkfifo(QFile::encodeName(dir.filePath("fifo.png")).constData(), 0644) == 0);
        for (const char* name : {"link.png", "link.pdf", "link.svg"})
            QVERIFY(QFile::link(dir.filePath("outside.txt"), dir.filePath(name)));
        for (const char* name : {"link.png", "link.pdf", "link.svg", "fifo.png"}) {
            QString why;
            QVERIFY2(!exportPlot(p.customPlot(), dir.filePath(name), &why), name);
            QVERIFY2(why.contains(name) && why.contains("not a regular file"), qPrintable(why));
        }
        QVERIFY(outside.open(QIODevice::ReadOnly));
        QCOMPARE(outside.readAll(), QByteArray("keep me"));
        QVERIFY(QFileInfo(dir.filePath("fifo.png")).exists() && !QFileInfo(dir.filePath("fifo.png")).isFile());
    }

    // Work is bounded by the plot, not by the run: 16,384 points per curve are
    // drawn as at most kMaxDrawnPoints (kMaxDrawnMarkers for scatter curves) on
    // every frame, and those keep the curve's envelope and its newest step.
    void longSeriesDrawAtMostKMaxDrawnPoints() {
        const long n = 16384;  // one series at full capacity, before any folding
        MetricsHistory h;
        h.reset(2, 4);
        for (long s = 1; s <= n; ++s) {
            StepMetrics m = handStep(s);
            m.ce = 2.0 + std::sin(0.01 * double(s)) + 0.1 * std::sin(1.3 * double(s));  // noisy, as real losses are
            m.test_acc = s % 4 == 0 ? 0.5 + 0.4 * std::sin(0.003 * double(s)) : moescope::kNaN;
            h.append(m);
        }
        TimePlot p("bounded", {{"ce", "ce", false, theme::kBlue, false, false},
                               {"aux", "aux", false, theme::kOrange, false, false},
                               {"z", "z_loss", false, theme::kPurple, false, true},
                               {"train", "train_acc", false, theme::kGreen, true, false},
                               {"test", "test_acc", false, theme::kVermillion, true, false, true},
                               {"router", "router_entropy", true, theme::kSky, true, false},
                               {"load", "load_entropy", true, theme::kVermillion, true, false}});
        p.resize(1200, 400);
        p.show();
        QVERIFY(QTest::qWaitForWindowExposed(&p));
        p.setHistory(&h);
        QCustomPlot* cp = p.customPlot();
        auto check_bounds = [&] {
            for (int g = 0; g < cp->graphCount(); ++g) {
                const bool scatter = cp->graph(g)->lineStyle() == QCPGraph::lsNone;
                const int bound = scatter ? TimePlot::kMaxDrawnMarkers : TimePlot::kMaxDrawnPoints;
                QVERIFY2(cp->graph(g)->dataCount() <= bound, qPrintable(cp->graph(g)->name()));
                QVERIFY2(cp->graph(g)->dataCount() >= bound / 4, qPrintable(cp->graph(g)->name()));  // still a curve
            }
        };
        p.refresh();
        QCoreApplication::processEvents();  // runs the queued replot
        check_bounds();
        // Unsmoothed, the drawn points hold the series' extremes (min/max decimation).
        const std::vector<double>& ce = h.series("ce")->y();
        bool found = false;
        const QCPRange drawn = cp->graph(0)->getValueRange(found);
        QVERIFY(found);
        QCOMPARE(drawn.lower, *std::min_element(ce.begin(), ce.end()));
        QCOMPARE(drawn.upper, *std::max_element(ce.begin(), ce.end()));
        p.setSmoothing(0.6);
        for (long s = n + 1; s <= n + 10; ++s) {  // a new step each frame, as when training
            h.append(handStep(s));
            p.refresh();
            QCoreApplication::processEvents();
            check_bounds();
        }
        QCOMPARE(cp->graph(0)->data()->at(cp->graph(0)->dataCount() - 1)->key,
                 h.series("ce")->x().back());  // the newest step is always drawn
        QCOMPARE(p.rebuildCount(), 11);        // one data rebuild per frame, none more
    }

    // The window and the window benchmark share one grid: six named plots in a
    // 2 × 3 layout (the region map is built but laid out by the owner).
    void plotGridNamesAndLaysOutThePlots() {
        PlotGrid grid;
        const Plots& p = grid.plots();
        const std::vector<std::pair<QString, QCustomPlot*>> named = grid.namedPlots();
        QCOMPARE(int(named.size()), 6);
        const QStringList expected = {"expert_load",   "load_heatmap", "entropy",
                                      "loss_accuracy", "balance",      "specialisation"};
        for (int i = 0; i < 6; ++i) QCOMPARE(named[size_t(i)].first, expected[i]);
        QCOMPARE(named[2].second, p.entropy->customPlot());
        QCOMPARE(named[3].second, p.loss->customPlot());
        auto* layout = qobject_cast<QGridLayout*>(grid.layout());
        QVERIFY(layout);
        QCOMPARE(layout->count(), 6);
        QCOMPARE(layout->itemAtPosition(1, 0)->widget(), static_cast<QWidget*>(p.entropy));
        QCOMPARE(layout->itemAtPosition(2, 1)->widget(), static_cast<QWidget*>(p.specialisation));
        QVERIFY(layout->indexOf(p.regions) < 0);
        MetricsHistory h;
        fillHand(h);
        grid.setHistories(&h, &h);
        grid.setLayer(0);
        grid.refresh();
        QCOMPARE(p.entropy->layer(), 0);
        QCOMPARE(p.load->barCount(), 4);
        QVERIFY(p.balance->customPlot()->graph(0)->dataCount() > 0);
    }
};

QTEST_MAIN(TestPlots)
#include "test_plots.moc"
