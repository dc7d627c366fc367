#pragma once
// `--backend auto|cpu|cuda`: which engine a command runs on, given what this
// binary was built with and what this machine has. The app's one window onto
// the optional CUDA library: no other app file needs MOESCOPE_HAVE_CUDA.
#include <cstddef>
#include <ostream>
#include <string>

#include "engine/engine_factory.hpp"  // Backend

namespace moescope {

// Throws ConfigError unless `name` is auto, cpu or cuda.
void check_backend_name(const std::string& name);

// The GPU as this binary sees it: not usable when it was built without CUDA,
// or when the probe finds no device, an old driver, no kernels for the GPU...
struct GpuInfo {
    bool usable = false;
    std::string reason;  // one line, why not usable
    std::string name;
    int cc_major = 0, cc_minor = 0;
    size_t memory = 0;  // bytes
};
GpuInfo gpu_info();

// The backend for a command that has (`has_cuda_path`) or lacks a GPU
// implementation; `what` names that implementation for messages ("training").
// Training has one once register_cuda_engine() ran in a CUDA build (make_engine
// then makes the choice itself, with its reason line).
//   cpu  → Cpu.
//   auto → Cuda when the GPU is usable and the command has a CUDA path; else
//          Cpu, after one line on `log`: "moescope: using the CPU: <reason>".
//   cuda → Cuda, or ConfigError naming why not (not built, no usable GPU, not implemented).
Backend choose_backend(const std::string& name, bool has_cuda_path, const std::string& what, std::ostream& log);

// Registers the CUDA engine (cuda/engine/) with make_engine when this binary
// was built with CUDA; nothing otherwise. Each main() calls it once at start.
void register_cuda_engine();

// fp32 cuBLAS GFLOP/s of C(m×n) = A(m×k)·B(k×n) on the GPU; throws Error without one.
double gpu_sgemm_gflops(int m, int n, int k);

}  // namespace moescope
