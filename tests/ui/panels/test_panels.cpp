// Interface tests of the knob panel (one row per knob-table entry, validation
// before emission, log sliders, classroom mode) and the warnings panel.
#include <QApplication>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHeaderView>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSlider>
#include <QTableWidget>
#include <QTest>
#include <QToolButton>
#include <QWheelEvent>

#include "monitor/monitor.hpp"
#include "monitor/remedy.hpp"
#include "panels/knob_editor.hpp"
#include "panels/knob_panel.hpp"
#include "panels/warnings_panel.hpp"
#include "train/knobs.hpp"

namespace {

moescope::Warning make_warning(const std::string& id, int layer, long first_step, const std::string& knob, double value,
                               const std::string& message) {
    moescope::Warning w;
    w.id = id;
    w.severity = id == "collapse" ? moescope::Severity::Critical : moescope::Severity::Warning;
    w.layer = layer;
    w.first_step = first_step;
    w.last_step = first_step + 20;
    w.message = message;
    w.remedy.knob = knob;
    w.remedy.value = value;
    w.remedy.text = knob.empty() ? "raise noise_std or restart with a smaller router_init_std"
                                 : "set " + knob + " to " + std::to_string(value);
    return w;
}

std::vector<moescope::Warning> two_warnings(const std::string& collapse_message = "load entropy 0.55, max util 5.1") {
    return {make_warning("collapse", 0, 120, "aux_weight", 0.1, collapse_message),
            make_warning("dead_experts", -1, 140, "", 0, "3 of 8 experts dead in layer 1")};
}

}  // namespace

class TestPanels : public QObject {
    Q_OBJECT
private slots:
    void oneEditorPerKnob();
    void setConfigDoesNotEmit();
    void liveEditEmitsOnce();
    void structuralEditEmitsStructural();
    void invalidValueIsRejected();
    void typedValueEmitsOnce();
    void logSliderMapping();
    void sliderDragEmitsOnRelease();
    void resetRestoresDefault();
    void wheelOverUnfocusedEditorDoesNotEdit();
    void classroomModeHidesAdvancedKnobs();
    void warningsShowRowsAndRemedy();
    void sameWarningsDoNotRebuild();
    void noWarningsShowsPlaceholder();
    void warningShowsItsCurrentValue();
    void remediesFollowTheKnobs();
    void remedyLadderThroughThePanel();
};

void TestPanels::oneEditorPerKnob() {
    KnobPanel panel;
    QCOMPARE(panel.editorCount(), int(moescope::knob_table().size()));
    for (const auto& k : moescope::knob_table()) {
        const QString name = QString::fromUtf8(k.name.data(), qsizetype(k.name.size()));
        KnobEditor* ed = panel.editor(name);
        QVERIFY2(ed, qPrintable(name));
        QCOMPARE(ed->valueText(), QString::fromStdString(k.get_text(moescope::Config{})));
        QVERIFY2(ed->toolTip().contains(QString::fromUtf8(k.help.data(), qsizetype(k.help.size()))), qPrintable(name));
    }
    QVERIFY(panel.editor("aux_weight")->slider());
    QVERIFY(panel.editor("experts")->intSpin());
    QVERIFY(panel.editor("policy")->combo());
    QVERIFY(panel.editor("csv_path")->lineEdit());
    QVERIFY(panel.editor("lr")->toolTip().contains("live: applies at the next step"));
    QVERIFY(panel.editor("d_model")->toolTip().contains("structural: needs a new run"));
}

void TestPanels::setConfigDoesNotEmit() {
    KnobPanel panel;
    QSignalSpy live(&panel, &KnobPanel::liveKnobChanged);
    QSignalSpy structural(&panel, &KnobPanel::structuralKnobChanged);
    moescope::Config cfg;
    cfg.aux_weight = 0.05;
    cfg.experts = 16;
    cfg.policy = "expert_choice";
    cfg.hysteresis = 7;
    panel.setConfig(cfg);
    QCOMPARE(live.count(), 0);
    QCOMPARE(structural.count(), 0);
    QCOMPARE(panel.editor("aux_weight")->valueText(), QString("0.05"));
    QCOMPARE(panel.editor("aux_weight")->realSpin()->value(), 0.05);
    QCOMPARE(panel.editor("experts")->intSpin()->value(), 16);
    QCOMPARE(panel.editor("policy")->combo()->currentText(), QString("expert_choice"));
    QCOMPARE(panel.editor("hysteresis")->intSpin()->value(), 7);
    QCOMPARE(panel.config().aux_weight, 0.05);
}

