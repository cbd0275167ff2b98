// simclr::nn::batch_norm_kernel<cpu_t>: per-channel batch normalisation over (N, C, L), in double
// sums.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include <simclr/backend/cpu/dispatch.hpp>
#include <simclr/backend/cpu/simd.hpp>
#include <simclr/nn/kernels.hpp>
#include <simclr/parallel/thread_pool.hpp>

namespace simclr::nn {

template <>
struct batch_norm_kernel<cpu_t> {
  /// Training mode. x, y: (N, C, L) (L = H·W, or 1 for (N, C) inputs). Per channel c: mean_c
  /// and biased var_c over N·L values; y = γ·(x − mean)·inv_std + β, then + residual (N, C, L)
  /// if given, then max(·, 0) if `relu`, in one pass (y may alias x or residual). Writes mean,
  /// var (biased) and inv_std (C) for backward and the running statistics. Channels run in
  /// parallel. The statistics read x once from memory: each plane's sum, then its squares
  /// about its own mean while the plane is still in L1, combined in double in plane order —
  /// as accurate as two passes over the channel, and deterministic.
  template <class T>
  static void forward_train(index_t n, index_t c, index_t l, const T* x, const T* gamma,
                            const T* beta, double eps, T* y, T* mean, T* var, T* inv_std,
                            const T* residual, bool relu) {
    const cpu_isa isa = current_cpu_isa();
    parallel::parallel_for(0, c, 1, [&](index_t c0, index_t c1) {
      // Per plane i: its float shift s_i (≈ its mean), Σ(x − s_i)² and Σ(x − s_i) (moments).
      std::vector<double> shift(static_cast<std::size_t>(n)), sq(shift.size()), rest(shift.size());
      simclr::detail::with_isa(isa, [&](auto bytes) {
        constexpr std::size_t W = decltype(bytes)::value;
        const double dl = static_cast<double>(l), count = static_cast<double>(n) * dl;
        for (index_t ch = c0; ch < c1; ++ch) {
          double s = 0.0;
          for (index_t i = 0; i < n; ++i) {
            const plane_moments pm = moments<W>(x + (i * c + ch) * l, l);
            const auto k = static_cast<std::size_t>(i);
            shift[k] = pm.shift;
            sq[k] = pm.squares;
            rest[k] = pm.rest;
            s += pm.sum(dl);
          }
          const double m = s / count;
          // Σ(x − m)² = Σ_i [Σ(x − s_i)² + 2(s_i − m)·Σ(x − s_i) + L(s_i − m)²], exactly.
          double ss = 0.0;
          for (std::size_t k = 0; k < shift.size(); ++k) {
            const double d = shift[k] - m;
            ss += sq[k] + 2.0 * d * rest[k] + dl * d * d;
          }
          const double v = std::max(ss, 0.0) / count;
          const double is = 1.0 / std::sqrt(v + eps);
          const T mt = static_cast<T>(m), ist = static_cast<T>(is);
          mean[ch] = mt;
          var[ch] = static_cast<T>(v);
          inv_std[ch] = ist;
          const T g = gamma[ch], b = beta[ch];
          for (index_t i = 0; i < n; ++i) {
            const index_t o = (i * c + ch) * l;
            normalize_plane<W>(x + o, residual != nullptr ? residual + o : nullptr, y + o, l, mt,
                               ist, g, b, relu);
          }
        }
      });
    });
  }

  /// Evaluation mode: y = γ·(x − running_mean)/sqrt(running_var + ε) + β, then + residual if
  /// given, then max(·, 0) if `relu` (y may alias x or residual).
  template <class T>
  static void forward_eval(index_t n, index_t c, index_t l, const T* x, const T* gamma,
                           const T* beta, const T* running_mean, const T* running_var, double eps,
                           T* y, const T* residual, bool relu) {
    const cpu_isa isa = current_cpu_isa();
    parallel::parallel_for(0, n * c, 16, [&](index_t r0, index_t r1) {
      simclr::detail::with_isa(isa, [&](auto bytes) {
        constexpr std::size_t W = decltype(bytes)::value;
        for (index_t r = r0; r < r1; ++r) {
          const index_t ch = r % c;
          const T scale = static_cast<T>(static_cast<double>(gamma[ch]) /
                                         std::sqrt(static_cast<double>(running_var[ch]) + eps));
          const T shift = beta[ch] - running_mean[ch] * scale;
          normalize_plane<W>(x + r * l, residual != nullptr ? residual + r * l : nullptr, y + r * l,
                             l, T(0), scale, T(1), shift, relu);
        }
      });
    });
  }

