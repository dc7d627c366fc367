#include "theme.hpp"

#include <algorithm>

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

}  // namespace theme