void TestPanels::liveEditEmitsOnce() {
    KnobPanel panel;
    QSignalSpy live(&panel, &KnobPanel::liveKnobChanged);
    QSignalSpy structural(&panel, &KnobPanel::structuralKnobChanged);
    panel.editor("aux_weight")->editValue("0.1");
    QCOMPARE(live.count(), 1);
    QCOMPARE(live.at(0).at(0).toString(), QString("aux_weight"));
    QCOMPARE(live.at(0).at(1).toString(), QString("0.1"));
    QCOMPARE(structural.count(), 0);
    QCOMPARE(panel.config().aux_weight, 0.1);
    panel.editor("aux_weight")->editValue("0.10");  // same value: no second intervention
    QCOMPARE(live.count(), 1);
    QCOMPARE(panel.editor("aux_weight")->slider()->value(), panel.editor("aux_weight")->valueToSlider(0.1));
}

void TestPanels::structuralEditEmitsStructural() {
    KnobPanel panel;
    QSignalSpy live(&panel, &KnobPanel::liveKnobChanged);
    QSignalSpy structural(&panel, &KnobPanel::structuralKnobChanged);
    panel.editor("experts")->editValue("16");
    QCOMPARE(structural.count(), 1);
    QCOMPARE(structural.at(0).at(0).toString(), QString("experts"));
    QCOMPARE(structural.at(0).at(1).toString(), QString("16"));
    QComboBox* policy = panel.editor("policy")->combo();
    policy->setCurrentIndex(policy->findText("noisy_topk"));
    emit policy->activated(policy->currentIndex());  // what a user's pick emits
    QCOMPARE(structural.count(), 2);
    QCOMPARE(structural.at(1).at(1).toString(), QString("noisy_topk"));
    QCOMPARE(live.count(), 0);
}

void TestPanels::invalidValueIsRejected() {
    KnobPanel panel;
    QSignalSpy live(&panel, &KnobPanel::liveKnobChanged);
    QSignalSpy structural(&panel, &KnobPanel::structuralKnobChanged);
    panel.editor("lr")->editValue("-1");
    QCOMPARE(live.count(), 0);
    QCOMPARE(structural.count(), 0);
    QVERIFY2(panel.errorText().contains("lr"), qPrintable(panel.errorText()));
    QCOMPARE(panel.editor("lr")->valueText(), QString("0.001"));
    QCOMPARE(panel.editor("lr")->realSpin()->value(), 0.001);
    QCOMPARE(panel.config().lr, 1e-3);

    panel.editor("policy")->editValue("round_robin");
    panel.editor("top_k")->editValue("2.5");
    QCOMPARE(structural.count(), 0);
    QVERIFY2(panel.errorText().contains("top_k"), qPrintable(panel.errorText()));

    panel.editor("lr")->editValue("0.002");  // a valid edit clears the error
    QCOMPARE(live.count(), 1);
    QVERIFY(panel.errorText().isEmpty());
}

void TestPanels::typedValueEmitsOnce() {
    KnobPanel panel;
    panel.resize(420, 900);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    QSignalSpy live(&panel, &KnobPanel::liveKnobChanged);
    QDoubleSpinBox* spin = panel.editor("aux_weight")->realSpin();
    spin->setFocus();
    spin->selectAll();
    QTest::keyClicks(spin, "1e-3");
    QCOMPARE(live.count(), 0);  // nothing while typing
    QTest::keyClick(spin, Qt::Key_Return);
    QCOMPARE(live.count(), 1);
    QCOMPARE(live.at(0).at(1).toString(), QString("0.001"));
    emit spin->editingFinished();  // focus leaving later repeats editingFinished
    QCOMPARE(live.count(), 1);
    QTest::keyClick(spin, Qt::Key_Up);  // log knobs step along 1-2-5
    QCOMPARE(live.count(), 2);
    QCOMPARE(live.at(1).at(1).toString(), QString("0.002"));
}

