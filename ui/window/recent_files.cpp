#include "window/recent_files.hpp"

#include <QAction>
#include <QFileInfo>
#include <QMenu>
#include <QSettings>

#include "theme.hpp"

RecentFiles::RecentFiles(QMenu* menu, QObject* parent) : QObject(parent), menu_(menu) { rebuildMenu(); }

QStringList RecentFiles::files() const { return QSettings().value(theme::kSettingsRecent).toStringList(); }

void RecentFiles::add(const QString& path) {
    QStringList list = files();
    const QString abs = QFileInfo(path).absoluteFilePath();
    list.removeAll(abs);
    list.prepend(abs);
    while (list.size() > kMaxFiles) list.removeLast();
    QSettings().setValue(theme::kSettingsRecent, list);
    rebuildMenu();
}

void RecentFiles::rebuildMenu() {
    menu_->clear();
    const QStringList list = files();
    for (int i = 0; i < list.size(); ++i) {
        const QString path = list[i];
        QAction* a = menu_->addAction(QStringLiteral("&%1 %2").arg(i + 1).arg(QFileInfo(path).fileName()), this,
                                      [this, path] { emit openRequested(path); });
        a->setToolTip(path);
        a->setEnabled(QFileInfo::exists(path));
    }
    menu_->setEnabled(!list.isEmpty());
}
