#include "window/editor_keys.hpp"

#include <QAbstractSpinBox>
#include <QApplication>
#include <QComboBox>
#include <QKeyEvent>
#include <QLineEdit>
#include <QSlider>

EditorKeys::EditorKeys(QWidget* home) : QObject(home), home_(home) { qApp->installEventFilter(this); }

EditorKeys::~EditorKeys() {
    if (qApp) qApp->removeEventFilter(this);
}

bool EditorKeys::isNumericEditor(const QWidget* w) {
    // A spin box's own line edit has the focus in some styles: look at its parent too.
    for (int depth = 0; w && depth < 2; ++depth, w = w->parentWidget()) {
        if (qobject_cast<const QAbstractSpinBox*>(w) || qobject_cast<const QSlider*>(w)) return true;
        if (const auto* combo = qobject_cast<const QComboBox*>(w)) return !combo->isEditable();
        if (qobject_cast<const QLineEdit*>(w) && !qobject_cast<const QAbstractSpinBox*>(w->parentWidget()))
            return false;
    }
    return false;
}

bool EditorKeys::eventFilter(QObject* watched, QEvent* event) {
    const QEvent::Type type = event->type();
    if ((type != QEvent::ShortcutOverride && type != QEvent::KeyPress) || !home_ || !watched->isWidgetType())
        return QObject::eventFilter(watched, event);
    auto* widget = static_cast<QWidget*>(watched);
    // Only editors inside this window: dialogs keep their keys.
    if (widget == home_ || widget->window() != home_->window()) return QObject::eventFilter(watched, event);
    const auto* key = static_cast<QKeyEvent*>(event);
    if (key->modifiers() & ~Qt::KeypadModifier) return QObject::eventFilter(watched, event);
    if (type == QEvent::KeyPress && key->key() == Qt::Key_Escape &&
        (isNumericEditor(widget) || qobject_cast<QLineEdit*>(widget))) {
        home_->setFocus(Qt::ShortcutFocusReason);
        return true;
    }
    // Not accepting the override lets the window's shortcut take the key; filtering
    // it out keeps the box from also seeing it.
    if (type == QEvent::ShortcutOverride && (key->key() == Qt::Key_Space || key->key() == Qt::Key_S) &&
        isNumericEditor(widget)) {
        event->ignore();
        return true;
    }
    return QObject::eventFilter(watched, event);
}
