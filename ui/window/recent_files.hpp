#pragma once
// The recently opened or saved snapshots: a list in the settings, shown as a
// menu whose entries ask to open their file (missing files are greyed out).
#include <QObject>
#include <QStringList>

class QMenu;

class RecentFiles : public QObject {
    Q_OBJECT
public:
    static constexpr int kMaxFiles = 8;

    explicit RecentFiles(QMenu* menu, QObject* parent = nullptr);
    QStringList files() const;  // newest first, absolute paths
    void add(const QString& path);

signals:
    void openRequested(const QString& path);

private:
    void rebuildMenu();
    QMenu* menu_;
};