void TestPanels::logSliderMapping() {
    KnobPanel panel;
    QSignalSpy live(&panel, &KnobPanel::liveKnobChanged);
    KnobEditor* aux = panel.editor("aux_weight");
    QCOMPARE(aux->sliderToValue(0), 0.0);
    QCOMPARE(aux->sliderToValue(KnobEditor::kSliderSteps), 10.0);
    QCOMPARE(aux->valueToSlider(0), 0);
    QCOMPARE(aux->valueToSlider(10), KnobEditor::kSliderSteps);
    // Logarithmic: the decades 1e-3..1e-2 and 1e-2..1e-1 take equal slider travel.
    const int p3 = aux->valueToSlider(1e-3), p2 = aux->valueToSlider(1e-2), p1 = aux->valueToSlider(1e-1);
    QVERIFY(p3 > 0);
    QVERIFY(std::abs((p2 - p3) - (p1 - p2)) <= 1);
    QVERIFY(std::abs(aux->sliderToValue(p2) - 1e-2) < 1e-4);

    aux->slider()->setValue(0);  // leftmost
    QCOMPARE(live.count(), 1);
    QCOMPARE(live.at(0).at(1).toString(), QString("0"));
    QCOMPARE(aux->realSpin()->value(), 0.0);
    aux->slider()->setValue(KnobEditor::kSliderSteps);  // rightmost
    QCOMPARE(live.count(), 2);
    QCOMPARE(live.at(1).at(1).toString(), QString("10"));
    QCOMPARE(panel.config().aux_weight, 10.0);

    KnobEditor* temperature = panel.editor("temperature");  // min 0.05 > 0: leftmost is the min
    QCOMPARE(temperature->sliderToValue(0), 0.05);
    KnobEditor* noise = panel.editor("noise_std");  // linear
    QCOMPARE(noise->sliderToValue(KnobEditor::kSliderSteps / 2), 5.0);
}

void TestPanels::sliderDragEmitsOnRelease() {
    KnobPanel panel;
    QSignalSpy live(&panel, &KnobPanel::liveKnobChanged);
    KnobEditor* noise = panel.editor("noise_std");
    noise->slider()->setSliderDown(true);
    for (int p = 10; p <= 100; p += 10) noise->slider()->setValue(p);
    QCOMPARE(live.count(), 0);
    QCOMPARE(noise->realSpin()->value(), 1.0);  // the number follows the drag
    noise->slider()->setSliderDown(false);
    QCOMPARE(live.count(), 1);
    QCOMPARE(live.at(0).at(0).toString(), QString("noise_std"));
    QCOMPARE(live.at(0).at(1).toString(), QString("1"));
}

void TestPanels::resetRestoresDefault() {
    KnobPanel panel;
    QSignalSpy live(&panel, &KnobPanel::liveKnobChanged);
    KnobEditor* aux = panel.editor("aux_weight");
    QVERIFY(!aux->resetButton()->isEnabled());  // already at the default
    QVERIFY(aux->resetButton()->toolTip().contains("0.01"));
    aux->editValue("0.3");
    QVERIFY(aux->resetButton()->isEnabled());
    aux->resetButton()->click();
    QCOMPARE(live.count(), 2);
    QCOMPARE(live.at(1).at(0).toString(), QString("aux_weight"));
    QCOMPARE(live.at(1).at(1).toString(), QString("0.01"));
    QCOMPARE(aux->realSpin()->value(), 0.01);
    QCOMPARE(panel.config().aux_weight, 0.01);
    QVERIFY(!aux->resetButton()->isEnabled());
}

void TestPanels::wheelOverUnfocusedEditorDoesNotEdit() {
    KnobPanel panel;
    panel.resize(420, 900);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    QSignalSpy live(&panel, &KnobPanel::liveKnobChanged);
    QSlider* slider = panel.editor("noise_std")->slider();
    const QPoint at = slider->rect().center();
    auto wheel = [&] {
        QWheelEvent e(at, slider->mapToGlobal(at), {}, {0, 120}, Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase,
                      false);
        QApplication::sendEvent(slider, &e);
    };
    wheel();
    QCOMPARE(live.count(), 0);
    QCOMPARE(slider->value(), 0);
    slider->setFocus();
    QTRY_VERIFY(slider->hasFocus());
    wheel();
    QCOMPARE(live.count(), 1);  // a focused editor does take the wheel
}

void TestPanels::classroomModeHidesAdvancedKnobs() {
    KnobPanel panel;
    panel.setAdvancedVisible(false);
    QVERIFY(!panel.editor("hysteresis")->isVisibleTo(&panel));
    QVERIFY(!panel.editor("zipf")->isVisibleTo(&panel));
    QVERIFY(!panel.editor("weight_decay")->isVisibleTo(&panel));
    QVERIFY(!panel.editor("d_model")->isVisibleTo(&panel));
    for (const char* name : {"aux_weight", "router_lr", "lr", "noise_std", "z_weight", "capacity_factor", "temperature",
                             "experts", "top_k", "policy"})
        QVERIFY2(panel.editor(name)->isVisibleTo(&panel), name);
    panel.setAdvancedVisible(true);
    QVERIFY(panel.editor("hysteresis")->isVisibleTo(&panel));
    QVERIFY(panel.editor("d_model")->isVisibleTo(&panel));
}

