#pragma once
// Eigen aliases. Activations are column-major d × T: one token per contiguous
// column, so gathering a token for an expert is one column copy.
#include <vector>

#include <Eigen/Core>

namespace moescope {

template <class S>
using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
template <class S>
using Vec = Eigen::Matrix<S, Eigen::Dynamic, 1>;
template <class S>
using MatMap = Eigen::Map<Mat<S>>;
template <class S>
using CMatMap = Eigen::Map<const Mat<S>>;
template <class S>
using VecMap = Eigen::Map<Vec<S>>;
template <class S>
using CVecMap = Eigen::Map<const Vec<S>>;

// Flat parameter and gradient buffers. Eigen's vectorised kernels peel a
// different number of leading scalars depending on a pointer's alignment, so
// the same sums over a 16-byte-aligned malloc block and a 32-byte-aligned one
// round differently in the last bit (AVX packets are 32 bytes). Allocating at
// Eigen's packet alignment makes every run, fork and resume bit-identical.
template <class S>
using AlignedVector = std::vector<S, Eigen::aligned_allocator<S>>;

}  // namespace moescope
