// The small GEMM of the CPU loss kernels: the shared register-tile GEMM, and its parallel form.
#pragma once

#include <simclr/backend/cpu/tile_gemm.hpp>
#include <simclr/config.hpp>
#include <simclr/parallel/thread_pool.hpp>

namespace simclr::loss::cpu_detail {

/// C (m × n, row-major, leading dimension ldc) ← A·B, or C + A·B when `accumulate`; A(r, k) is
/// a[r·a_rs + k·a_cs] (so a transposed A is a_rs = 1), B is row-major (k × n, ldb). Single
/// threaded (the callers parallelise over blocks). Float on an AVX-512 CPU uses the register-tile
/// kernel of <simclr/backend/cpu/tile_gemm.hpp>, whose summation order is fixed (each C element
/// sums k in order, in blocks of 256); otherwise Eigen.
template <class T>
void block_gemm(index_t m, index_t n, index_t kk, const T* a, index_t a_rs, index_t a_cs,
                const T* b, index_t ldb, T* c, index_t ldc, bool accumulate) {
  simclr::detail::tile_gemm(m, n, kk, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
}

/// block_gemm over the default thread pool: C's rows in fixed chunks of `row_chunk` (a function
/// of nothing but the caller's constant), so the result is the same for any thread count.
template <class T>
void parallel_gemm(index_t m, index_t n, index_t kk, const T* a, index_t a_rs, index_t a_cs,
                   const T* b, index_t ldb, T* c, index_t ldc, bool accumulate,
                   index_t row_chunk = 64) {
  parallel::parallel_for(0, m, row_chunk, [&](index_t lo, index_t hi) {
    block_gemm(hi - lo, n, kk, a + lo * a_rs, a_rs, a_cs, b, ldb, c + lo * ldc, ldc, accumulate);
  });
}

}  // namespace simclr::loss::cpu_detail
