// simclr::nn::elementwise_kernel<cpu_t>: ReLU, residual add and bias, in simd<T> loops compiled
// for the current ISA (simclr/backend/cpu/dispatch.hpp).
#pragma once

#include <simclr/backend/cpu/dispatch.hpp>
#include <simclr/backend/cpu/simd.hpp>
#include <simclr/nn/kernels.hpp>
#include <simclr/parallel/thread_pool.hpp>

namespace simclr::nn {

template <>
struct elementwise_kernel<cpu_t> {
  static constexpr index_t grain = 1 << 15;

  /// Over [0, n) in parallel chunks, compiled for the current ISA: vec_op(w, i) for each full
  /// simd<T, w> vector at i (w: the path's register width), then one_op(i) for each element of
  /// a chunk's tail.
  template <class T, class VecOp, class OneOp>
  static void map(index_t n, const VecOp& vec_op, const OneOp& one_op) {
    const cpu_isa isa = current_cpu_isa();
    parallel::parallel_for(0, n, grain, [&](index_t lo, index_t hi) {
      simclr::detail::simd_loop<T>(isa, lo, hi, vec_op, one_op);
    });
  }

  /// y = max(x, 0) (y may alias x).
  template <class T>
  static void relu_forward(index_t n, const T* x, T* y) {
    map<T>(
        n,
        [x, y](auto bytes, index_t i) {
          using L = simclr::detail::simd<T, decltype(bytes)::value>;
          typename L::vec v;
          L::load(v, x + i);
          L::relu(v);
          L::store(y + i, v);
        },
        [x, y](index_t i) { y[i] = x[i] > T(0) ? x[i] : T(0); });
  }
  /// dx = dy where y > 0, else 0 (dx may alias dy). Branch-free: a data-dependent branch here
  /// mispredicts half the time.
  template <class T>
  static void relu_backward(index_t n, const T* y, const T* dy, T* dx) {
    map<T>(
        n,
        [y, dy, dx](auto bytes, index_t i) {
          using L = simclr::detail::simd<T, decltype(bytes)::value>;
          typename L::vec v, w;
          L::load(w, y + i);
          L::load(v, dy + i);
          L::keep(v, w > typename L::vec{});
          L::store(dx + i, v);
        },
        [y, dy, dx](index_t i) { dx[i] = y[i] > T(0) ? dy[i] : T(0); });
  }
  /// y = a + b (y may alias a or b).
  template <class T>
  static void add(index_t n, const T* a, const T* b, T* y) {
    map<T>(
        n,
        [a, b, y](auto bytes, index_t i) {
          using L = simclr::detail::simd<T, decltype(bytes)::value>;
          typename L::vec v, w;
          L::load(v, a + i);
          L::load(w, b + i);
          L::store(y + i, v + w);
        },
        [a, b, y](index_t i) { y[i] = a[i] + b[i]; });
  }
  /// y (rows, cols) += bias (cols) on every row.
  template <class T>
  static void add_row_bias(index_t rows, index_t cols, const T* bias, T* y) {
    parallel::parallel_for(0, rows, 64, [&](index_t r0, index_t r1) {
      for (index_t r = r0; r < r1; ++r)
        for (index_t j = 0; j < cols; ++j) y[r * cols + j] += bias[j];
    });
  }
  /// dbias (cols) += Σ over rows of dy (rows, cols), rows summed in order.
  template <class T>
  static void sum_rows(index_t rows, index_t cols, const T* dy, T* dbias) {
    parallel::parallel_for(0, cols, 64, [&](index_t c0, index_t c1) {
      for (index_t j = c0; j < c1; ++j) {
        T s = 0;
        for (index_t r = 0; r < rows; ++r) s += dy[r * cols + j];
        dbias[j] += s;
      }
    });
  }
};

}  // namespace simclr::nn
