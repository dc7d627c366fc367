// The language model in the window: the Preset box starts the lm preset; a small
// lm run trains with load bars, heat map, warnings panel, held-out bits on the
// loss plot, tokens by expert (hover: top-k experts and gates) and the Samples
// dock; it saves, reopens and continues as a snapshot, and sweeps into a phase diagram.
#include <QComboBox>
#include <QDockWidget>
#include <QHelpEvent>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTextDocument>
#include <QToolTip>
#include <QtTest>

#include "panels/sample_panel.hpp"
#include "panels/token_view.hpp"
#include "plots/load_histogram.hpp"
#include "plots/phase_map.hpp"
#include "plots/time_plot.hpp"
#include "test_presets.hpp"
#include "train/sweep.hpp"
#include "window/main_window.hpp"
#include "window/sweep_window.hpp"

using namespace moescope;

namespace {
constexpr int kTimeoutMs = 60000;

// The lm preset shrunk: 2 layers, d_model 32, context 32, 256 tokens a step.
Config small_lm() {
    Config c = load_preset("lm");
    c.d_model = 32;
    c.d_ff = 64;
    c.heads = 2;
    c.context = 32;
    c.batch_tokens = 256;
    c.test_samples = 512;
    c.eval_every = 5;
    return c;
}

// Rich text as the reader sees it, non-breaking spaces as spaces.
QString plain(const QString& html) {
    QTextDocument doc;
    doc.setHtml(html);
    return doc.toPlainText().replace(QChar(0xA0), QLatin1Char(' '));
}
}  // namespace

