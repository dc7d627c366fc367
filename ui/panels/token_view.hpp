#pragma once
// Tokens coloured by expert (text and lm datasets): the first characters of the
// text (lm: of its held-out part), wrapped, in a monospace font, each on the
// colour of its first-choice expert in the chosen layer (theme::expert_color, as
// on every other expert map), with a legend and the step shown; hovering a
// character shows its top-k experts and gates in every layer. Other datasets get
// a note instead (clear()).
#include <QColor>
#include <QPoint>
#include <QString>
#include <QWidget>

#include <string>
#include <vector>

#include "monitor/token_experts.hpp"

class QComboBox;
class QLabel;
class QTextBrowser;

class TokenView : public QWidget {
    Q_OBJECT
public:
    explicit TokenView(QWidget* parent = nullptr);

    // The characters shown (UTF-8 each); forgets the experts of another text.
    void setText(const std::vector<std::string>& chars);
    // Each character's expert per layer; te.chars must match the text's length.
    void setExperts(const moescope::TokenExperts& experts);
    void setLayer(int layer);
    // Forgets text and experts and says why there is nothing to show.
    void clear(const QString& why);

    // What is drawn, for tests and the integrator.
    int shownLayer() const { return layer_; }
    long charCount() const { return long(chars_.size()); }
    int expertAt(long i) const;         // -1 while no experts are shown
    QColor backgroundAt(long i) const;  // of character i in the document
    QColor foregroundAt(long i) const;  // its ink
    QString characterAt(long i) const;  // as displayed ("↵" for a line break)
    QString stepText() const;
    QString legendText() const;
    QString note() const;  // "" while the text is shown
    // What hovering character i shows: the character, then per layer its first choice
    // or, for token choice, its top-k experts with their gates (largest first), the
    // shown layer in bold. Rich text; "" when i is out of range.
    QString toolTipAt(long i) const;
    // The character under a point of the text's viewport (-1: none) and the centre of
    // character i there (tests).
    long charIndexAt(const QPoint& viewport_pos) const;
    QPoint pointOf(long i) const;
    QWidget* textViewport() const;
    QComboBox* layerBox() const { return layer_box_; }
    // The window's layer box chooses the layer: this view's own box goes (one source of truth).
    void setLayerBoxVisible(bool visible);
    // The height that shows every character at `width` pixels, with the legend row.
    int heightFor(int width) const;

    // Ink that reads on `background`: near-black on light colours, white on dark ones.
    static QColor inkOn(const QColor& background);

protected:
    void changeEvent(QEvent* event) override;
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void rebuild();
    void rebuildLegend();
    void applyFont();

    QComboBox* layer_box_;
    QLabel* layer_label_;
    QLabel* step_;
    QLabel* legend_;
    QLabel* note_;
    QTextBrowser* text_;
    QString text_tip_;  // what hovering the text off any character shows
    std::vector<QString> chars_;
    std::vector<int> positions_;  // document position of each character
    moescope::TokenExperts experts_;
    int layer_ = 0;
};
