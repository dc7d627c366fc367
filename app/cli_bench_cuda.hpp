#pragma once
// `moescope-cli bench --backend cuda`: training steps of the bench config timed
// on the CUDA engine against the same run's cuBLAS sgemm peak on the bench's
// expert GEMM shapes. Run only once choose_backend found a usable GPU.
#include "train/config.hpp"

namespace moescope {

// The bench config scaled up the way issue 14 measures the GPU: 64 experts,
// d_model 1024, d_ff 4096, 32768 tokens per step (`--gpu-scale`).
void scale_for_gpu(Config& c);

// Prints the tables (or one JSON object) and returns the exit status. When the
// CUDA engine cannot train (not registered in this build) the sgemm peak still
// comes out, with the engine's reason in place of the step figures.
int bench_cuda(const Config& c, int warmup_steps, int steps, bool json);

}  // namespace moescope