void TestPanels::warningsShowRowsAndRemedy() {
    WarningsPanel panel;
    QSignalSpy remedy(&panel, &WarningsPanel::remedyRequested);
    panel.setWarnings(two_warnings());
    QCOMPARE(panel.warningCount(), 2);
    QCOMPARE(panel.table()->rowCount(), 2);
    QCOMPARE(panel.messageAt(0), QString("load entropy 0.55, max util 5.1"));
    QCOMPARE(panel.table()->item(0, WarningsPanel::LayerColumn)->text(), QString("L0"));
    QCOMPARE(panel.table()->item(1, WarningsPanel::LayerColumn)->text(), QString("all"));
    QCOMPARE(panel.table()->item(0, WarningsPanel::SeverityColumn)->text(), QString("critical"));
    QVERIFY(!panel.remedyButton(1));  // no knob remedy: text only
    QVERIFY(panel.table()->item(1, WarningsPanel::RemedyColumn)->text().contains("noise_std"));
    QPushButton* button = panel.remedyButton(0);
    QVERIFY(button);
    QVERIFY2(button->text().contains("aux_weight"), qPrintable(button->text()));
    button->click();
    QCOMPARE(remedy.count(), 1);
    QCOMPARE(remedy.at(0).at(0).toString(), QString("aux_weight"));
    QCOMPARE(remedy.at(0).at(1).toDouble(), 0.1);

    panel.resize(400, 300);  // narrow: severity as icon only, its name in the tooltip
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    QVERIFY(panel.table()->item(0, WarningsPanel::SeverityColumn)->text().isEmpty());
    QCOMPARE(panel.table()->item(0, WarningsPanel::SeverityColumn)->toolTip(), QString("critical"));
    QVERIFY(panel.remedyButton(0)->text().contains("aux_weight"));
    QTRY_VERIFY(panel.table()->columnWidth(WarningsPanel::MessageColumn) >= 120);  // the header resizes lazily
}

void TestPanels::sameWarningsDoNotRebuild() {
    WarningsPanel panel;
    panel.setWarnings(two_warnings());
    QPointer<QPushButton> button = panel.remedyButton(0);
    panel.setWarnings(two_warnings("load entropy 0.52, max util 5.4"));
    QCOMPARE(panel.remedyButton(0), button.data());
    QCOMPARE(panel.messageAt(0), QString("load entropy 0.52, max util 5.4"));  // values refresh in place

    auto changed = two_warnings();
    changed[1].first_step = 300;  // a new streak: a different warning
    panel.setWarnings(changed);
    QVERIFY(panel.remedyButton(0));
    QVERIFY(panel.remedyButton(0) != button.data());  // rebuilt
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
    QVERIFY(button.isNull());  // the old row's button is gone
}

void TestPanels::noWarningsShowsPlaceholder() {
    WarningsPanel panel;
    QCOMPARE(panel.warningCount(), 0);
    panel.setWarnings(two_warnings());
    QPointer<QPushButton> button = panel.remedyButton(0);
    panel.setWarnings({});
    QCOMPARE(panel.warningCount(), 0);
    QVERIFY(!panel.remedyButton(0));
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
    QVERIFY(button.isNull());
    QCOMPARE(panel.table()->rowCount(), 1);
    QVERIFY(panel.table()->item(0, 0)->text().contains("No warnings"));
    QVERIFY(panel.messageAt(0).isEmpty());
}

// A remedy lifted the value: the row keeps the message it was raised with and
// shows the value now beside the one then; the header says what "Since" means.
void TestPanels::warningShowsItsCurrentValue() {
    WarningsPanel panel;
    auto warnings = two_warnings("layer 0: routing collapsed (load entropy 0.52, max utilisation 5.1×)");
    warnings[0].quantity = "load entropy";
    warnings[0].first_value = 0.52;
    warnings[0].current_value = 0.52;
    panel.setWarnings(warnings);
    QCOMPARE(panel.currentAt(0), QString("now load entropy 0.52 (0.52 when raised)"));
    QVERIFY(panel.currentAt(1).isEmpty());  // no value known: nothing added
    warnings[0].current_value = 0.8;
    panel.setWarnings(warnings);
    QCOMPARE(panel.messageAt(0), QString("layer 0: routing collapsed (load entropy 0.52, max utilisation 5.1×)"));
    QCOMPARE(panel.currentAt(0), QString("now load entropy 0.8 (0.52 when raised)"));
    QVERIFY(panel.table()->item(0, WarningsPanel::MessageColumn)->text().contains("now load entropy 0.8"));
    QTableWidgetItem* since = panel.table()->horizontalHeaderItem(WarningsPanel::StepColumn);
    QCOMPARE(since->text(), QString("Since"));
    QVERIFY(since->toolTip().contains("the step at which the problem started"));
    QVERIFY(since->toolTip().contains("latest step"));
}

