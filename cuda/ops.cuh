#pragma once
// The CUDA versions of core/ops.hpp, llm.c style: same names, same math, same
// column-major layout as Eigen (a rows × cols matrix stores column c at
// data + c·rows; one token per column). Every pointer is device memory unless
// its comment says host. Ops launch asynchronously on the default stream; a
// launch error throws moescope::Error at once, a fault inside a kernel at the
// next synchronising call. Declarations only, so plain C++ (tests, the CLI)
// includes this header.
#include <cublas_v2.h>

#include <cstdint>

namespace moescope::cuda_ops {

// ---------- GELU (tanh approximation), one thread per element ----------
// out = ½x(1 + tanh(c(x + a·x³)))
void gelu_forward(float* out, const float* in, long n);
// din = dout ⊙ gelu'(in); din may alias dout
void gelu_backward(float* din, const float* dout, const float* in, long n);

// ---------- softmax over each column of a rows × cols matrix, one warp per column ----------
// p = softmax(logits · inv_temperature) per column; p may alias logits
void softmax_columns(float* p, const float* logits, int rows, int cols, float inv_temperature = 1.f);

// ---------- cross-entropy over `classes` × `tokens` logits, one warp per token ----------
// probs = softmax(logits); token_loss[t] = −ln max(probs[y_t, t], 1e-30);
// token_correct[t] = 1 when the first argmax of column t is y_t, else 0.
void cross_entropy_forward(float* probs, float* token_loss, int32_t* token_correct, const float* logits,
                           const int32_t* labels, int classes, int tokens);
// Synchronises, copies the per-token values to the host and sums them in token
// order in double, as the CPU does: returns −mean_t ln p, and the count of correct tokens in *correct (host).
float cross_entropy_mean(const float* token_loss, const int32_t* token_correct, int tokens, long* correct);
// dlogits = (probs − onehot(y)) / tokens
void cross_entropy_backward(float* dlogits, const float* probs, const int32_t* labels, int classes, int tokens);

// ---------- AdamW, one thread per element (the update of core/optimizer.cpp) ----------
struct AdamWStep {
    float lr = 1e-3f;
    float weight_decay = 0.f;
    long t = 1;  // step number after this update, from 1; sets the bias corrections
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};
// m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  p ← p − lr·(m̂/(√v̂+ε) + wd·p)
// decay[i] != 0 where weight decay applies; decay == nullptr: nowhere.
void adamw_step(float* params, const float* grads, float* m, float* v, const uint8_t* decay, long n,
                const AdamWStep& s);

// ---------- GEMM through cuBLAS, column-major like Eigen ----------
// Owns a cuBLAS handle in fp32 math (no TF32): results match Eigen to fp32 rounding.
class Blas {
public:
    Blas();
    ~Blas();
    Blas(const Blas&) = delete;
    Blas& operator=(const Blas&) = delete;
    cublasHandle_t handle() const { return handle_; }

private:
    cublasHandle_t handle_ = nullptr;
};

// C = alpha·op(A)·op(B) + beta·C with op(X) = X or Xᵀ; op(A) is m × k, op(B) k × n, C m × n;
// lda, ldb, ldc are the column strides (rows of the stored matrix).
void sgemm(const Blas& blas, bool transpose_a, bool transpose_b, int m, int n, int k, float alpha, const float* A,
           int lda, const float* B, int ldb, float beta, float* C, int ldc);

// GFLOP/s of fp32 cuBLAS C(m×n) = A(m×k)·B(k×n) on device 0: best of a few
// timed batches after warm-up, 2·m·n·k FLOPs per product. Allocates its own buffers.
double measure_sgemm_peak(int m, int n, int k);

}  // namespace moescope::cuda_ops
