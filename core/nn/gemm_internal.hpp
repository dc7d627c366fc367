#pragma once
// Shared by gemm.cpp and gemm_tuning.cpp only.
#include <vector>

#include "nn/gemm.hpp"

namespace moescope::gemm {

// Every sgemm this build links and this CPU runs, each with the name
// MOESCOPE_GEMM uses for it; the build's first choice (untuned) first.
struct Named {
    const char* key;
    Candidate candidate;
};
std::vector<Named> linked();

// MOESCOPE_GEMM=auto: the library chosen for this product's shape class,
// timed on this product the first time the class is met (gemm_tuning.cpp).
SgemmFn tuned_sgemm(bool trans_a, bool trans_b, long m, long n, long k, const float* A, long lda, const float* B,
                    long ldb, bool accumulate);

}  // namespace moescope::gemm
