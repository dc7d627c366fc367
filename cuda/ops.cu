// Kernels of cuda/ops.cuh. Simple on purpose: one thread per element, or one
// warp per column for the column reductions (columns hold E or C values, a
// few dozen at most). Correctness first; tests/cuda compares each op with core/ops.hpp.
#include "ops.cuh"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cuda_check.hpp"
#include "error.hpp"

namespace moescope::cuda_ops {

namespace {

constexpr int kBlock = 256;  // threads per block
constexpr int kWarpsPerBlock = kBlock / 32;
constexpr long kMaxBlocks = 1L << 20;  // grid-stride loops cover the rest
constexpr unsigned kFullMask = 0xffffffffu;
constexpr float kGeluC = 0.7978845608028654f;  // sqrt(2/π), as core/ops.hpp
constexpr float kGeluA = 0.044715f;

int blocks_for(long n) { return int(std::min((n + kBlock - 1) / kBlock, kMaxBlocks)); }
int blocks_for_columns(int cols) { return (cols + kWarpsPerBlock - 1) / kWarpsPerBlock; }

__device__ long global_index() { return long(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ long grid_stride() { return long(gridDim.x) * blockDim.x; }

__device__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, o));
    return v;
}
__device__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFullMask, v, o);
    return v;
}

// ---------- GELU ----------
__global__ void gelu_forward_kernel(float* out, const float* in, long n) {
    for (long i = global_index(); i < n; i += grid_stride()) {
        const float x = in[i];
        out[i] = 0.5f * x * (1.f + tanhf(kGeluC * (x + kGeluA * x * x * x)));
    }
}
// d/dx ½x(1+tanh u) = ½(1+tanh u) + ½x(1−tanh²u)·c(1+3a·x²)
__global__ void gelu_backward_kernel(float* din, const float* dout, const float* in, long n) {
    for (long i = global_index(); i < n; i += grid_stride()) {
        const float x = in[i];
        const float th = tanhf(kGeluC * (x + kGeluA * x * x * x));
        din[i] = dout[i] * (0.5f * (1.f + th) + 0.5f * kGeluC * x * (1.f - th * th) * (1.f + 3.f * kGeluA * x * x));
    }
}

// ---------- softmax per column: one warp per column, lane r handles rows r, r+32, ... ----------
// p and logits may alias: each lane rewrites only the rows it read.
__device__ float softmax_column(float* p, const float* z, int rows, float inv_temperature, int lane) {
    float m = -INFINITY;
    for (int r = lane; r < rows; r += 32) m = fmaxf(m, z[r]);
    m = warp_max(m);
    float s = 0.f;
    for (int r = lane; r < rows; r += 32) {
        const float e = expf((z[r] - m) * inv_temperature);
        p[r] = e;
        s += e;
    }
    return warp_sum(s);
}

__global__ void softmax_columns_kernel(float* p, const float* logits, int rows, int cols, float inv_temperature) {
    const int col = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (col >= cols) return;  // whole warps leave together: cols is split by warps
    float* pc = p + long(col) * rows;
    const float s = softmax_column(pc, logits + long(col) * rows, rows, inv_temperature, lane);
    for (int r = lane; r < rows; r += 32) pc[r] /= s;
}

// ---------- cross-entropy: softmax, then −ln p_y and the argmax of the probabilities ----------
__global__ void cross_entropy_forward_kernel(float* probs, float* token_loss, int32_t* token_correct,
                                             const float* logits, const int32_t* labels, int classes, int tokens) {
    const int t = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (t >= tokens) return;
    float* pc = probs + long(t) * classes;
    const float s = softmax_column(pc, logits + long(t) * classes, classes, 1.f, lane);
    // First index of the largest probability, as Eigen's maxCoeff picks it.
    float best = -INFINITY;
    int arg = classes;
    for (int r = lane; r < classes; r += 32) {
        pc[r] /= s;
        if (pc[r] > best) best = pc[r], arg = r;
    }
    for (int o = 16; o > 0; o >>= 1) {
        const float ob = __shfl_xor_sync(kFullMask, best, o);
        const int oa = __shfl_xor_sync(kFullMask, arg, o);
        if (ob > best || (ob == best && oa < arg)) best = ob, arg = oa;
    }
    __syncwarp();  // every lane's probabilities are written before lane 0 reads p_y
    if (lane == 0) {
        const int y = labels[t];
        const bool valid = y >= 0 && y < classes;
        token_loss[t] = valid ? float(-log(fmax(double(pc[y]), 1e-30))) : NAN;
        token_correct[t] = valid && arg == y;
    }
}

