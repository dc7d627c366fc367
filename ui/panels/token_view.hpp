#pragma once
// Tokens coloured by expert (text datasets): the first characters of the text,
// wrapped, in a monospace font, each on the colour of its first-choice expert in
// the chosen layer (theme::expert_color, as on every other expert map), with a
// legend and the step shown. Other datasets get a note instead (clear()).
#include <QColor>
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
    QComboBox* layerBox() const { return layer_box_; }
    // The window's layer box chooses the layer: this view's own box goes (one source of truth).
    void setLayerBoxVisible(bool visible);
    // The height that shows every character at `width` pixels, with the legend row.
    int heightFor(int width) const;

    // Ink that reads on `background`: near-black on light colours, white on dark ones.
    static QColor inkOn(const QColor& background);

protected:
    void changeEvent(QEvent* event) override;

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
    std::vector<QString> chars_;
    std::vector<int> positions_;  // document position of each character
    moescope::TokenExperts experts_;
    int layer_ = 0;
};
