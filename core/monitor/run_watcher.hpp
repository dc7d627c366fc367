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
// moescope records hold all experts on every rank (summed). A rank file is
// known by its whole name: rank0 and rank00 are two writers.
#include <functional>
#include <map>
#include <memory>
#include <set>
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
    // pending step (the writers are done: `watch --once`), handing each step
    // to on_step as soon as it is complete, so memory stays bounded whatever
    // the file size.
    void finish(const std::function<void(WatchedStep&&)>& on_step);
    std::vector<WatchedStep> finish();  // the same, collected (small logs, tests)

    // "file:line: what is wrong", in order; the caller takes them with take_problems().
    std::vector<std::string> take_problems();
    long bad_lines() const { return bad_lines_; }
    long records() const { return records_; }
    long non_finite_records() const { return non_finite_records_; }
    long segments() const { return segments_; }  // run segments: 1 + reruns that rewrote a file
    const RouterLogHeader& header() const { return header_; }
    const std::vector<int>& layer_ids() const { return layer_ids_; }  // log layer id of each metrics layer
    int experts() const { return experts_; }
    int ep() const;
    // Whether the expert-parallel size fits the rank files seen: "" when it does
    // (or cannot be judged), else one sentence saying what is wrong.
    std::string layout_problem() const;
    // A note when the layout was assumed rather than stated ("" when none).
    std::string layout_note() const;
    // The framework whose flags remedies name: the option, the header, or
    // Megatron when Megatron records were read; "" when unknown.
    std::string framework() const;
    // A monitor remedy for the watched job: in its framework's flags when known,
    // and with no knob (moescope cannot turn the job's knobs).
    Remedy job_remedy(const Remedy& r) const;
    size_t sources() const { return sources_.size(); }
    size_t pending_steps() const { return pending_.size(); }  // steps read but not yet complete
    const Monitor& monitor() const { return monitor_; }
    const Config& config() const { return cfg_; }

private:
    struct Source {
        LogTail tail;
        int id;    // unique: a rank file is known by its whole name
        int rank;  // the number in its name (rank12.jsonl → 12), -1 when none
        long max_step = -1;
        long restarts_seen = 0;
        bool had_records = false;  // in this run segment
        long records = 0;
        bool refused = false;  // a header of a newer format version: its records are not read
    };
    struct Pending {
        std::map<int, std::map<int, RouterRecord>> layers;  // layer id → writer → record
        std::map<int, std::set<int>> layers_of_source;      // source id → layer ids it wrote
    };
    void discover();
    uint64_t read_source(Source& s, size_t max_bytes);
    void take_line(Source& s, std::string_view line, long number, bool too_long);
    void new_segment(Source& s);
    void complete(bool all, const std::function<void(WatchedStep&&)>& on_step);
    bool step_done(long step, const Pending& p) const;
    bool merge(long step, Pending& p, StepMetrics& m);
    bool merge_layer(long step, int layer, std::map<int, RouterRecord>& writers, LayerMetrics& lm, bool& logit_bound);
    WatchedStep publish(StepMetrics m, bool non_finite);
    void note(const std::string& text);

    std::string path_;
    bool directory_ = false;
    WatchOptions opt_;
    RouterLogHeader header_;
    std::vector<std::unique_ptr<Source>> sources_;
    std::map<long, Pending> pending_;
    std::vector<WatchedStep> ready_;  // steps completed while a new segment began
    long emitted_step_ = -1;
    std::vector<int> layer_ids_;
    std::map<int, size_t> layer_index_;
    std::set<int> unknown_layers_;
    std::vector<int> last_dead_;
    std::vector<char> logit_from_z_loss_;  // per layer: max |logit| is the lower bound from the z-loss
    int dead_layers_ = -1;
    int experts_ = 0;
    int first_width_ = 0;  // experts of the first moescope record, before a step fixes experts_
    Config cfg_;
    Monitor monitor_;
    DeadExpertTracker dead_;
    std::vector<std::string> problems_;
    std::set<std::string> noted_;
    long bad_lines_ = 0, records_ = 0, non_finite_records_ = 0, segments_ = 1;
    long step_non_finite_ = 0;  // non-finite records in the step being merged
    bool saw_megatron_ = false;
};

}  // namespace moescope
