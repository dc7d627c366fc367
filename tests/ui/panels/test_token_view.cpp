// Tokens coloured by expert: the panel paints each character on its expert's
// colour (theme::expert_color, readable ink on it) for the chosen layer, and
// the window shows it, live, for a text run and hides it, explained, for others.
#include <QComboBox>
#include <QDockWidget>
#include <QFontDatabase>
#include <QStandardPaths>
#include <QtTest>

#include "panels/token_view.hpp"
#include "test_presets.hpp"
#include "theme.hpp"
#include "window/main_window.hpp"

using namespace moescope;

namespace {
constexpr int kTimeoutMs = 60000;

// Two layers over five characters; layer 1 reverses layer 0.
TokenExperts two_layers() {
    TokenExperts te;
    te.layers = 2;
    te.experts = 4;
    te.chars = 5;
    te.top1 = {0, 1, 2, 3, 1, /* layer 1 */ 1, 3, 2, 1, 0};
    te.step = 42;
    return te;
}
}  // namespace

class TestTokenView : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("moescope-test"));
    }

    void coloursFollowTheExpertsOfTheChosenLayer() {
        TokenView v;
        v.setText({"a", " ", "\n", "é", "."});
        QCOMPARE(v.charCount(), 5L);
        QCOMPARE(v.characterAt(2), QStringLiteral("\u21B5"));  // a line break stays visible
        QCOMPARE(v.characterAt(3), QStringLiteral("é"));
        QCOMPARE(v.expertAt(0), -1);  // no experts yet: plain text
        const TokenExperts te = two_layers();
        v.setExperts(te);
        QCOMPARE(v.layerBox()->count(), 2);
        QCOMPARE(v.shownLayer(), 0);
        QVERIFY2(v.stepText().contains(QStringLiteral("42")), qPrintable(v.stepText()));
        for (int layer : {0, 1}) {
            v.layerBox()->setCurrentIndex(layer);
            QCOMPARE(v.shownLayer(), layer);
            for (long i = 0; i < 5; ++i) {
                const QColor bg = theme::expert_color(te.expert(layer, i));
                QCOMPARE(v.expertAt(i), te.expert(layer, i));
                QCOMPARE(v.backgroundAt(i), bg);
                QCOMPARE(v.foregroundAt(i), TokenView::inkOn(bg));
            }
        }
        // Layer 1 holds experts 0..3 at 20/40/20/20 %: the legend lists each with its share.
        const QString legend = v.legendText();
        QVERIFY2(legend.contains(QStringLiteral("E1&nbsp;</span>&nbsp;40%")), qPrintable(legend));
        QVERIFY2(legend.contains(theme::expert_color(3).name()), qPrintable(legend));
        // Experts of another text (a different length) are not drawn on this one.
        TokenExperts other = te;
        other.chars = 4;
        other.top1.resize(8);
        other.step = 99;
        v.setExperts(other);
        QVERIFY(!v.stepText().contains(QStringLiteral("99")));
    }

    void inkContrastsWithTheBackground() {
        QCOMPARE(TokenView::inkOn(QColor(255, 255, 179)), theme::kInk);
        QCOMPARE(TokenView::inkOn(QColor(20, 30, 90)), QColor(Qt::white));
        for (int e = 0; e < theme::kExpertColors; ++e)  // the expert tints are light: dark ink on every one
            QCOMPARE(TokenView::inkOn(theme::expert_color(e)), theme::kInk);
    }

    void clearExplainsItself() {
        TokenView v;
        v.setText({"a", "b"});
        v.setExperts({1, 2, 2, {0, 1}, 3});
        v.clear(QStringLiteral("not a text run"));
        QCOMPARE(v.charCount(), 0L);
        QCOMPARE(v.note(), QStringLiteral("not a text run"));
        QCOMPARE(v.expertAt(0), -1);
        QVERIFY(v.legendText().isEmpty());
    }

    // The window: a text run shows the dock and colours the text at the step
    // trained; a run on another dataset hides it with a note.
    void windowShowsItForTextRunsOnly() {
        Config cfg = test_presets::seeded("lesson12_tokens");
        cfg.batch_tokens = 64;
        MainWindow w(cfg);
        w.setPlaying(false);
        w.show();
        QTRY_VERIFY_WITH_TIMEOUT(w.tokenDock()->isVisible(), kTimeoutMs);
        QCOMPARE(w.tokenView()->charCount(), 480L);
        QCOMPARE(w.tokenView()->characterAt(0), QStringLiteral("T"));  // "The Lighthouse Keeper's Apprentices"
        const long before = w.stepsDone();
        w.stepOnce();
        QTRY_VERIFY_WITH_TIMEOUT(w.tokenView()->stepText() == QStringLiteral("step %1").arg(before + 1), kTimeoutMs);
        QCOMPARE(w.tokenView()->layerBox()->count(), cfg.layers);
        // One layer box: the toolbar's (the last layer at first); the view's own is hidden.
        QVERIFY(!w.tokenView()->layerBox()->isVisible());
        QTRY_COMPARE_WITH_TIMEOUT(w.tokenView()->shownLayer(), cfg.layers - 1, kTimeoutMs);
        // The dock opens with room for the text (it opened a line and a half tall).
        const int line = QFontMetrics(QFontDatabase::systemFont(QFontDatabase::FixedFont)).lineSpacing();
        QVERIFY2(w.tokenDock()->height() >= 5 * line,
                 qPrintable(QStringLiteral("%1 px, a line is %2").arg(w.tokenDock()->height()).arg(line)));
        for (long i : {0L, 100L, 479L}) {
            const int e = w.tokenView()->expertAt(i);
            QVERIFY(e >= 0 && e < cfg.experts);
            QCOMPARE(w.tokenView()->backgroundAt(i), theme::expert_color(e));
        }

        w.startRun(test_presets::tiny());
        QTRY_VERIFY_WITH_TIMEOUT(!w.tokenDock()->isVisible(), kTimeoutMs);
        QVERIFY(w.tokenView()->note().contains(QStringLiteral("text")));
        QCOMPARE(w.tokenView()->charCount(), 0L);
    }
};

QTEST_MAIN(TestTokenView)
#include "test_token_view.moc"