  /// Backward of forward_train from its input x and statistics (x̂ = (x − mean)·inv_std is
  /// recomputed, never stored). With `relu_y` (the forward's output after a fused ReLU), dy is
  /// first masked to where relu_y > 0. dγ += Σ dy·x̂, dβ += Σ dy, and, if dx is given,
  /// dx = γ·inv_std/M · (M·dy − Σdy − x̂·Σ(dy·x̂)), M = N·L (dx may alias dy).
  template <class T>
  static void backward(index_t n, index_t c, index_t l, const T* dy, const T* x, const T* mean,
                       const T* gamma, const T* inv_std, const T* relu_y, T* dx, T* dgamma,
                       T* dbeta) {
    const cpu_isa isa = current_cpu_isa();
    parallel::parallel_for(0, c, 1, [&](index_t c0, index_t c1) {
      simclr::detail::with_isa(isa, [&](auto bytes) {
        constexpr std::size_t W = decltype(bytes)::value;
        for (index_t ch = c0; ch < c1; ++ch) {
          const T mt = mean[ch], ist = inv_std[ch];
          double sdy = 0.0, sdyx = 0.0;
          for (index_t i = 0; i < n; ++i) {
            const index_t o = (i * c + ch) * l;
            const auto [a, b] = relu_y != nullptr
                                    ? grad_sums<W, true>(dy + o, relu_y + o, x + o, mt, ist, l)
                                    : grad_sums<W, false>(dy + o, static_cast<const T*>(nullptr),
                                                          x + o, mt, ist, l);
            sdy += a;
            sdyx += b;
          }
          dgamma[ch] += static_cast<T>(sdyx);
          dbeta[ch] += static_cast<T>(sdy);
          if (dx == nullptr) continue;
          const double m = static_cast<double>(n * l);
          const T k = static_cast<T>(static_cast<double>(gamma[ch]) * static_cast<double>(ist));
          const T mean_dy = static_cast<T>(sdy / m), mean_dyx = static_cast<T>(sdyx / m);
          for (index_t i = 0; i < n; ++i) {
            const index_t o = (i * c + ch) * l;
            dx_plane<W>(dy + o, x + o, relu_y != nullptr ? relu_y + o : nullptr, dx + o, l, mt, ist,
                        mean_dy, mean_dyx, k);
          }
        }
      });
    });
  }

  // ---- global BatchNorm (statistics summed over a group of processes) ----------------------
  // The same sums as forward_train and backward, split where the group adds its processes'
  // parts: Σx per channel, then Σ(x − mean)² about the group's mean, then the normalisation;
  // backward's (Σdy, Σdy·x̂), then dx from the group's sums.

  /// sum[ch] = Σ x over the N·L values of channel ch (double).
  template <class T>
  static void channel_sums(index_t n, index_t c, index_t l, const T* x, double* sum) {
    const cpu_isa isa = current_cpu_isa();
    parallel::parallel_for(0, c, 1, [&](index_t c0, index_t c1) {
      simclr::detail::with_isa(isa, [&](auto bytes) {
        constexpr std::size_t W = decltype(bytes)::value;
        const double dl = static_cast<double>(l);
        for (index_t ch = c0; ch < c1; ++ch) {
          double s = 0.0;
          for (index_t i = 0; i < n; ++i) s += moments<W>(x + (i * c + ch) * l, l).sum(dl);
          sum[ch] = s;
        }
      });
    });
  }

  /// ss[ch] = Σ (x − mean[ch])² over channel ch, exactly as forward_train forms it (each plane
  /// about its own float mean s_i, then Σ(x − s_i)² + 2(s_i − m)·Σ(x − s_i) + L(s_i − m)²), so
  /// the parts of a batch split over processes add up to the sum of the whole batch.
  template <class T>
  static void channel_squares(index_t n, index_t c, index_t l, const T* x, const double* mean,
                              double* ss) {
    const cpu_isa isa = current_cpu_isa();
    parallel::parallel_for(0, c, 1, [&](index_t c0, index_t c1) {
      simclr::detail::with_isa(isa, [&](auto bytes) {
        constexpr std::size_t W = decltype(bytes)::value;
        const double dl = static_cast<double>(l);
        for (index_t ch = c0; ch < c1; ++ch) {
          double s = 0.0;
          for (index_t i = 0; i < n; ++i) {
            const plane_moments pm = moments<W>(x + (i * c + ch) * l, l);
            const double d = pm.shift - mean[ch];
            s += pm.squares + 2.0 * d * pm.rest + dl * d * d;
          }
          ss[ch] = s;
        }
      });
    });
  }

