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
#include <simclr/nn/cpu/moments.hpp>
#include <simclr/nn/kernels.hpp>
#include <simclr/nn/plane_moments.hpp>
#include <simclr/parallel/thread_pool.hpp>

namespace simclr::nn {

template <>
struct batch_norm_kernel<cpu_t> {
  /// Training mode. x, y: (N, C, L) (L = H·W, or 1 for (N, C) inputs). Per channel c: mean_c
  /// and biased var_c over N·L values; y = γ·(x − mean)·inv_std + β, then + residual (N, C, L)
  /// if given, then max(·, 0) if `relu`, in one pass (y may alias x or residual). Writes mean,
  /// var (biased) and inv_std (C) for backward and the running statistics. The statistics read
  /// x once: each plane's sums of (x − s) and (x − s)² about its first value s (cpu_moments),
  /// combined per channel in double in plane order — as accurate as two passes over the
  /// channel, and deterministic. Planes run in parallel in memory order, here and in
  /// every pass below (a channel's planes lie C·L apart; walking them channel by channel read
  /// memory in short strided runs: 25–45 % slower on an Intel Xeon).
  /// `given`: the moments of x's planes (plane_moments, r = i·C + c) if the layer that wrote x
  /// computed them on the way (the same bits as here), else nullptr.
  template <class T>
  static void forward_train(index_t n, index_t c, index_t l, const T* x, const T* gamma,
                            const T* beta, double eps, T* y, T* mean, T* var, T* inv_std,
                            const T* residual, bool relu, const plane_moments* given = nullptr) {
    // Every plane's moments (planes in parallel, in memory order), then each channel's from
    // its planes in plane order, then the normalisation (in memory order).
    const moments_of pm(n, c, l, x, given);
    const double count = static_cast<double>(n * l);
    for (index_t ch = 0; ch < c; ++ch) {
      const double m = channel_sum(pm.data, n, c, l, ch) / count;
      const double v = std::max(channel_square(pm.data, n, c, l, ch, m), 0.0) / count;
      mean[ch] = static_cast<T>(m);
      var[ch] = static_cast<T>(v);
      inv_std[ch] = static_cast<T>(1.0 / std::sqrt(v + eps));
    }
    normalize(n, c, l, x, gamma, beta, mean, inv_std, y, residual, relu);
  }

