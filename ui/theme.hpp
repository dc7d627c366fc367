#pragma once
// Colours, fonts and settings keys: one place each, shared by every panel and plot.
#include <QColor>
#include <QFont>
#include <QString>

namespace theme {

// Series colours (Okabe–Ito, readable for colour-blind viewers and on projectors).
inline const QColor kBlue{0, 114, 178};
inline const QColor kOrange{230, 159, 0};
inline const QColor kGreen{0, 158, 115};
inline const QColor kVermillion{213, 94, 0};
inline const QColor kSky{86, 180, 233};
inline const QColor kPurple{204, 121, 167};
inline const QColor kYellow{240, 228, 66};
inline const QColor kGrey{140, 140, 140};
inline const QColor kInk{30, 30, 30};

// Expert load states: dead (grey), fair (blue), overloaded (red).
inline const QColor kDead{170, 170, 170};
inline const QColor kFair = kBlue;
inline const QColor kOverloaded{200, 40, 40};
inline constexpr double kDeadUtil = 0.1;        // below: drawn as dead
inline constexpr double kOverloadedUtil = 2.0;  // above: drawn fully red

// Intervention markers on time plots.
inline const QColor kMarker{120, 60, 160};

// Severity colours for the warnings panel and status bar.
inline const QColor kInfo = kSky;
inline const QColor kWarning = kOrange;
inline const QColor kCritical{200, 30, 30};

// Colour of an expert bar by utilisation (1 = fair share).
QColor utilization_color(double utilization);

// Expert identity on maps (expert regions): light tints, kExpertColors of them
// distinct, then repeating, so data points in class colours stay readable on top.
inline constexpr int kExpertColors = 64;
QColor expert_color(int expert);
// Data points by class: the saturated series colours above, cycling after seven.
QColor class_color(int cls);

inline QFont plot_font(int point_size = 9) {
    QFont f;
    f.setPointSize(point_size);
    return f;
}

// QSettings keys.
inline const QString kSettingsGeometry = QStringLiteral("window/geometry");
inline const QString kSettingsState = QStringLiteral("window/state");
inline const QString kSettingsPreset = QStringLiteral("run/preset");
inline const QString kSettingsSmoothing = QStringLiteral("plots/smoothing");
inline const QString kSettingsRecent = QStringLiteral("files/recent");

}  // namespace theme
