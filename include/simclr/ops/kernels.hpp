// The per-backend kernels of ops: the primary templates, which name the op when a backend
// lacks it. CPU: <simclr/ops/cpu/gemm.hpp>; CUDA: <simclr/ops/cuda/gemm.cuh> (nvcc only).
#pragma once

#include <simclr/backend/tags.hpp>
#include <simclr/config.hpp>

namespace simclr::ops {

/// Options of a GEMM call: transposes and the scalars of C ← α·op(A)·op(B) + β·C.
struct gemm_options {
  bool transpose_a = false;
  bool transpose_b = false;
  double alpha = 1.0;
  double beta = 0.0;  ///< 0 overwrites C without reading it (NaNs in C do not propagate)
};

/// The GEMM kernel of a backend, on raw row-major pointers with leading dimensions:
///   static void run(bool ta, bool tb, index_t m, index_t n, index_t k, T alpha,
///                   const T* a, index_t lda, const T* b, index_t ldb, T beta, T* c, index_t ldc);
/// CPU: <simclr/ops/cpu/gemm.hpp> (included by <simclr/ops/gemm.hpp>). CUDA: <simclr/ops/cuda/gemm.cuh>.
template <class Backend>
struct gemm_kernel {
  static_assert(detail::always_false<Backend>,
                "simclr: op 'gemm' has no kernel for this backend — for simclr::cuda_t include "
                "<simclr/cuda.cuh> (or <simclr/ops/cuda/gemm.cuh>), compile the file with "
                "nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON)");
};

}  // namespace simclr::ops
