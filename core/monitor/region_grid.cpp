#include "monitor/region_grid.hpp"

#include <string>

#include "error.hpp"

namespace moescope {

namespace {

constexpr double kMargin = 0.05;  // of the data's extent, on each side
constexpr int kMinResolution = 2, kMaxResolution = 1024;
// Random routing draws its choices from this fixed stream, so the map of a
// random-routed model does not flicker between two identical calls.
constexpr uint64_t kRegionStream = 0x4E610Du;

// Bounding box of the training inputs, widened by kMargin; a flat axis gets ±½.
void plane_bounds(const Dataset& data, RegionGrid& g) {
    MS_ASSERT(data.train_size() > 0, "region grid of an empty dataset");
    const Eigen::VectorXf lo = data.x_train.rowwise().minCoeff(), hi = data.x_train.rowwise().maxCoeff();
    auto widen = [](double a, double b, double& out_lo, double& out_hi) {
        const double pad = b > a ? kMargin * (b - a) : 0.5;
        out_lo = a - pad;
        out_hi = b + pad;
    };
    widen(lo(0), hi(0), g.x_min, g.x_max);
    widen(lo(1), hi(1), g.y_min, g.y_max);
}

// Token t = row·resolution + col is the centre of that cell; its id (hash routing) is t.
void load_cell_centres(const RegionGrid& g, Workspace<float>& ws) {
    for (int row = 0; row < g.resolution; ++row)
        for (int col = 0; col < g.resolution; ++col) {
            const long t = long(row) * g.resolution + col;
            ws.x(0, t) = float(g.cell_x(col));
            ws.x(1, t) = float(g.cell_y(row));
            ws.labels[t] = 0;
            ws.ids[t] = static_cast<int32_t>(t);
        }
}

}  // namespace

bool supports_region_grid(const Dataset& data) { return data.d_in == 2; }

RegionGrid compute_region_grid(const Model<float>& model, const Config& knobs, const Dataset& data, int resolution,
                               Workspace<float>& ws) {
    if (!supports_region_grid(data))
        throw ConfigError("expert regions need a 2-D dataset (blobs, moons, spirals); '" + data.kind + "' has d_in " +
                          std::to_string(data.d_in));
    if (resolution < kMinResolution || resolution > kMaxResolution)
        throw ConfigError("region grid resolution " + std::to_string(resolution) + " is outside [" +
                          std::to_string(kMinResolution) + ", " + std::to_string(kMaxResolution) + "]");
    MS_ASSERT(model.d_in() == data.d_in, "model and dataset disagree on d_in");

    Config eval = knobs;
    if (eval.policy != "expert_choice") eval.capacity_factor = 0;  // dropless: see the header

    RegionGrid g;
    g.resolution = resolution;
    g.layers = model.structure().layers;
    g.experts = model.structure().experts;
    plane_bounds(data, g);

    // Same sizes as last call: Eigen and std::vector keep their buffers.
    const long T = long(resolution) * resolution;
    ws.resize(T, data.d_in, eval, model.classes());
    load_cell_centres(g, ws);
    Rng rng(static_cast<uint64_t>(knobs.seed) ^ kRegionStream);
    model.sample_noise(ws, eval, rng, false);
    model.forward(ws, eval, false);

    // Under hash and random routing the router's ranking decides nothing, so
    // routing.top1 would show the hash / the dice; show what the router prefers.
    const bool router_decides = eval.policy != "hash" && eval.policy != "random";
    g.top1.resize(size_t(g.layers) * T);
    g.confidence.resize(g.top1.size());
    for (int l = 0; l < g.layers; ++l) {
        const LayerCache<float>& c = ws.layers[l];
        const size_t base = g.index(l, 0, 0);
        for (long t = 0; t < T; ++t) {
            Eigen::Index e = c.routing.top1[t];
            if (!router_decides) c.p.col(t).maxCoeff(&e);
            g.top1[base + t] = static_cast<int16_t>(e);
            g.confidence[base + t] = c.p(e, t);
        }
    }
    return g;
}

}  // namespace moescope
