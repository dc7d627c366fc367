#pragma once
// Device memory and the cuBLAS products the engine uses, as plain C++
// declarations: backend_cuda.cpp implements them with the CUDA runtime and
// cuBLAS, cuda/emu/backend_emu.cpp with host memory and a reference GEMM of
// cuBLAS's exact column-major semantics. Every pointer is device memory unless
// its comment says host.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace moescope::MOESCOPE_ENGINE_NS {

// Throws moescope::Error naming `bytes` and `what` when the device is out of memory.
void* device_alloc(size_t bytes, const std::string& what);
void device_free(void* p);
void copy_to_device(void* dst, const void* host_src, size_t bytes);
void copy_to_host(void* host_dst, const void* src, size_t bytes);
void copy_on_device(void* dst, const void* src, size_t bytes);
void device_zero(void* p, size_t bytes);
// Host memory the device copies into in one transfer (pinned on a GPU).
void* pinned_alloc(size_t bytes);
void pinned_free(void* p);
// Waits for every launched kernel; a fault inside one throws here.
void synchronize();

// C = alpha·op(A)·op(B) + beta·C, column-major, op(X) = X or Xᵀ; op(A) m × k,
// op(B) k × n; lda/ldb/ldc the stored matrices' column strides. fp32 math (no TF32).
struct Gemm {
    bool ta = false, tb = false;
    int m = 0, n = 0, k = 0;
    const float* A = nullptr;
    int lda = 0;
    const float* B = nullptr;
    int ldb = 0;
    float* C = nullptr;
    int ldc = 0;
};
void gemm(const Gemm& g, float alpha, float beta);
// Several products of one shape family in one call (an expert per product):
// cublasSgemmGroupedBatched where cuBLAS has it (12.5 on), else one call each.
// Products with m, n or k zero are left out.
void gemm_grouped(const std::vector<Gemm>& products, float alpha, float beta);
// "cublasSgemmGroupedBatched" or "per-expert sgemm loop" or "host reference".
std::string gemm_path();

// Owns n elements of T in device memory.
template <class T>
class Buffer {
public:
    Buffer() = default;
    Buffer(size_t n, const std::string& what) : n_(n) {
        if (n) p_ = static_cast<T*>(device_alloc(n * sizeof(T), what));
    }
    ~Buffer() { device_free(p_); }
    Buffer(Buffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
    Buffer& operator=(Buffer&& o) noexcept {
        std::swap(p_, o.p_);
        std::swap(n_, o.n_);
        return *this;
    }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;

    T* data() { return p_; }
    const T* data() const { return p_; }
    size_t size() const { return n_; }
    size_t bytes() const { return n_ * sizeof(T); }
    void upload(const T* host) { copy_to_device(p_, host, bytes()); }
    void upload_prefix(const T* host, size_t n) { copy_to_device(p_, host, n * sizeof(T)); }
    void download(T* host) const { copy_to_host(host, p_, bytes()); }
    std::vector<T> to_host() const {
        std::vector<T> h(n_);
        download(h.data());
        return h;
    }
    void zero() { device_zero(p_, bytes()); }

private:
    T* p_ = nullptr;
    size_t n_ = 0;
};

}  // namespace moescope::MOESCOPE_ENGINE_NS
