#include "window/engine_chooser.hpp"

#include <QSignalBlocker>
#include <QStandardItemModel>

using moescope::Backend;

EngineChooser::EngineChooser(QWidget* parent) : QComboBox(parent) {
    setToolTip(
        tr("The engine that trains: auto takes the GPU when this machine has a usable one. "
           "Changing it moves the running training to that engine from its exact state."));
    connect(this, &QComboBox::activated, this, &EngineChooser::onActivated);
    setOptions(defaultOptions());
}

std::vector<EngineOption> EngineChooser::defaultOptions() {
    return {{Backend::Auto, tr("auto"), true, tr("the best engine this machine has")},
            {Backend::Cpu, tr("CPU"), true, tr("the CPU engine")}};
}

void EngineChooser::setOptions(std::vector<EngineOption> options) {
    options_ = std::move(options);
    const QSignalBlocker block(this);
    clear();
    for (const EngineOption& o : options_) {
        addItem(o.available ? o.label : tr("%1 (not available)").arg(o.label));
        setItemData(count() - 1, o.reason, Qt::ToolTipRole);
    }
    showChosen(chosen_);
}

void EngineChooser::showChosen(Backend backend) {
    chosen_ = backend;
    const QSignalBlocker block(this);
    for (size_t i = 0; i < options_.size(); ++i)
        if (options_[i].backend == backend) setCurrentIndex(int(i));
}

void EngineChooser::onActivated(int index) {
    if (index < 0 || size_t(index) >= options_.size()) return;
    const EngineOption& o = options_[size_t(index)];
    if (!o.available) {
        showChosen(chosen_);  // the box goes back to the engine that runs
        emit refused(tr("%1 is not available: %2").arg(o.label, o.reason));
        return;
    }
    if (o.backend == chosen_) return;
    previous_ = chosen_;
    chosen_ = o.backend;
    emit backendChosen(o.backend);
}