  /// y = γ·(x − mean)·inv_std + β, then + residual if given, then max(·, 0) if `relu`.
  template <class T>
  static void normalize(index_t n, index_t c, index_t l, const T* x, const T* gamma, const T* beta,
                        const T* mean, const T* inv_std, T* y, const T* residual, bool relu) {
    const cpu_isa isa = current_cpu_isa();
    parallel::parallel_for(0, n * c, 16, [&](index_t r0, index_t r1) {
      simclr::detail::with_isa(isa, [&](auto bytes) {
        constexpr std::size_t W = decltype(bytes)::value;
        for (index_t r = r0; r < r1; ++r) {
          const index_t ch = r % c;
          normalize_plane<W>(x + r * l, residual != nullptr ? residual + r * l : nullptr, y + r * l,
                             l, mean[ch], inv_std[ch], gamma[ch], beta[ch], relu);
        }
      });
    });
  }

  /// sums[ch] = Σ g and sums[c + ch] = Σ g·x̂ over channel ch, g = dy (masked to relu_y > 0
  /// when given), x̂ = (x − mean)·inv_std: backward's sums, before the group adds them up.
  template <class T>
  static void backward_sums(index_t n, index_t c, index_t l, const T* dy, const T* x, const T* mean,
                            const T* inv_std, const T* relu_y, double* sums) {
    const cpu_isa isa = current_cpu_isa();
    parallel::parallel_for(0, c, 1, [&](index_t c0, index_t c1) {
      simclr::detail::with_isa(isa, [&](auto bytes) {
        constexpr std::size_t W = decltype(bytes)::value;
        for (index_t ch = c0; ch < c1; ++ch) {
          double sdy = 0.0, sdyx = 0.0;
          for (index_t i = 0; i < n; ++i) {
            const index_t o = (i * c + ch) * l;
            const auto [a, b] =
                relu_y != nullptr
                    ? grad_sums<W, true>(dy + o, relu_y + o, x + o, mean[ch], inv_std[ch], l)
                    : grad_sums<W, false>(dy + o, static_cast<const T*>(nullptr), x + o, mean[ch],
                                          inv_std[ch], l);
            sdy += a;
            sdyx += b;
          }
          sums[ch] = sdy;
          sums[c + ch] = sdyx;
        }
      });
    });
  }

  /// dx = γ·inv_std/M · (M·g − Σg − x̂·Σ(g·x̂)) from the group's sums (layout of
  /// backward_sums) and its count M (dx may alias dy).
  template <class T>
  static void backward_dx(index_t n, index_t c, index_t l, const T* dy, const T* x, const T* mean,
                          const T* gamma, const T* inv_std, const T* relu_y, const double* sums,
                          double count, T* dx) {
    const cpu_isa isa = current_cpu_isa();
    parallel::parallel_for(0, n * c, 16, [&](index_t r0, index_t r1) {
      simclr::detail::with_isa(isa, [&](auto bytes) {
        constexpr std::size_t W = decltype(bytes)::value;
        for (index_t r = r0; r < r1; ++r) {
          const index_t ch = r % c;
          const T mt = mean[ch], ist = inv_std[ch];
          const T k = static_cast<T>(static_cast<double>(gamma[ch]) * static_cast<double>(ist));
          const T mean_dy = static_cast<T>(sums[ch] / count);
          const T mean_dyx = static_cast<T>(sums[c + ch] / count);
          dx_plane<W>(dy + r * l, x + r * l, relu_y != nullptr ? relu_y + r * l : nullptr,
                      dx + r * l, l, mt, ist, mean_dy, mean_dyx, k);
        }
      });
    });
  }

 private:
  /// The plane reductions keep one 64-byte vector of partial sums per quantity (simd<T>), so
  /// they vectorise without reassociating, and the lanes are added in a fixed order at the end.
  template <class T, std::size_t W>
  using lanes = simclr::detail::simd<T, W>;

  /// o = x̂·g + b (+ r), then max(·, 0) if relu, x̂ = (x − mt)·ist, over one plane of L values
  /// (o may alias x or r). Evaluation mode passes mt = 0, ist = scale, g = 1: x·scale + shift.
  template <std::size_t W, class T>
  static void normalize_plane(const T* x, const T* r, T* o, index_t l, T mt, T ist, T g, T b,
                              bool relu) {
    using L = lanes<T, W>;
    typename L::vec vm, vi, vg, vb, v, w;
    L::broadcast(vm, mt);
    L::broadcast(vi, ist);
    L::broadcast(vg, g);
    L::broadcast(vb, b);
    index_t j = 0;
    for (; j + L::width <= l; j += L::width) {
      L::load(v, x + j);
      v = (v - vm) * vi * vg + vb;
      if (r != nullptr) {
        L::load(w, r + j);
        v += w;
      }
      if (relu) L::relu(v);
      L::store(o + j, v);
    }
    for (; j < l; ++j) {
      T u = (x[j] - mt) * ist * g + b;
      if (r != nullptr) u += r[j];
      o[j] = relu ? (u > T(0) ? u : T(0)) : u;
    }
  }

