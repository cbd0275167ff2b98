// simclr::nn::batch_norm_kernel<cpu_t>: per-channel batch normalisation over (N, C, L), in double sums.
#pragma once

#include <cmath>

#include <Eigen/Core>

#include <simclr/nn/kernels.hpp>
#include <simclr/parallel/thread_pool.hpp>

namespace simclr::nn {

template <>
struct batch_norm_kernel<cpu_t> {
  /// Training mode. x, y: (N, C, L) (L = H·W, or 1 for (N, C) inputs). Per channel c:
  /// mean_c, biased var_c over N·L values; xhat = (x − mean)·inv_std, y = γ·xhat + β.
  /// Writes xhat (N, C, L), mean (C), var (C, biased) and inv_std (C) for backward and the
  /// running statistics. Channels run in parallel; each channel's sums are sequential (double).
  template <class T>
  static void forward_train(index_t n, index_t c, index_t l, const T* x, const T* gamma,
                            const T* beta, double eps, T* y, T* xhat, T* mean, T* var,
                            T* inv_std) {
    parallel::parallel_for(0, c, 1, [&](index_t c0, index_t c1) {
      for (index_t ch = c0; ch < c1; ++ch) {
        // Each plane is summed by Eigen's vectorised reduction (a fixed order), the planes in
        // double, in order: deterministic and accurate.
        double s = 0.0;
        for (index_t i = 0; i < n; ++i) s += static_cast<double>(plane(x, i, ch, c, l).sum());
        const double m = s / static_cast<double>(n * l);
        const T mt = static_cast<T>(m);
        double ss = 0.0;
        for (index_t i = 0; i < n; ++i)
          ss += static_cast<double>((plane(x, i, ch, c, l) - mt).square().sum());
        const double v = ss / static_cast<double>(n * l);
        const double is = 1.0 / std::sqrt(v + eps);
        mean[ch] = mt;
        var[ch] = static_cast<T>(v);
        inv_std[ch] = static_cast<T>(is);
        const T g = gamma[ch], b = beta[ch], ist = static_cast<T>(is);
        for (index_t i = 0; i < n; ++i) {
          auto h = plane(xhat, i, ch, c, l);
          h = (plane(x, i, ch, c, l) - mt) * ist;
          plane(y, i, ch, c, l) = h * g + b;
        }
      }
    });
  }

  /// Evaluation mode: y = γ·(x − running_mean)/sqrt(running_var + ε) + β.
  template <class T>
  static void forward_eval(index_t n, index_t c, index_t l, const T* x, const T* gamma,
                           const T* beta, const T* running_mean, const T* running_var,
                           double eps, T* y) {
    parallel::parallel_for(0, n * c, 16, [&](index_t r0, index_t r1) {
      for (index_t r = r0; r < r1; ++r) {
        const index_t ch = r % c;
        const T scale =
            static_cast<T>(static_cast<double>(gamma[ch]) /
                           std::sqrt(static_cast<double>(running_var[ch]) + eps));
        const T shift = beta[ch] - running_mean[ch] * scale;
        const T* p = x + r * l;
        T* q = y + r * l;
        for (index_t j = 0; j < l; ++j) q[j] = p[j] * scale + shift;
      }
    });
  }

  /// Backward of forward_train: dγ += Σ dy·xhat, dβ += Σ dy, and
  /// dx = γ·inv_std/M · (M·dy − Σdy − xhat·Σ(dy·xhat)), M = N·L.
  template <class T>
  static void backward(index_t n, index_t c, index_t l, const T* dy, const T* xhat,
                       const T* gamma, const T* inv_std, T* dx, T* dgamma, T* dbeta) {
    parallel::parallel_for(0, c, 1, [&](index_t c0, index_t c1) {
      for (index_t ch = c0; ch < c1; ++ch) {
        double sdy = 0.0, sdyx = 0.0;
        for (index_t i = 0; i < n; ++i) {
          const auto d = plane(dy, i, ch, c, l);
          sdy += static_cast<double>(d.sum());
          sdyx += static_cast<double>((d * plane(xhat, i, ch, c, l)).sum());
        }
        dgamma[ch] += static_cast<T>(sdyx);
        dbeta[ch] += static_cast<T>(sdy);
        if (dx == nullptr) continue;
        const double m = static_cast<double>(n * l);
        const T k = static_cast<T>(static_cast<double>(gamma[ch]) *
                                   static_cast<double>(inv_std[ch]));
        const T mean_dy = static_cast<T>(sdy / m), mean_dyx = static_cast<T>(sdyx / m);
        for (index_t i = 0; i < n; ++i)
          plane(dx, i, ch, c, l) =
              (plane(dy, i, ch, c, l) - mean_dy - plane(xhat, i, ch, c, l) * mean_dyx) * k;
      }
    });
  }

 private:
  /// The L values of sample i, channel ch, as an Eigen array.
  template <class T>
  static auto plane(T* p, index_t i, index_t ch, index_t c, index_t l) {
    return Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(p + (i * c + ch) * l, l);
  }
  template <class T>
  static auto plane(const T* p, index_t i, index_t ch, index_t c, index_t l) {
    return Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(p + (i * c + ch) * l, l);
  }
};

}  // namespace simclr::nn
