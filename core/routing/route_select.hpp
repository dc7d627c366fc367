#pragma once
// The per-token choices both engines make the same way: top-k by score (a tie
// keeps the lower expert) and hash routing's first expert. The CPU routing
// (routing.cpp) and the CUDA engine's kernels (cuda/engine/kernels_router.hpp)
// call these, so the two engines cannot drift apart. Plain C++; compiled by
// nvcc the functions are device functions too.
#include <cstdint>

#if defined(__CUDACC__)
#define MOESCOPE_HOST_DEVICE __host__ __device__
#else
#define MOESCOPE_HOST_DEVICE
#endif

namespace moescope {

// Offers expert e with score s, experts in increasing order. best/score hold the
// n ≤ k largest so far, descending; a score equal to a kept one ranks below it.
template <class S>
MOESCOPE_HOST_DEVICE inline void topk_offer(int e, S s, int k, int& n, int* best, S* score) {
    if (n == k && s <= score[k - 1]) return;
    int pos = n < k ? n++ : k - 1;
    while (pos > 0 && score[pos - 1] < s) {
        score[pos] = score[pos - 1];
        best[pos] = best[pos - 1];
        --pos;
    }
    score[pos] = s;
    best[pos] = e;
}

// Hash routing's first expert for a sample id: splitmix-style mixing, so
// neighbouring ids land on unrelated experts. The other k−1 follow it, modulo E.
MOESCOPE_HOST_DEVICE inline int hash_first_expert(int32_t id, int E) {
    uint64_t h = static_cast<uint64_t>(static_cast<int64_t>(id)) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 29;
    return static_cast<int>(h % static_cast<uint64_t>(E));
}

}  // namespace moescope