  /// dx = (g − mean_dy − x̂·mean_dyx)·k over one plane, g = dy (0 where y ≤ 0 when y is given),
  /// x̂ = (x − mt)·ist (dx may alias dy).
  template <std::size_t W, class T>
  static void dx_plane(const T* dy, const T* x, const T* y, T* dx, index_t l, T mt, T ist,
                       T mean_dy, T mean_dyx, T k) {
    using L = lanes<T, W>;
    typename L::vec vm, vi, vd, vdx, vk, g, xv, yv;
    L::broadcast(vm, mt);
    L::broadcast(vi, ist);
    L::broadcast(vd, mean_dy);
    L::broadcast(vdx, mean_dyx);
    L::broadcast(vk, k);
    index_t j = 0;
    for (; j + L::width <= l; j += L::width) {
      L::load(g, dy + j);
      if (y != nullptr) {
        L::load(yv, y + j);
        L::keep(g, yv > typename L::vec{});
      }
      L::load(xv, x + j);
      L::store(dx + j, (g - vd - (xv - vm) * vi * vdx) * vk);
    }
    for (; j < l; ++j) {
      const T gj = y == nullptr || y[j] > T(0) ? dy[j] : T(0);
      dx[j] = (gj - mean_dy - (x[j] - mt) * ist * mean_dyx) * k;
    }
  }

  /// (Σ g, Σ g·x̂) over one plane of L values, g = dy (masked to y > 0 when Masked),
  /// x̂ = (x − mean)·inv_std.
  template <std::size_t W, bool Masked, class T>
  static std::pair<double, double> grad_sums(const T* dy, const T* y, const T* x, T mt, T ist,
                                             index_t l) {
    using L = lanes<T, W>;
    typename L::vec a = {}, b = {};
    const typename L::vec zero = {};
    index_t j = 0;
    typename L::vec g, yv, xv;
    for (; j + L::width <= l; j += L::width) {
      L::load(g, dy + j);
      if constexpr (Masked) {
        L::load(yv, y + j);
        L::keep(g, yv > zero);
      }
      L::load(xv, x + j);
      a += g;
      b += g * ((xv - mt) * ist);
    }
    double sa = 0.0, sb = 0.0;
    sa += L::total(a);
    sb += L::total(b);
    for (; j < l; ++j) {
      T g = dy[j];
      if constexpr (Masked) g = y[j] > T(0) ? g : T(0);
      sa += static_cast<double>(g);
      sb += static_cast<double>(g * ((x[j] - mt) * ist));
    }
    return {sa, sb};
  }

  /// Σ x over one plane and its mean s as T (moments then sums about s).
  template <std::size_t W, class T>
  static std::pair<double, T> plane_sum(const T* x, index_t l) {
    using L = lanes<T, W>;
    typename L::vec a = {}, v;
    index_t j = 0;
    for (; j + L::width <= l; j += L::width) {
      L::load(v, x + j);
      a += v;
    }
    double s = 0.0;
    s += L::total(a);
    for (; j < l; ++j) s += static_cast<double>(x[j]);
    return {s, static_cast<T>(s / static_cast<double>(l))};
  }
  /// One plane about its own float mean s: s, Σ(x − s) and Σ(x − s)². The deviations are small,
  /// so their float lane sums keep full precision where Σx itself would not (values 1e4 + N(0, 1):
  /// Σx in float lanes loses the variance's fifth digit); Σx = L·s + Σ(x − s).
  struct plane_moments {
    double shift = 0.0;    // s
    double rest = 0.0;     // Σ(x − s)
    double squares = 0.0;  // Σ(x − s)²
    [[nodiscard]] double sum(double l) const { return l * shift + rest; }
  };
  template <std::size_t W, class T>
  static plane_moments moments(const T* x, index_t l) {
    using L = lanes<T, W>;
    const T shift = plane_sum<W>(x, l).second;  // the plane stays in L1 for the second pass
    typename L::vec a = {}, b = {}, v;
    index_t j = 0;
    for (; j + L::width <= l; j += L::width) {
      L::load(v, x + j);
      v -= shift;
      a += v;
      b += v * v;
    }
    plane_moments m;
    m.shift = static_cast<double>(shift);
    m.rest += L::total(a);
    m.squares += L::total(b);
    for (; j < l; ++j) {
      const T d = x[j] - shift;
      m.rest += static_cast<double>(d);
      m.squares += static_cast<double>(d * d);
    }
    return m;
  }
};

}  // namespace simclr::nn
