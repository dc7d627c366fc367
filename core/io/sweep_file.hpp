#pragma once
// The `.moesweep` file: one JSON object holding everything needed to redraw a
// phase diagram or rerun any cell of it.
//
//   {"format": "moescope-sweep", "version": 1,
//    "config": {...base config JSON...},
//    "spec": {"x": {"knob","lo","hi","n","log"}, "y": {...}, "steps": S, "seeds": K},
//    "measures": ["load_entropy", ...],            // the order of each run's values
//    "cells": [{"ix","iy","x","y","runs": [{"seed": s, "values": [...]}]}]}
//
// NaN values (nothing measured) are written as null. A cancelled sweep holds
// only its finished cells. Also: per-cell CSV / JSON Lines exports.
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "train/sweep.hpp"

namespace moescope {

inline constexpr const char* kSweepFormat = "moescope-sweep";
inline constexpr int kSweepVersion = 1;

nlohmann::json sweep_to_json(const SweepResult& r);
// Throws DataError naming the key and the problem (`what` names the source, e.g. the file).
SweepResult sweep_from_json(const nlohmann::json& j, const std::string& what = "sweep");

// Written to a temp file, then renamed over `path`: a crash never leaves half a file.
// Throws DataError when it cannot be written.
void save_sweep(const SweepResult& r, const std::string& path);
// Throws DataError "sweep file 'PATH': ..." for a missing, unparsable or inconsistent file.
SweepResult load_sweep(const std::string& path);

// One row per finished cell: ix, iy, the two knob values (columns named after
// the knobs), seeds, then mean/min/max of every measure. CSV or JSON Lines by
// extension (.csv / .jsonl; ConfigError otherwise), written like save_sweep.
void export_sweep_cells(const SweepResult& r, const std::string& path);

}  // namespace moescope