class TestLmWindow : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("moescope-test"));
        QVERIFY(tmp_.isValid());
    }

    // The panel alone: the prompt line reads \n as a line break, samples list newest first.
    void samplePanelShowsNewestFirst() {
        SamplePanel p;
        QCOMPARE(p.settings().every, 100);
        QCOMPARE(p.settings().temperature, 0.8);
        QCOMPARE(p.settings().prompt, std::string("\n"));
        QCOMPARE(p.promptEdit()->text(), QStringLiteral("\\n"));
        QCOMPARE(SamplePanel::unescape(QStringLiteral("ROMEO:\\nO\\\\k\\x")), std::string("ROMEO:\nO\\k\\x"));
        for (const char* typed : {"a\\nb", "\\\\n", "tab\\t", "plain"})
            QCOMPARE(SamplePanel::escape(SamplePanel::unescape(QString::fromLatin1(typed))),
                     QString::fromLatin1(typed));
        QSignalSpy changed(&p, &SamplePanel::settingsChanged);
        p.everyBox()->setValue(7);
        QCOMPARE(changed.count(), 1);
        QCOMPARE(p.settings().every, 7);
        p.addSample({10, 0.8, "\n", "first", ""});
        p.addSample({20, 0.5, "\nTo", " be", ""});
        p.addSample({30, 0.8, "é", "", "the prompt has a character outside the vocabulary"});
        QCOMPARE(p.sampleCount(), 3);
        const QString shown = p.shownText();
        QVERIFY2(shown.startsWith(QStringLiteral("step 30")), qPrintable(shown));
        QVERIFY(shown.indexOf(QStringLiteral("step 20 · T 0.5\nTo be")) > 0);
        QVERIFY(shown.indexOf(QStringLiteral("step 10")) > shown.indexOf(QStringLiteral("step 20")));
        QVERIFY(shown.contains(QStringLiteral("outside the vocabulary")));
        p.clear(QStringLiteral("new run"));
        QCOMPARE(p.sampleCount(), 0);
        QVERIFY(p.shownText().isEmpty());
    }

    // Preset box → lm: the language model starts, with its docks and its curve.
    void presetBoxStartsTheLanguageModel() {
        MainWindow w(test_presets::tiny());
        w.setPlaying(false);
        w.resize(1400, 900);
        w.show();
        QVERIFY(!w.sampleDock()->isVisible());
        QVERIFY(!w.plots().loss->curveShown("test_bits"));
        auto* box = w.findChild<QComboBox*>(QStringLiteral("preset_box"));
        QVERIFY(box && box->findText(QStringLiteral("lm")) >= 0);
        emit box->textActivated(QStringLiteral("lm"));
        QTRY_COMPARE_WITH_TIMEOUT(w.currentConfig().name, std::string("lm"), kTimeoutMs);
        QCOMPARE(w.currentConfig().model, std::string("transformer"));
        QTRY_VERIFY_WITH_TIMEOUT(w.tokenDock()->isVisible(), kTimeoutMs);
        QVERIFY(w.sampleDock()->isVisible());
        QVERIFY(w.plots().loss->curveShown("test_bits"));
        QVERIFY(!w.regionDock()->isVisible());  // no 2-D data: no region map
        // The held-out passage: 480 characters cut to whole sequences of 128.
        QCOMPARE(w.tokenView()->charCount(), 384L);
        w.setPlaying(false);
        const long before = w.stepsDone();
        w.stepOnce();
        QTRY_COMPARE_WITH_TIMEOUT(w.tokenView()->stepText(), QStringLiteral("step %1").arg(before + 1), kTimeoutMs);
        QCOMPARE(w.tokenView()->layerBox()->count(), 2);

        // Back to an MLP run: the lm parts go.
        w.startRun(test_presets::tiny());
        QTRY_VERIFY_WITH_TIMEOUT(!w.sampleDock()->isVisible(), kTimeoutMs);
        QVERIFY(!w.plots().loss->curveShown("test_bits"));
        QTRY_VERIFY_WITH_TIMEOUT(!w.tokenDock()->isVisible(), kTimeoutMs);
    }

    // A small lm run plays: every panel fills, samples come every N steps, hover shows gates.
    void smallRunFillsEveryPanel() {
        MainWindow w(small_lm());
        w.resize(1400, 900);
        w.show();
        w.setPlaying(false);
        SamplePanel* samples = w.samplePanel();
        samples->everyBox()->setValue(4);
        samples->lengthBox()->setValue(30);
        QTRY_VERIFY_WITH_TIMEOUT(w.tokenDock()->isVisible(), kTimeoutMs);
        QCOMPARE(w.tokenView()->charCount(), 480L);  // 15 sequences of 32
        w.setPlaying(true);
        QTRY_VERIFY_WITH_TIMEOUT(w.stepsDone() >= 12 && samples->sampleCount() >= 3, kTimeoutMs);
        w.setPlaying(false);
        QTRY_VERIFY_WITH_TIMEOUT(!w.isTrainingThreadRunning() || w.rateText() == QStringLiteral("paused"), kTimeoutMs);

        // Samples: one every 4 steps, 30 characters each, labelled, newest on top.
        for (int i = 0; i < samples->sampleCount(); ++i) {
            const LmSample& s = samples->sample(i);
            QCOMPARE(s.step, 4L * (i + 1));
            QVERIFY2(s.error.empty(), s.error.c_str());
            QCOMPARE(QString::fromStdString(s.text).size(), 30);
            QCOMPARE(s.temperature, 0.8);
        }
        const int n = samples->sampleCount();
        QVERIFY2(samples->shownText().startsWith(QStringLiteral("step %1").arg(4 * n)),
                 qPrintable(samples->shownText().left(40)));
        QVERIFY(samples->shownText().contains(QStringLiteral("step 4 ")));

        // Held-out bits per character: in the history every eval_every steps, drawn on the loss plot.
        const DecimatedSeries* bits = w.history().series("test_bits");
        QVERIFY(bits && !bits->y().empty());
        QVERIFY(bits->y().back() > 0 && bits->y().back() < 8);  // log2 65 ≈ 6 for an untrained model
        QTRY_VERIFY_WITH_TIMEOUT(w.plots().loss->customPlot()->graph(5)->dataCount() > 0, kTimeoutMs);
        QCOMPARE(w.plots().loss->customPlot()->graph(5)->name(), QStringLiteral("held-out bits/token"));
        // Load bars: the 8 experts' shares sum to 1.
        double total = 0;
        for (int e = 0; e < 8; ++e) total += w.loadHistogram()->barValue(e);
        QVERIFY(std::abs(total - 1.0) < 1e-6);

        // Tokens by expert, hovered: each layer's top-2 experts, gates largest first.
        TokenView* v = w.tokenView();
        QTRY_VERIFY_WITH_TIMEOUT(v->expertAt(0) >= 0, kTimeoutMs);
        const QString tip = plain(v->toolTipAt(5));
        QVERIFY2(tip.contains(QStringLiteral("L0: ")) && tip.contains(QStringLiteral("L1: ")), qPrintable(tip));
        QVERIFY2(tip.contains(QStringLiteral("top-2")), qPrintable(tip));
        const QRegularExpression gates(
            QStringLiteral("L%1:\\s+E(\\d)\\s+([01]\\.\\d\\d) ·\\s+E(\\d)\\s+([01]\\.\\d\\d)").arg(v->shownLayer()));
        const auto m = gates.match(tip);
        QVERIFY2(m.hasMatch(), qPrintable(tip));
        QVERIFY(m.captured(2).toDouble() >= m.captured(4).toDouble());
        QVERIFY(std::abs(m.captured(2).toDouble() + m.captured(4).toDouble() - 1.0) <= 0.011);
        QCOMPARE(m.captured(1).toInt(), v->expertAt(5));  // the colour is the largest gate's expert
        // The pointer finds the character it is over, and the tooltip shows there.
        for (long i : {0L, 5L, 100L, 479L}) {
            const QPoint at = v->pointOf(i);
            QCOMPARE(v->charIndexAt(at), i);
        }
        const QPoint at = v->pointOf(5);
        QHelpEvent hover(QEvent::ToolTip, at, v->textViewport()->mapToGlobal(at));
        QApplication::sendEvent(v->textViewport(), &hover);
        QTRY_COMPARE(plain(QToolTip::text()), tip);
    }

    // An lm run saves, reopens paused at its step and continues; its samples start again.
    void snapshotSavesAndResumes() {
        const QString path = tmp_.filePath(QStringLiteral("lm.moesnap"));
        long saved_step = 0;
        {
            MainWindow a(small_lm());
            a.show();
            a.setPlaying(true);
            QTRY_VERIFY_WITH_TIMEOUT(a.stepsDone() >= 6, kTimeoutMs);
            a.setPlaying(false);
            QSignalSpy saved(&a, &MainWindow::snapshotSaved);
            QVERIFY(a.saveSnapshot(path));
            QTRY_COMPARE_WITH_TIMEOUT(saved.count(), 1, kTimeoutMs);
            QVERIFY2(saved.at(0).at(1).toBool(), qPrintable(saved.at(0).at(2).toString()));
            saved_step = a.history().last_step();
        }
        MainWindow b(test_presets::tiny());
        b.show();
        QSignalSpy loaded(&b, &MainWindow::snapshotLoaded);
        QVERIFY2(b.loadSnapshot(path), qPrintable(b.lastError()));
        QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kTimeoutMs);
        QCOMPARE(b.stepsDone(), saved_step);
        QCOMPARE(b.currentConfig().dataset, std::string("lm"));
        QVERIFY(b.sampleDock()->isVisible());
        QVERIFY(b.plots().loss->curveShown("test_bits"));
        QTRY_VERIFY_WITH_TIMEOUT(b.tokenDock()->isVisible(), kTimeoutMs);
        b.samplePanel()->everyBox()->setValue(1);
        b.stepOnce();
        QTRY_COMPARE_WITH_TIMEOUT(b.stepsDone(), saved_step + 1, kTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(b.samplePanel()->sampleCount(), 1, kTimeoutMs);
        QCOMPARE(b.samplePanel()->sample(0).step, saved_step + 1);
        QTRY_COMPARE_WITH_TIMEOUT(b.tokenView()->stepText(), QStringLiteral("step %1").arg(saved_step + 1), kTimeoutMs);
    }

    // Branch and compare and a live knob: the branch steps with the main run, the knob marks both plots.
    void branchAndKnobWorkOnTheLanguageModel() {
        MainWindow w(small_lm());
        w.show();
        w.setPlaying(true);
        QTRY_VERIFY_WITH_TIMEOUT(w.stepsDone() >= 3, kTimeoutMs);
        QSignalSpy changed(&w, &MainWindow::branchChanged);
        w.branchRun();
        QTRY_COMPARE_WITH_TIMEOUT(changed.count(), 1, kTimeoutMs);
        QVERIFY(w.isBranched());
        w.applyKnob(QStringLiteral("aux_weight"), QStringLiteral("0.1"), QStringLiteral("user"));  // to the branch
        const long fork = w.stepsDone();
        QTRY_VERIFY_WITH_TIMEOUT(w.branchHistory() && w.branchHistory()->last_step() >= fork + 5, kTimeoutMs);
        w.setPlaying(false);
        QTRY_COMPARE_WITH_TIMEOUT(w.branchConfig().aux_weight, 0.1, kTimeoutMs);
        QCOMPARE(w.currentConfig().aux_weight, 0.01);
        QVERIFY(!w.branchHistory()->interventions().empty());
        QCOMPARE(w.branchHistory()->interventions().back().knob, std::string("aux_weight"));
        QTRY_VERIFY_WITH_TIMEOUT(w.plots().entropy->overlayCount() == 1, kTimeoutMs);
        // The tokens and samples stay the main run's.
        QVERIFY(w.tokenDock()->isVisible() && w.sampleDock()->isVisible());
    }

    // The phase diagram sweeps the language model like any run.
    void phaseDiagramSweepsTheLanguageModel() {
        MainWindow w(small_lm());
        w.setPlaying(false);
        w.show();
        SweepWindow* sweeps = w.openSweepWindow();
        QVERIFY(sweeps);
        Config base = small_lm();
        sweeps->setSpecFields(make_sweep_spec(base, parse_sweep_axis("aux_weight=1e-3:1e-1:2", true),
                                              parse_sweep_axis("router_lr=1e-3:1e-2:1", true), 3, 1));
        QSignalSpy finished(sweeps, &SweepWindow::sweepFinished);
        QVERIFY2(sweeps->start(), qPrintable(sweeps->status()));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeoutMs);
        QVERIFY(!finished.at(0).at(0).toBool());
        QCOMPARE(sweeps->map()->filledCells(), 2);
    }
};

QTEST_MAIN(TestLmWindow)
#include "test_lm_window.moc"
