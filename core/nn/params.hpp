#pragma once
// Flat parameter storage, llm.c style: every parameter tensor is a named view
// into one contiguous buffer, grouped so the optimizer treats the router,
// the experts and the rest as three contiguous ranges.
#include <string>
#include <vector>

#include "train/config.hpp"

namespace moescope {

enum class ParamGroup { Rest = 0, Router = 1, Experts = 2 };
inline constexpr int kParamGroups = 3;

struct TensorInfo {
    std::string name;  // "layer0.router.W" ...
    long offset = 0;   // into the flat buffer
    long rows = 0, cols = 1;
    ParamGroup group = ParamGroup::Rest;
    bool decay = false;  // weight decay applies to weight matrices only
    long size() const { return rows * cols; }
};

// Index of every tensor of the model described by (structural config, d_in, classes).
struct ParamLayout {
    std::vector<TensorInfo> tensors;
    long total = 0;
    long group_begin[kParamGroups] = {}, group_end[kParamGroups] = {};

    // Offsets of the tensors a layer or the model uses (index into `tensors`).
    struct Layer {
        int norm_g, router_W, noise_W = -1;  // noise_W only for noisy_topk
        int W1, b1, W2, b2;                  // experts, stacked: W1 is E blocks of d_ff × d_model
        // model transformer: the attention sub-block's RMSNorm gain and d × d projections
        int attn_norm = -1, Wq = -1, Wk = -1, Wv = -1, Wo = -1;
    };
    // W_in: d_model × d_in, or the token embedding d_model × vocabulary (transformer)
    int W_in, b_in, norm_f, W_out, b_out;
    int pos = -1;  // transformer: learned positions, d_model × context
    std::vector<Layer> layers;

    static ParamLayout build(const Config& c, int d_in, int classes);
    const TensorInfo* find(const std::string& name) const;
};

}  // namespace moescope