// The window's case: collapse and dead experts raised with aux_weight 0 offered
// "→ 0.1"; aux_weight is now 0.3 (by hand or a lesson's script). The rows offer
// 1 (raising it), and once it is 1, no button at all: a sentence says why.
void TestPanels::remediesFollowTheKnobs() {
    WarningsPanel panel;
    QSignalSpy remedy(&panel, &WarningsPanel::remedyRequested);
    const std::vector<moescope::Warning> raised = {
        make_warning("collapse", 0, 120, "aux_weight", 0.1, "collapsed"),
        make_warning("dead_experts", 1, 130, "aux_weight", 0.1, "3 of 8 dead")};
    panel.setWarnings(raised);
    QVERIFY(panel.remedyButton(0)->text().contains(QStringLiteral("0.1")));  // no knobs known: as raised
    moescope::Config cfg;
    cfg.aux_weight = 0.3;
    panel.setKnobs(cfg);
    for (int row = 0; row < 2; ++row) {
        QVERIFY(panel.remedyButton(row));
        QVERIFY2(panel.remedyButton(row)->text().contains(QStringLiteral("→ 1")),
                 qPrintable(panel.remedyButton(row)->text()));
    }
    panel.remedyButton(1)->click();
    QCOMPARE(remedy.count(), 1);
    QCOMPARE(remedy.at(0).at(1).toDouble(), 1.0);
    // Frames keep arriving with the remedies as raised: the knobs still decide.
    panel.setWarnings(raised);
    QVERIFY(panel.remedyButton(0)->text().contains(QStringLiteral("→ 1")));
    cfg.aux_weight = 1.0;
    panel.setKnobs(cfg);
    QVERIFY(!panel.remedyButton(0));
    QVERIFY(!panel.remedyButton(1));
    QVERIFY(panel.table()->item(0, WarningsPanel::RemedyColumn)->text().contains(QStringLiteral("already 1")));
    // A watched job's remedies name its flags: shown as raised.
    panel.setKnobs(std::nullopt);
    QVERIFY(panel.remedyButton(0)->text().contains(QStringLiteral("0.1")));
}

// Every warning kind, walked up (or down) its knob's ladder by pressing the row's
// button and applying what it asks: each press moves the knob in the remedy's
// direction, and the button goes once no value can help.
void TestPanels::remedyLadderThroughThePanel() {
    for (const char* id : {"collapse", "dead_experts", "router_saturation", "high_drop", "loss_spike", "non_finite"}) {
        for (const char* policy : {"topk", "bias_balanced"}) {
            WarningsPanel panel;
            QSignalSpy remedy(&panel, &WarningsPanel::remedyRequested);
            moescope::Config cfg;
            cfg.policy = policy;
            cfg.capacity_factor = 1.0;
            cfg.aux_weight = 0;
            cfg.z_weight = 0;
            cfg.bias_update_rate = 0;
            cfg.lr = 1.0;
            panel.setWarnings({make_warning(id, 0, 10, "", 0, "raised")});
            int presses = 0;
            for (panel.setKnobs(cfg); panel.remedyButton(0); panel.setKnobs(cfg)) {
                QVERIFY2(++presses < 40, id);
                panel.remedyButton(0)->click();
                QCOMPARE(remedy.count(), presses);
                const QString knob = remedy.last().at(0).toString();
                const double value = remedy.last().at(1).toDouble();
                const moescope::KnobDef& k = moescope::knob(knob.toStdString());
                const double before = k.get_number(cfg);
                const int dir = moescope::remedy_direction(knob.toStdString());
                QVERIFY2(dir > 0 ? value > before : value < before,
                         qPrintable(QStringLiteral("%1: %2 %3 → %4").arg(id, knob).arg(before).arg(value)));
                QVERIFY(value >= k.min && value <= k.max);
                k.set_number(cfg, value);
            }
            QVERIFY2(presses >= 1, id);
            QVERIFY(!panel.table()->item(0, WarningsPanel::RemedyColumn)->text().isEmpty());
        }
    }
}

QTEST_MAIN(TestPanels)
#include "test_panels.moc"
