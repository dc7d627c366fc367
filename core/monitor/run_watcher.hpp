#pragma once
// Watches a real training job's router log (a file, or a directory of
// per-rank files) and turns it into the same StepMetrics and monitor
// warnings as a moescope run, so the history, the plots and the CLI need not
// know where a step came from. Formats: docs/formats/routerlog.md.
//
// Per-rank files are merged per (step, layer): Megatron's counts are of each
// rank's local experts, so ranks r and r' hold the same experts when
// r % ep == r' % ep (data-parallel replicas: summed) and consecutive expert
// slices otherwise (expert-parallel ranks: concatenated in rank order);
// moescope records hold all experts on every rank (summed).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/log_tail.hpp"
#include "io/routerlog.hpp"
#include "monitor/monitor.hpp"

namespace moescope {

struct WatchOptions {
    int ep = 0;                      // expert-parallel size; 0 = from the header, else 1
    int top_k = 0;                   // 0 = from the header; without either, load = C_i / ΣC
    size_t max_pending_steps = 256;  // a stalled rank cannot hold more steps than this back
    std::string framework;           // megatron|hf|deepspeed; "" = from the header, or megatron for Megatron logs
};

struct WatchedStep {
    StepMetrics metrics;
    std::vector<MonitorEvent> events;
};

class RunWatcher {
public:
    // `path` is a log file or a directory (rank*.jsonl in it or in its
    // tokens_per_expert/ folder, and any other *.jsonl). Throws ConfigError
    // when it is neither.
    RunWatcher(std::string path, WatchOptions opt);

    // Reads what the writers appended since the last call; returns the steps
    // that became complete, oldest first. Bad lines are kept in problems().
    std::vector<WatchedStep> poll();
    // Reads to the end, takes unterminated last lines, and completes every
    // pending step: the writers are done (`watch --once`).
    std::vector<WatchedStep> finish();

    // "file:line: what is wrong", in order; the caller takes them with take_problems().
    std::vector<std::string> take_problems();
    long bad_lines() const { return bad_lines_; }
    long records() const { return records_; }
    const RouterLogHeader& header() const { return header_; }
    const std::vector<int>& layer_ids() const { return layer_ids_; }  // log layer id of each metrics layer
    int experts() const { return experts_; }
    // The framework whose flags remedies name: the option, the header, or
    // Megatron when Megatron records were read; "" when unknown.
    std::string framework() const;
    // A monitor remedy for the watched job: in its framework's flags when known,
    // and with no knob (moescope cannot turn the job's knobs).
    Remedy job_remedy(const Remedy& r) const;
    size_t sources() const { return sources_.size(); }
    const Monitor& monitor() const { return monitor_; }
    const Config& config() const { return cfg_; }

private:
    struct Source {
        LogTail tail;
        int rank;
        long max_step = -1;
    };
    struct Pending {  // one step: layer id → rank → counts
        std::map<int, std::map<int, RouterRecord>> layers;
    };
    void discover();
    void take_line(Source& s, const std::string& line, long number);
    std::vector<WatchedStep> complete(bool all);
    bool merge(long step, Pending& p, StepMetrics& m);
    WatchedStep publish(StepMetrics m);

    std::string path_;
    bool directory_ = false;
    WatchOptions opt_;
    RouterLogHeader header_;
    std::vector<std::unique_ptr<Source>> sources_;
    std::map<long, Pending> pending_;
    long emitted_step_ = -1;
    std::vector<int> layer_ids_;
    int experts_ = 0;
    Config cfg_;
    Monitor monitor_;
    DeadExpertTracker dead_;
    std::vector<std::string> problems_;
    long bad_lines_ = 0, records_ = 0;
    bool saw_megatron_ = false;
};

}  // namespace moescope
