// simclr::nn::elementwise_kernel<cpu_t>: ReLU, residual add and bias, vectorisable loops.
#pragma once

#include <Eigen/Core>

#include <simclr/nn/kernels.hpp>
#include <simclr/parallel/thread_pool.hpp>

namespace simclr::nn {

template <>
struct elementwise_kernel<cpu_t> {
  static constexpr index_t grain = 1 << 15;

  /// y = max(x, 0) (y may alias x).
  template <class T>
  static void relu_forward(index_t n, const T* x, T* y) {
    parallel::parallel_for(0, n, grain, [&](index_t lo, index_t hi) {
      using array = Eigen::Array<T, Eigen::Dynamic, 1>;
      Eigen::Map<array>(y + lo, hi - lo) = Eigen::Map<const array>(x + lo, hi - lo).max(T(0));
    });
  }
  /// dx = dy where y > 0, else 0 (dx may alias dy).
  template <class T>
  static void relu_backward(index_t n, const T* y, const T* dy, T* dx) {
    // Eigen's select is branch-free and vectorised (a data-dependent branch here mispredicts
    // half the time).
    parallel::parallel_for(0, n, grain, [&](index_t lo, index_t hi) {
      using array = Eigen::Array<T, Eigen::Dynamic, 1>;
      const Eigen::Map<const array> ym(y + lo, hi - lo), dym(dy + lo, hi - lo);
      Eigen::Map<array>(dx + lo, hi - lo) = (ym > T(0)).select(dym, T(0));
    });
  }
  /// y = a + b (y may alias a or b).
  template <class T>
  static void add(index_t n, const T* a, const T* b, T* y) {
    parallel::parallel_for(0, n, grain, [&](index_t lo, index_t hi) {
      for (index_t i = lo; i < hi; ++i) y[i] = a[i] + b[i];
    });
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
