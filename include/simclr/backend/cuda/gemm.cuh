// simclr::ops::gemm_kernel<cuda_t>: row-major GEMM through cuBLAS (column-major, operands swapped).
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <type_traits>

#include <cublas_v2.h>

#include <simclr/backend/cuda/check.cuh>
#include <simclr/backend/cuda/cublas.cuh>
#include <simclr/ops/gemm.hpp>

namespace simclr::ops {

template <>
struct gemm_kernel<cuda_t> {
  /// Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: call cuBLAS with B first.
  template <class T>
  static void run(bool ta, bool tb, index_t m, index_t n, index_t k, T alpha, const T* a,
                  index_t lda, const T* b, index_t ldb, T beta, T* c, index_t ldc) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                  "simclr: gemm on cuda_t supports float and double");
    if (m == 0 || n == 0) return;
    const cublasOperation_t op_a = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t op_b = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    const auto h = cuda_backend::cublas_handle();
    const int mi = static_cast<int>(m), ni = static_cast<int>(n), ki = static_cast<int>(k);
    // cuBLAS needs ld ≥ 1 even for empty operands.
    const int la = static_cast<int>(lda > 0 ? lda : 1), lb = static_cast<int>(ldb > 0 ? ldb : 1);
    if constexpr (std::is_same_v<T, float>) {
      // The mode of cuda_backend::current_precision(): float in and out, the inputs rounded to
      // TF32 or bf16 for the tensor cores, products summed in float.
      const cuda_backend::precision p = cuda_backend::current_precision();
      SIMCLR_CUDA_CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
      const cublasComputeType_t compute = p == cuda_backend::precision::tf32
                                              ? CUBLAS_COMPUTE_32F_FAST_TF32
                                          : p == cuda_backend::precision::bf16
                                              ? CUBLAS_COMPUTE_32F_FAST_16BF
                                              : CUBLAS_COMPUTE_32F;
      SIMCLR_CUDA_CHECK(cublasGemmEx(h, op_b, op_a, ni, mi, ki, &alpha, b, CUDA_R_32F, lb, a,
                                     CUDA_R_32F, la, &beta, c, CUDA_R_32F, static_cast<int>(ldc),
                                     compute, CUBLAS_GEMM_DEFAULT));
    } else {
      SIMCLR_CUDA_CHECK(cublasDgemm(h, op_b, op_a, ni, mi, ki, &alpha, b, lb, a, la, &beta, c,
                                    static_cast<int>(ldc)));
    }
  }
};

}  // namespace simclr::ops
