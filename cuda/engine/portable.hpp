#pragma once
// The one header that decides where the engine's kernels run. The engine's
// sources are compiled twice (cuda/CMakeLists.txt):
//   nvcc build     → namespace moescope::cuda_dev, kernels on the GPU;
//   emulation build → namespace moescope::cuda_emu, plain C++ (cuda/emu/): the
//                     same kernel bodies run on the host, one index after another.
// A kernel is `parallel_for(n, MS_LAMBDA(long i) { body(i, ...); })`: one
// thread per element, row or column, its work a MS_HD function of kernels_*.hpp.
// No block-level synchronisation, no warp shuffles, no float atomics: what a
// thread computes depends only on its index, so both builds agree and every
// run on one device gives the same numbers.
#ifndef MOESCOPE_ENGINE_NS
#error "MOESCOPE_ENGINE_NS (cuda_dev or cuda_emu) must be defined by the build"
#endif

#if defined(__CUDACC__)
#define MS_HD __host__ __device__
#else
#define MS_HD
#endif

#if defined(__CUDACC__) && !MOESCOPE_ENGINE_EMU
#include "cuda_check.hpp"

namespace moescope::MOESCOPE_ENGINE_NS {

template <class F>
__global__ void parallel_for_kernel(long n, F f) {
    const long i = long(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) f(i);
}

// n threads in blocks of 256 on the default stream; a bad launch throws at once.
template <class F>
void parallel_for(long n, F f) {
    if (n <= 0) return;
    constexpr int kBlock = 256;
    parallel_for_kernel<<<unsigned((n + kBlock - 1) / kBlock), kBlock>>>(n, f);
    CUDA_CHECK_LAUNCH();
}

// Integer atomics only where the order of the additions cannot matter.
__device__ inline void atomic_add(int* p, int v) { atomicAdd(p, v); }

}  // namespace moescope::MOESCOPE_ENGINE_NS

#define MS_LAMBDA [=] __device__

#else

namespace moescope::MOESCOPE_ENGINE_NS {

// The emulated grid: every index in order on this thread.
template <class F>
void parallel_for(long n, F f) {
    for (long i = 0; i < n; ++i) f(i);
}
inline void atomic_add(int* p, int v) { *p += v; }

}  // namespace moescope::MOESCOPE_ENGINE_NS

#define MS_LAMBDA [=]

#endif
