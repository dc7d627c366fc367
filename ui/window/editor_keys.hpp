#pragma once
// Keeps the window's one-key shortcuts working while a knob's editor has
// focus. Space (play/pause) and S (step) mean nothing to a number box or a
// slider, so there they go to the window's shortcut instead of being typed
// into the box; Esc in any editor hands the focus back to `home` (the plots),
// after which every shortcut works again. Text boxes keep Space and S.
#include <QObject>
#include <QPointer>
#include <QWidget>

class EditorKeys : public QObject {
    Q_OBJECT
public:
    // Watches the whole application's key events (installs itself on qApp).
    explicit EditorKeys(QWidget* home);
    ~EditorKeys() override;

    // True when `w` (or the widget it belongs to) is a number box, slider or
    // combo box: an editor in which Space and S are not text.
    static bool isNumericEditor(const QWidget* w);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    QPointer<QWidget> home_;
};
