#include "window/screen_fit.hpp"

#include <algorithm>

QRect fit_on_screen(const QRect& frame, const QRect& available) {
    if (available.isEmpty()) return frame;
    QRect r = frame;
    r.setWidth(std::min(r.width(), available.width()));
    r.setHeight(std::min(r.height(), available.height()));
    r.moveLeft(std::clamp(r.left(), available.left(), available.right() - r.width() + 1));
    r.moveTop(std::clamp(r.top(), available.top(), available.bottom() - r.height() + 1));
    return r;
}