// dlogits = probs/T − onehot(y)/T, rounded as the CPU does it
__global__ void cross_entropy_backward_kernel(float* dlogits, const float* probs, const int32_t* labels, int classes,
                                              int tokens) {
    const long n = long(classes) * tokens;
    const float inv_t = 1.f / float(tokens);
    for (long i = global_index(); i < n; i += grid_stride()) {
        float d = probs[i] / float(tokens);
        if (labels[i / classes] == int(i % classes)) d -= inv_t;
        dlogits[i] = d;
    }
}

// ---------- AdamW ----------
// Rounded operation by operation like the CPU loop (the _rn intrinsics stop FMA contraction).
__global__ void adamw_kernel(float* p, const float* g, float* m, float* v, const uint8_t* decay, long n, float lr,
                             float wd, float a, float rs, float b1, float one_minus_b1, float b2, float one_minus_b2,
                             float eps) {
    for (long i = global_index(); i < n; i += grid_stride()) {
        const float gi = g[i];
        const float mi = __fadd_rn(__fmul_rn(b1, m[i]), __fmul_rn(one_minus_b1, gi));
        const float vi = __fadd_rn(__fmul_rn(b2, v[i]), __fmul_rn(__fmul_rn(one_minus_b2, gi), gi));
        m[i] = mi;
        v[i] = vi;
        const float dec = decay && decay[i] ? __fmul_rn(__fmul_rn(lr, wd), p[i]) : 0.f;
        const float step = __fdiv_rn(__fmul_rn(a, mi), __fadd_rn(__fmul_rn(__fsqrt_rn(vi), rs), eps));
        p[i] = __fsub_rn(p[i], __fadd_rn(step, dec));
    }
}

}  // namespace

void gelu_forward(float* out, const float* in, long n) {
    if (n <= 0) return;
    gelu_forward_kernel<<<blocks_for(n), kBlock>>>(out, in, n);
    CUDA_CHECK_LAUNCH();
}

void gelu_backward(float* din, const float* dout, const float* in, long n) {
    if (n <= 0) return;
    gelu_backward_kernel<<<blocks_for(n), kBlock>>>(din, dout, in, n);
    CUDA_CHECK_LAUNCH();
}

void softmax_columns(float* p, const float* logits, int rows, int cols, float inv_temperature) {
    if (rows <= 0 || cols <= 0) return;
    softmax_columns_kernel<<<blocks_for_columns(cols), kBlock>>>(p, logits, rows, cols, inv_temperature);
    CUDA_CHECK_LAUNCH();
}

void cross_entropy_forward(float* probs, float* token_loss, int32_t* token_correct, const float* logits,
                           const int32_t* labels, int classes, int tokens) {
    if (classes <= 0 || tokens <= 0) return;
    cross_entropy_forward_kernel<<<blocks_for_columns(tokens), kBlock>>>(probs, token_loss, token_correct, logits,
                                                                         labels, classes, tokens);
    CUDA_CHECK_LAUNCH();
}

float cross_entropy_mean(const float* token_loss, const int32_t* token_correct, int tokens, long* correct) {
    MS_ASSERT(tokens > 0, "cross-entropy over no tokens");
    std::vector<float> loss(tokens);
    std::vector<int32_t> right(tokens);
    CUDA_CHECK(cudaMemcpy(loss.data(), token_loss, sizeof(float) * tokens, cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(right.data(), token_correct, sizeof(int32_t) * tokens, cudaMemcpyDeviceToHost));
    double sum = 0;
    long count = 0;
    for (int t = 0; t < tokens; ++t) sum += loss[t], count += right[t];
    if (correct) *correct = count;
    return float(sum / double(tokens));
}

void cross_entropy_backward(float* dlogits, const float* probs, const int32_t* labels, int classes, int tokens) {
    if (classes <= 0 || tokens <= 0) return;
    cross_entropy_backward_kernel<<<blocks_for(long(classes) * tokens), kBlock>>>(dlogits, probs, labels, classes,
                                                                                  tokens);
    CUDA_CHECK_LAUNCH();
}

void adamw_step(float* params, const float* grads, float* m, float* v, const uint8_t* decay, long n,
                const AdamWStep& s) {
    MS_ASSERT(s.t >= 1, "AdamW step numbers start at 1");
    if (n <= 0) return;
    // The same scalars, computed the same way, as Optimizer::step.
    const double bc1 = 1.0 - std::pow(s.beta1, double(s.t)), bc2 = 1.0 - std::pow(s.beta2, double(s.t));
    const float a = float(s.lr / bc1), rs = float(1.0 / std::sqrt(bc2));
    adamw_kernel<<<blocks_for(n), kBlock>>>(params, grads, m, v, decay, n, s.lr, s.weight_decay, a, rs, float(s.beta1),
                                            float(1 - s.beta1), float(s.beta2), float(1 - s.beta2), float(s.eps));
    CUDA_CHECK_LAUNCH();
}

}  // namespace moescope::cuda_ops
