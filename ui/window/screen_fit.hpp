#pragma once
// A window placed where it can be seen whole: a size restored from a larger
// screen (1500×960 saved at 1920×1080, launched at 1280×720) is shrunk to the
// screen's available area and moved inside it.
#include <QRect>

// `frame` (the window with its frame) shrunk to fit `available` and moved inside it;
// unchanged when it already fits.
QRect fit_on_screen(const QRect& frame, const QRect& available);