  /// Evaluation mode: y = γ·(x − running_mean)/sqrt(running_var + ε) + β, then + residual if
  /// given, then max(·, 0) if `relu` (y may alias x or residual).
  template <class T>
  static void forward_eval(index_t n, index_t c, index_t l, const T* x, const T* gamma,
                           const T* beta, const T* running_mean, const T* running_var, double eps,
                           T* y, const T* residual, bool relu) {
    const cpu_isa isa = current_cpu_isa();
    parallel::parallel_for(0, n * c, cpu_moments::plane_grain(l), [&](index_t r0, index_t r1) {
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
    std::vector<double> sums(static_cast<std::size_t>(2 * c));
    backward_sums(n, c, l, dy, x, mean, inv_std, relu_y, sums.data());
    for (index_t ch = 0; ch < c; ++ch) {
      dgamma[ch] += static_cast<T>(sums[static_cast<std::size_t>(c + ch)]);
      dbeta[ch] += static_cast<T>(sums[static_cast<std::size_t>(ch)]);
    }
    if (dx != nullptr)
      backward_dx(n, c, l, dy, x, mean, gamma, inv_std, relu_y, sums.data(),
                  static_cast<double>(n * l), dx);
  }

  // ---- global BatchNorm (statistics summed over a group of processes) ----------------------
  // The same sums as forward_train and backward, split where the group adds its processes'
  // parts: Σx per channel, then Σ(x − mean)² about the group's mean, then the normalisation;
  // backward's (Σdy, Σdy·x̂), then dx from the group's sums.

  /// sum[ch] = Σ x over the N·L values of channel ch (double).
  template <class T>
  static void channel_sums(index_t n, index_t c, index_t l, const T* x, double* sum,
                           const plane_moments* given = nullptr) {
    const moments_of pm(n, c, l, x, given);
    for (index_t ch = 0; ch < c; ++ch) sum[ch] = channel_sum(pm.data, n, c, l, ch);
  }

  /// ss[ch] = Σ (x − mean[ch])² over channel ch, exactly as forward_train forms it (each plane
  /// about its shift s_i, then Σ(x − s_i)² + 2(s_i − m)·Σ(x − s_i) + L(s_i − m)²), so
  /// the parts of a batch split over processes add up to the sum of the whole batch.
  template <class T>
  static void channel_squares(index_t n, index_t c, index_t l, const T* x, const double* mean,
                              double* ss, const plane_moments* given = nullptr) {
    const moments_of pm(n, c, l, x, given);
    for (index_t ch = 0; ch < c; ++ch) ss[ch] = channel_square(pm.data, n, c, l, ch, mean[ch]);
  }

  /// y = γ·(x − mean)·inv_std + β, then + residual if given, then max(·, 0) if `relu`.
  template <class T>
  static void normalize(index_t n, index_t c, index_t l, const T* x, const T* gamma, const T* beta,
                        const T* mean, const T* inv_std, T* y, const T* residual, bool relu) {
    const cpu_isa isa = current_cpu_isa();
    parallel::parallel_for(0, n * c, cpu_moments::plane_grain(l), [&](index_t r0, index_t r1) {
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
    // Each plane's (Σg, Σg·x̂) in memory order, then each channel's in plane order.
    std::vector<std::pair<double, double>> part(static_cast<std::size_t>(n * c));
    const cpu_isa isa = current_cpu_isa();
    parallel::parallel_for(0, n * c, cpu_moments::plane_grain(l), [&](index_t r0, index_t r1) {
      simclr::detail::with_isa(isa, [&](auto bytes) {
        constexpr std::size_t W = decltype(bytes)::value;
        for (index_t r = r0; r < r1; ++r) {
          const index_t ch = r % c;
          part[static_cast<std::size_t>(r)] =
              relu_y != nullptr ? grad_sums<W, true>(dy + r * l, relu_y + r * l, x + r * l,
                                                     mean[ch], inv_std[ch], l)
                                : grad_sums<W, false>(dy + r * l, static_cast<const T*>(nullptr),
                                                      x + r * l, mean[ch], inv_std[ch], l);
        }
      });
    });
    for (index_t ch = 0; ch < c; ++ch) {
      double sdy = 0.0, sdyx = 0.0;
      for (index_t i = 0; i < n; ++i) {
        const auto& [a, b] = part[static_cast<std::size_t>(i * c + ch)];
        sdy += a;
        sdyx += b;
      }
      sums[ch] = sdy;
      sums[c + ch] = sdyx;
    }
  }

  /// The group's statistics (host doubles): mean[ch] as given (already Σx / count), the
  /// biased variance max(ss[ch], 0) / count and 1/sqrt(var + eps), into the layer's tensors.
  template <class T>
  static void set_stats(index_t c, const double* mean, const double* ss, double count, double eps,
                        T* mean_out, T* var_out, T* inv_std_out) {
    for (index_t ch = 0; ch < c; ++ch) {
      const double v = std::max(ss[ch], 0.0) / count;
      mean_out[ch] = static_cast<T>(mean[ch]);
      var_out[ch] = static_cast<T>(v);
      inv_std_out[ch] = static_cast<T>(1.0 / std::sqrt(v + eps));
    }
  }

  /// dβ[ch] += sums[ch], dγ[ch] += sums[c + ch] (backward_sums' layout, host doubles).
  template <class T>
  static void add_affine_grads(index_t c, const double* sums, T* dbeta, T* dgamma) {
    for (index_t ch = 0; ch < c; ++ch) {
      dbeta[ch] += static_cast<T>(sums[ch]);
      dgamma[ch] += static_cast<T>(sums[c + ch]);
    }
  }

  /// dx = γ·inv_std/M · (M·g − Σg − x̂·Σ(g·x̂)) from the group's sums (layout of
  /// backward_sums) and its count M (dx may alias dy).
  template <class T>
  static void backward_dx(index_t n, index_t c, index_t l, const T* dy, const T* x, const T* mean,
                          const T* gamma, const T* inv_std, const T* relu_y, const double* sums,
                          double count, T* dx) {
    const cpu_isa isa = current_cpu_isa();
    parallel::parallel_for(0, n * c, cpu_moments::plane_grain(l), [&](index_t r0, index_t r1) {
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

  /// Σx over channel ch from its planes' moments (moments_of), in plane order.
  static double channel_sum(const plane_moments* pm, index_t n, index_t c, index_t l, index_t ch) {
    double s = 0.0;
    for (index_t i = 0; i < n; ++i)
      s += pm[static_cast<std::size_t>(i * c + ch)].sum(static_cast<double>(l));
    return s;
  }
  /// Σ(x − m)² over channel ch = Σ_i [Σ(x − s_i)² + 2(s_i − m)·Σ(x − s_i) + L(s_i − m)²],
  /// exactly, in plane order.
  static double channel_square(const plane_moments* pm, index_t n, index_t c, index_t l, index_t ch,
                               double m) {
    const double dl = static_cast<double>(l);
    double ss = 0.0;
    for (index_t i = 0; i < n; ++i) {
      const plane_moments& p = pm[static_cast<std::size_t>(i * c + ch)];
      const double d = p.shift - m;
      ss += p.squares + 2.0 * d * p.rest + dl * d * d;
    }
    return ss;
  }

  /// The moments of every plane of x (N, C, L), in memory order (plane r = i·C + ch): `given`
  /// (the layer that wrote x computed them) or computed here.
  struct moments_of {
    std::vector<plane_moments> own;
    const plane_moments* data;
    template <class T>
    moments_of(index_t n, index_t c, index_t l, const T* x, const plane_moments* given) {
      if (given == nullptr) {
        own.resize(static_cast<std::size_t>(n * c));
        cpu_moments::all_planes(n, c, l, x, own.data());
      }
      data = given != nullptr ? given : own.data();
    }
  };
};

}  // namespace simclr::nn
