// simclr::ops::gemm_kernel<cuda_t>: row-major GEMM through cuBLAS (column-major, operands swapped).
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <type_traits>

#include <cublas_v2.h>
#include <cuda_bf16.h>

#include <simclr/backend/cuda/check.cuh>
#include <simclr/backend/cuda/cublas.cuh>
#include <simclr/ops/kernels.hpp>

namespace simclr::ops {

template <>
struct gemm_kernel<cuda_t> {
  /// Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: call cuBLAS with B first.
  template <class T>
  static void run(bool ta, bool tb, index_t m, index_t n, index_t k, T alpha, const T* a,
                  index_t lda, const T* b, index_t ldb, T beta, T* c, index_t ldc) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                  "simclr: gemm on cuda_t supports float and double");
    if constexpr (std::is_same_v<T, float>) {
      // The mode of cuda_backend::current_precision(): float in and out, the inputs rounded to
      // TF32 or bf16 for the tensor cores, products summed in float.
      const cuda_backend::precision p = cuda_backend::current_precision();
      const cublasComputeType_t compute = p == cuda_backend::precision::tf32
                                              ? CUBLAS_COMPUTE_32F_FAST_TF32
                                          : p == cuda_backend::precision::bf16
                                              ? CUBLAS_COMPUTE_32F_FAST_16BF
                                              : CUBLAS_COMPUTE_32F;
      gemm_ex(ta, tb, m, n, k, alpha, a, lda, b, ldb, CUDA_R_32F, beta, c, ldc, compute);
    } else {
      if (m == 0 || n == 0) return;
      const auto h = cuda_backend::cublas_handle();
      SIMCLR_CUDA_CHECK(cublasDgemm(h, op(tb), op(ta), static_cast<int>(n), static_cast<int>(m),
                                    static_cast<int>(k), &alpha, b, ld(ldb), a, ld(lda), &beta,
                                    c, static_cast<int>(ldc)));
    }
  }

  /// The same GEMM with operands already stored in bf16 (half the bytes to read) and C in float:
  /// products of the bf16 values summed in float (CUBLAS_COMPUTE_32F), whatever the current
  /// precision mode. The convolutions use it under precision::bf16.
  static void run_bf16(bool ta, bool tb, index_t m, index_t n, index_t k, float alpha,
                       const __nv_bfloat16* a, index_t lda, const __nv_bfloat16* b, index_t ldb,
                       float beta, float* c, index_t ldc) {
    gemm_ex(ta, tb, m, n, k, alpha, a, lda, b, ldb, CUDA_R_16BF, beta, c, ldc, CUBLAS_COMPUTE_32F);
  }

 private:
  static cublasOperation_t op(bool t) noexcept { return t ? CUBLAS_OP_T : CUBLAS_OP_N; }
  /// cuBLAS needs ld ≥ 1 even for empty operands.
  static int ld(index_t l) noexcept { return static_cast<int>(l > 0 ? l : 1); }

  /// cublasGemmEx with A and B of type `ab`, C float.
  static void gemm_ex(bool ta, bool tb, index_t m, index_t n, index_t k, float alpha,
                      const void* a, index_t lda, const void* b, index_t ldb, cudaDataType ab,
                      float beta, float* c, index_t ldc, cublasComputeType_t compute) {
    if (m == 0 || n == 0) return;
    const auto h = cuda_backend::cublas_handle();
    SIMCLR_CUDA_CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
    SIMCLR_CUDA_CHECK(cublasGemmEx(h, op(tb), op(ta), static_cast<int>(n), static_cast<int>(m),
                                   static_cast<int>(k), &alpha, b, ab, ld(ldb), a, ab, ld(lda),
                                   &beta, c, CUDA_R_32F, static_cast<int>(ldc), compute,
                                   CUBLAS_GEMM_DEFAULT));
  }
};

}  // namespace simclr::ops
