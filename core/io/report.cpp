#include "io/report.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <sstream>

#include "error.hpp"
#include "io/atomic_file.hpp"
#include "io/history_export.hpp"

namespace moescope {

namespace fs = std::filesystem;

namespace {

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string general(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

std::string local_iso_time() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    localtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return buf;
}

std::string markdown(const ReportContent& r) {
    const Config& cfg = *r.config;
    const MetricsHistory& h = *r.history;
    const StepMetrics& m = h.latest();
    std::ostringstream out;
    out << "# moescope report: " << cfg.name << r.title_note << "\n\n";
    out << "Written " << local_iso_time() << " at step " << h.last_step()
        << (r.run_file.empty() ? "" : ", run file `" + r.run_file + "`") << ".\n\n";
    out << "Model: " << cfg.layers << " MoE layers, " << cfg.experts << " experts, top-" << cfg.top_k << ", policy "
        << cfg.policy << ", d_model " << cfg.d_model << ", d_ff " << cfg.d_ff << ". Config: `config.json`; "
        << "every step's metrics: `metrics.csv`.\n\n";
    if (!m.layers.empty()) {
        out << "| layer | load entropy | router entropy | max util | dead experts | dropped |\n"
               "|---|---|---|---|---|---|\n";
        for (size_t l = 0; l < m.layers.size(); ++l) {
            const LayerMetrics& L = m.layers[l];
            out << "| " << l << " | " << fixed(L.load_entropy, 3) << " | " << fixed(L.router_entropy, 3) << " | "
                << fixed(L.max_util, 2) << " | " << L.dead_experts << " | " << fixed(L.dropped, 3) << " |\n";
        }
        out << "\nLoss " << general(m.loss) << ", train accuracy " << fixed(m.train_acc, 3) << ".\n\n";
    }
    out << "## Knob changes\n\n";
    if (r.interventions->empty()) out << "None.\n";
    for (const Intervention& iv : *r.interventions)
        out << "- step " << iv.step << ": " << iv.knob << " " << iv.old_value << " → " << iv.new_value << " ("
            << iv.source << ")\n";
    if (!r.plots.empty()) {
        out << "\n## Plots\n\n";
        for (const std::string& name : r.plots) out << "![" << name << "](" << name << ".png)\n\n";
    }
    return out.str();
}

}  // namespace

void prepare_report_folder(const std::string& dir) {
    std::error_code ec;
    const fs::file_status st = fs::status(dir, ec);
    if (fs::exists(st) && !fs::is_directory(st))
        throw ConfigError("report folder '" + dir + "' exists and is not a folder");
    if (fs::exists(st)) {
        // A link or special file where a report file goes fails now, not after the run.
        for (const char* name : {"config.json", "metrics.csv", "report.md"})
            check_save_target((fs::path(dir) / name).string(), "report file");
        return;
    }
    fs::create_directories(dir, ec);  // its return value is false for "a/b/" even when it made it
    std::error_code is_dir_ec;
    if (ec || !fs::is_directory(dir, is_dir_ec))
        throw DataError("cannot create the report folder '" + dir +
                        "': " + (ec ? ec.message() : std::string("no folder after creating it")));
}

void write_report(const std::string& dir, const ReportContent& r) {
    MS_ASSERT(r.config && r.history && r.interventions, "a report needs a config, a history and its knob changes");
    prepare_report_folder(dir);
    const fs::path folder(dir);
    save_config_file(*r.config, (folder / "config.json").string());
    export_history(*r.history, (folder / "metrics.csv").string());
    const std::string md_path = (folder / "report.md").string();
    write_file_atomically(md_path, {markdown(r)}, "report");
}

}  // namespace moescope
