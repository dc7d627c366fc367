#pragma once
// RAII device memory: n elements of T, freed on destruction, moved not copied.
// upload/download are synchronous copies of the whole buffer.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <utility>
#include <vector>

#include "cuda_check.hpp"
#include "error.hpp"

namespace moescope::cuda_ops {

template <class T>
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    explicit DeviceBuffer(size_t n) : n_(n) {
        if (n_) CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&data_), n_ * sizeof(T)));
    }
    explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host.data(), host.size()); }
    ~DeviceBuffer() {
        if (data_) cudaFree(data_);  // no throw from a destructor; a sticky error shows at the next checked call
    }
    DeviceBuffer(DeviceBuffer&& o) noexcept : data_(std::exchange(o.data_, nullptr)), n_(std::exchange(o.n_, 0)) {}
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
        std::swap(data_, o.data_);
        std::swap(n_, o.n_);
        return *this;
    }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;

    T* data() { return data_; }
    const T* data() const { return data_; }
    size_t size() const { return n_; }

    void upload(const T* host, size_t n) {
        MS_ASSERT(n == n_, "upload size differs from the device buffer");
        if (n_) CUDA_CHECK(cudaMemcpy(data_, host, n_ * sizeof(T), cudaMemcpyHostToDevice));
    }
    void download(T* host, size_t n) const {
        MS_ASSERT(n == n_, "download size differs from the device buffer");
        if (n_) CUDA_CHECK(cudaMemcpy(host, data_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    }
    std::vector<T> to_host() const {
        std::vector<T> h(n_);
        download(h.data(), n_);
        return h;
    }

private:
    T* data_ = nullptr;
    size_t n_ = 0;
};

}  // namespace moescope::cuda_ops
