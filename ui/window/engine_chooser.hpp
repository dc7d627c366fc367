#pragma once
// The toolbar's engine box (Engine: auto / CPU / CUDA). Which engines exist and
// whether this machine can run them is the app's knowledge (app/gui_main.cpp
// asks the build and the GPU); the box only shows names and reasons, refuses an
// engine that is not available, and says which Backend the user asked for.
#include <QComboBox>
#include <QString>
#include <vector>

#include "engine/engine_factory.hpp"

struct EngineOption {
    moescope::Backend backend = moescope::Backend::Cpu;
    QString label;          // "CUDA"
    bool available = true;  // this build and machine can train on it
    QString reason;         // one line: why not, or what it is ("NVIDIA H200, 139 GiB")
};

class EngineChooser : public QComboBox {
    Q_OBJECT
public:
    explicit EngineChooser(QWidget* parent = nullptr);

    // auto and CPU until the app says more.
    static std::vector<EngineOption> defaultOptions();
    void setOptions(std::vector<EngineOption> options);
    const std::vector<EngineOption>& options() const { return options_; }
    moescope::Backend chosen() const { return chosen_; }
    // Shows `backend` as chosen without asking for it (a refused choice goes back here).
    void showChosen(moescope::Backend backend);
    // Back to the engine chosen before the last choice (the run could not move to the new one).
    void revert() { showChosen(previous_); }

signals:
    void backendChosen(moescope::Backend backend);
    void refused(const QString& message);  // an unavailable engine was picked: "CUDA: <reason>"

private:
    void onActivated(int index);

    std::vector<EngineOption> options_;
    moescope::Backend chosen_ = moescope::Backend::Cpu, previous_ = moescope::Backend::Cpu;
};
