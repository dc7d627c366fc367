// Typing and dragging a knob as a lecturer does (issue 18 §5): a value typed out
// of range is refused with the reason and the range under the box it was typed
// in (an integer box too, which Qt would revert silently); a Shift-drag of a log
// slider moves ten times finer than a plain drag.
#include <QLabel>
#include <QLineEdit>
#include <QMouseEvent>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QStyleOptionSlider>
#include <QtTest>
#include <cmath>

#include "panels/knob_editor.hpp"
#include "panels/knob_panel.hpp"

namespace {

void type_into(QAbstractSpinBox* box, const QString& text) {
    box->setFocus();
    box->findChild<QLineEdit*>()->selectAll();
    QTest::keyClicks(box, text);
    QTest::keyClick(box, Qt::Key_Return);
}

QPoint handle_centre(QSlider* s) {
    QStyleOptionSlider opt;
    opt.initFrom(s);
    opt.orientation = s->orientation();
    opt.minimum = s->minimum();
    opt.maximum = s->maximum();
    opt.sliderPosition = s->sliderPosition();
    opt.sliderValue = s->value();
    return s->style()->subControlRect(QStyle::CC_Slider, &opt, QStyle::SC_SliderHandle, s).center();
}

void send_mouse(QSlider* s, QEvent::Type type, QPoint at, Qt::KeyboardModifiers mods) {
    const Qt::MouseButtons buttons = type == QEvent::MouseButtonRelease ? Qt::NoButton : Qt::LeftButton;
    QMouseEvent e(type, QPointF(at), s->mapToGlobal(QPointF(at)), Qt::LeftButton, buttons, mods);
    QApplication::sendEvent(s, &e);
}

// Decades the value moved when the handle is dragged `px` pixels right.
double decades_dragged(KnobEditor* ed, int px, Qt::KeyboardModifiers mods) {
    QSlider* s = ed->slider();
    ed->setValueText(QStringLiteral("0.001"));
    const QPoint from = handle_centre(s);
    send_mouse(s, QEvent::MouseButtonPress, from, mods);
    for (int dx = 1; dx <= px; ++dx) send_mouse(s, QEvent::MouseMove, from + QPoint(dx, 0), mods);
    send_mouse(s, QEvent::MouseButtonRelease, from + QPoint(px, 0), mods);
    return std::log10(ed->valueText().toDouble() / 0.001);
}

}  // namespace

class TestKnobInput : public QObject {
    Q_OBJECT

private slots:
    void out_of_range_is_explained_beside_the_box_data() {
        QTest::addColumn<QString>("knob");
        QTest::addColumn<QString>("typed");
        QTest::addColumn<QString>("range");
        QTest::newRow("lr 50") << "lr"
                               << "50"
                               << "[0, 1]";
        QTest::newRow("top_k -5") << "top_k"
                                  << "-5"
                                  << "[1, 8]";
        QTest::newRow("top_k 50") << "top_k"
                                  << "50"
                                  << "[1, 8]";
    }
    void out_of_range_is_explained_beside_the_box() {
        QFETCH(QString, knob);
        QFETCH(QString, typed);
        QFETCH(QString, range);
        KnobPanel panel;
        panel.resize(420, 900);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        KnobEditor* ed = panel.editor(knob);
        QVERIFY(ed);
        QAbstractSpinBox* box = ed->realSpin() ? static_cast<QAbstractSpinBox*>(ed->realSpin()) : ed->intSpin();
        QVERIFY(box);
        const QString before = ed->valueText();
        QSignalSpy live(&panel, &KnobPanel::liveKnobChanged);
        QSignalSpy structural(&panel, &KnobPanel::structuralKnobChanged);
        type_into(box, typed);
        QCOMPARE(live.count() + structural.count(), 0);
        QCOMPARE(ed->valueText(), before);  // reverted...
        auto* note = ed->findChild<QLabel*>(QStringLiteral("knob_problem"));
        QVERIFY(note && note->isVisible());  // ...with the reason under the box
        QVERIFY2(ed->problemText().contains(typed) && ed->problemText().contains(range) &&
                     ed->problemText().contains(QStringLiteral("kept ") + before),
                 qPrintable(ed->problemText()));
        QVERIFY(note->geometry().bottom() > box->geometry().bottom());
        ed->editValue(ed->def().default_text().c_str());  // the next edit clears it
        QVERIFY(!note->isVisible());
    }

    void integer_arrows_stay_in_range() {
        KnobPanel panel;
        QSpinBox* box = panel.editor(QStringLiteral("top_k"))->intSpin();
        panel.editor(QStringLiteral("top_k"))->setValueText(QStringLiteral("8"));
        box->stepBy(1);
        QCOMPARE(box->value(), 8);
        box->stepBy(-20);
        QCOMPARE(box->value(), 1);
    }

    void shift_drag_of_a_log_slider_is_ten_times_finer() {
        KnobPanel panel;
        panel.resize(420, 900);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        KnobEditor* ed = panel.editor(QStringLiteral("lr"));
        QVERIFY(ed->slider()->width() > 50);
        const double coarse = decades_dragged(ed, 20, Qt::NoModifier);
        const double fine = decades_dragged(ed, 20, Qt::ShiftModifier);
        qInfo("20 px: %.3f decades plain, %.3f with Shift", coarse, fine);
        QVERIFY2(coarse > 0.5, qPrintable(QString::number(coarse)));
        QVERIFY2(fine > 0 && fine < coarse / 5, qPrintable(QStringLiteral("%1 vs %2").arg(fine).arg(coarse)));
    }
};

QTEST_MAIN(TestKnobInput)
#include "test_knob_input.moc"
