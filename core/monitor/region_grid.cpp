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
void cell_centres(const RegionGrid& g, std::vector<float>& x, std::vector<int32_t>& labels, std::vector<int32_t>& ids) {
    const long T = long(g.resolution) * g.resolution;
    x.resize(2 * T);
    labels.assign(T, 0);
    ids.resize(T);
    for (int row = 0; row < g.resolution; ++row)
        for (int col = 0; col < g.resolution; ++col) {
            const long t = long(row) * g.resolution + col;
            x[2 * t] = float(g.cell_x(col));
            x[2 * t + 1] = float(g.cell_y(row));
            ids[t] = static_cast<int32_t>(t);
        }
}

}  // namespace

bool supports_region_grid(const Dataset& data) { return data.d_in == 2; }

RegionGrid compute_region_grid(Engine& engine, const Config& knobs, const Dataset& data, int resolution) {
    if (!supports_region_grid(data))
        throw ConfigError("expert regions need a 2-D dataset (blobs, moons, spirals); '" + data.kind + "' has d_in " +
                          std::to_string(data.d_in));
    if (resolution < kMinResolution || resolution > kMaxResolution)
        throw ConfigError("region grid resolution " + std::to_string(resolution) + " is outside [" +
                          std::to_string(kMinResolution) + ", " + std::to_string(kMaxResolution) + "]");
    MS_ASSERT(engine.d_in() == data.d_in, "engine and dataset disagree on d_in");

    Config eval = knobs;
    const RoutingPolicyKind policy = engine.policy();
    if (!experts_choose(policy)) eval.capacity_factor = 0;  // dropless: see the header

    RegionGrid g;
    g.resolution = resolution;
    g.layers = engine.structure().layers;
    g.experts = engine.structure().experts;
    plane_bounds(data, g);

    std::vector<float> x;
    std::vector<int32_t> labels, ids;
    cell_centres(g, x, labels, ids);
    const long T = long(resolution) * resolution;
    Rng rng(static_cast<uint64_t>(knobs.seed) ^ kRegionStream);
    // Under hash and random routing the router's ranking decides nothing, so the
    // routing's first choice would show the hash / the dice; show what the router prefers.
    FirstChoices first;
    engine.first_choices(Pass::Region, {x.data(), labels.data(), ids.data(), T}, eval, rng, !router_decides(policy),
                         first);
    g.top1.assign(first.expert.begin(), first.expert.end());
    g.confidence = std::move(first.prob);
    return g;
}

}  // namespace moescope
