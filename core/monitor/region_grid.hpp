#pragma once
// Expert regions of a 2-D dataset: the input plane cut into resolution ×
// resolution cells, each coloured by the expert its centre is routed to first in
// every MoE layer — TensorFlow Playground's decision map, but for routing.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "data/dataset.hpp"
#include "engine/engine.hpp"
#include "train/config.hpp"

namespace moescope {

struct RegionGrid {
    int resolution = 0;  // cells per side (grid is resolution × resolution)
    int layers = 0, experts = 0;
    double x_min = 0, x_max = 0, y_min = 0, y_max = 0;  // the plane shown (data bounds + 5% margin)
    std::vector<int16_t> top1;      // [layer][row][col], row 0 = y_min: the cell centre's first-choice expert
    std::vector<float> confidence;  // same shape: the router probability p of that expert, in [0,1]
    long step = 0;                  // trainer step it was computed at (set by the caller)

    size_t index(int layer, int row, int col) const {
        return (static_cast<size_t>(layer) * resolution + row) * resolution + col;
    }
    double cell_x(int col) const { return x_min + (col + 0.5) * (x_max - x_min) / resolution; }
    double cell_y(int row) const { return y_min + (row + 0.5) * (y_max - y_min) / resolution; }
};

// A region map needs a plane to draw: d_in == 2 (blobs, moons, spirals, a 2-column CSV).
bool supports_region_grid(const Dataset& data);

// Routes the resolution² cell centres through `engine` in one evaluation batch
// (train = false: no noise) and reads each layer's first choice:
//  - topk, noisy_topk: the largest router logit z;
//  - bias_balanced: the largest z + selection bias, as the policy selects;
//  - expert_choice, hash, random: a token has no ranked first choice (experts pick
//    tokens, or the choice ignores the router), so the largest clean probability p.
// Capacity is lifted (dropless) for token choice: the grid is not the data
// distribution, so drops among grid cells would be artifacts. Expert choice keeps
// its balanced capacity, so from layer 1 on its map depends on the whole grid.
// The plane is the training inputs' bounding box plus a 5% margin per side.
// The engine keeps the pass's buffers (Pass::Region) between calls: sized on the
// first call (or when the resolution changes), they are reused afterwards.
// Throws ConfigError when d_in != 2 or resolution is out of [2, 1024].
RegionGrid compute_region_grid(Engine& engine, const Config& knobs, const Dataset& data, int resolution);

}  // namespace moescope
