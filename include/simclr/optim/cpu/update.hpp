// simclr::optim::update_kernel<cpu_t>: the element-wise optimizer updates and norms on the CPU.
#pragma once

#include <cmath>

#include <simclr/config.hpp>
#include <simclr/optim/kernels.hpp>
#include <simclr/parallel/thread_pool.hpp>

namespace simclr::optim {

template <>
struct update_kernel<cpu_t> {
  /// Elements per task: fixed, so updates and norms are identical for any thread count.
  static constexpr index_t grain = index_t{1} << 15;

  /// ‖x‖₂, accumulated in double in a fixed order.
  template <class T>
  [[nodiscard]] static double norm(const T* x, index_t n) {
    const double sq = parallel::reduce(
        0, n, grain, 0.0,
        [&](index_t lo, index_t hi) {
          double s = 0.0;
          for (index_t i = lo; i < hi; ++i) s += static_cast<double>(x[i]) * static_cast<double>(x[i]);
          return s;
        },
        [](double a, double b) { return a + b; });
    return std::sqrt(sq);
  }

  /// ‖g + wd·w‖₂ with g + wd·w rounded to T as the update uses it, accumulated in double.
  template <class T>
  [[nodiscard]] static double decayed_norm(const T* g, const T* w, T wd, index_t n) {
    const double sq = parallel::reduce(
        0, n, grain, 0.0,
        [&](index_t lo, index_t hi) {
          double s = 0.0;
          for (index_t i = lo; i < hi; ++i) {
            const double d = static_cast<double>(static_cast<T>(g[i] + wd * w[i]));
            s += d * d;
          }
          return s;
        },
        [](double a, double b) { return a + b; });
    return std::sqrt(sq);
  }

  /// PyTorch SGD: d = g + wd·w; with momentum, buf = d on the first step else
  /// m·buf + (1 − dampening)·d, and d = nesterov ? d + m·buf : buf; w ← w − lr·d.
  template <class T>
  static void sgd(T* w, const T* g, T* buf, index_t n, T lr, T wd, T momentum, T dampening,
                  bool nesterov, bool first) {
    parallel::parallel_for(0, n, grain, [&](index_t lo, index_t hi) {
      for (index_t i = lo; i < hi; ++i) {
        T d = g[i];
        if (wd != T(0)) d = d + wd * w[i];
        if (momentum != T(0)) {
          buf[i] = first ? d : momentum * buf[i] + (T(1) - dampening) * d;
          d = nesterov ? d + momentum * buf[i] : buf[i];
        }
        w[i] = w[i] - lr * d;
      }
    });
  }

  /// LARS (docs/losses-and-optimizers.md): d = g + wd·w; v ← m·v + scaled_lr·d with scaled_lr = lr·trust;
  /// w ← w − v (classic) or w ← w − (m·v + scaled_lr·d) (Nesterov).
  template <class T>
  static void lars(T* w, const T* g, T* v, index_t n, T scaled_lr, T wd, T momentum,
                   bool nesterov) {
    parallel::parallel_for(0, n, grain, [&](index_t lo, index_t hi) {
      for (index_t i = lo; i < hi; ++i) {
        const T d = wd != T(0) ? g[i] + wd * w[i] : g[i];
        v[i] = momentum * v[i] + scaled_lr * d;
        w[i] = w[i] - (nesterov ? momentum * v[i] + scaled_lr * d : v[i]);
      }
    });
  }

  /// Exponential moving average: t ← m·t + (1 − m)·x (a momentum target's parameters).
  template <class T>
  static void ema(T* t, const T* x, index_t n, T momentum) {
    parallel::parallel_for(0, n, grain, [&](index_t lo, index_t hi) {
      for (index_t i = lo; i < hi; ++i) t[i] = momentum * t[i] + (T(1) - momentum) * x[i];
    });
  }

  /// y ← y + a·x (summing gradients of two passes, weighting a loss term's gradient).
  template <class T>
  static void axpy(T* y, const T* x, index_t n, T a) {
    parallel::parallel_for(0, n, grain, [&](index_t lo, index_t hi) {
      for (index_t i = lo; i < hi; ++i) y[i] = y[i] + a * x[i];
    });
  }

  /// PyTorch AdamW at one step: w ← w·decay; m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²;
  /// w ← w − step_size·m / (√v / bias_correction2_sqrt + ε), with decay = 1 − lr·wd and
  /// step_size = lr/(1 − β1ᵗ) computed in double by the caller, as PyTorch does.
  template <class T>
  static void adamw(T* w, const T* g, T* m, T* v, index_t n, T decay, T step_size, T beta1,
                    T beta2, T eps, T bias_correction2_sqrt) {
    parallel::parallel_for(0, n, grain, [&](index_t lo, index_t hi) {
      for (index_t i = lo; i < hi; ++i) {
        if (decay != T(1)) w[i] = w[i] * decay;
        m[i] = m[i] * beta1 + (T(1) - beta1) * g[i];
        v[i] = v[i] * beta2 + (T(1) - beta2) * g[i] * g[i];
        const T denom = std::sqrt(v[i]) / bias_correction2_sqrt + eps;
        w[i] = w[i] - step_size * (m[i] / denom);
      }
    });
  }
};

}  // namespace simclr::optim
