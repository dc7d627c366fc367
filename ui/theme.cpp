#include "theme.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace theme {

QColor utilization_color(double u) {
    if (u < kDeadUtil) return kDead;
    if (u <= 1.0) return kFair;
    // blend fair → overloaded between 1× and kOverloadedUtil×
    const double t = std::clamp((u - 1.0) / (kOverloadedUtil - 1.0), 0.0, 1.0);
    return QColor::fromRgbF(float(kFair.redF() + t * (kOverloaded.redF() - kFair.redF())),
                            float(kFair.greenF() + t * (kOverloaded.greenF() - kFair.greenF())),
                            float(kFair.blueF() + t * (kOverloaded.blueF() - kFair.blueF())));
}

QColor expert_color(int expert) {
    // The first twelve: ColorBrewer Set3 (light, mutually distinct; its grey swapped
    // for a tan so no expert looks "dead"). Then golden-angle hues at three
    // lightness levels, so neighbours in index never share a look.
    static const std::array<QColor, 12> kSet3{QColor(141, 211, 199), QColor(255, 255, 179), QColor(190, 186, 218),
                                              QColor(251, 128, 114), QColor(128, 177, 211), QColor(253, 180, 98),
                                              QColor(179, 222, 105), QColor(252, 205, 229), QColor(229, 196, 148),
                                              QColor(188, 128, 189), QColor(204, 235, 197), QColor(255, 237, 111)};
    const int e = ((expert % kExpertColors) + kExpertColors) % kExpertColors;
    if (e < int(kSet3.size())) return kSet3[size_t(e)];
    const int i = e - int(kSet3.size());
    const double hue = std::fmod(i * 137.508, 360.0);
    static const double kLightness[3] = {0.80, 0.70, 0.88};
    return QColor(QColor::fromHslF(float(hue / 360.0), 0.60f, float(kLightness[i % 3])).rgb());  // plain 8-bit RGB
}

QColor class_color(int cls) {
    static const std::array<QColor, 7> kSeries{kBlue, kVermillion, kGreen, kOrange, kPurple, kSky, kYellow};
    const int n = int(kSeries.size());
    return kSeries[size_t(((cls % n) + n) % n)];
}

}  // namespace theme
