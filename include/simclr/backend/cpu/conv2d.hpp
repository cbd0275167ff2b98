// simclr::nn::conv2d_kernel<cpu_t>: im2col + Eigen GEMM over fixed image groups, deterministic.
#pragma once

#include <algorithm>
#include <cstring>
#include <vector>

#include <Eigen/Core>

#include <simclr/nn/kernels.hpp>
#include <simclr/parallel/thread_pool.hpp>

namespace simclr::nn {

template <>
struct conv2d_kernel<cpu_t> {
  /// Images per GEMM: enough output columns (~1024) for an efficient product even on 4×4
  /// feature maps. Depends on the shapes only, so results do not depend on the thread count.
  [[nodiscard]] static index_t group_size(const window2d& g) {
    return std::clamp<index_t>(1024 / std::max<index_t>(1, g.out_plane()), 1,
                               std::max<index_t>(1, g.n));
  }

  /// A per-thread scratch buffer of at least `n` elements (grown, never shrunk or cleared):
  /// im2col overwrites every element it uses, so no zero fill is needed.
  template <class T>
  static T* scratch(std::size_t n, int slot) {
    thread_local std::vector<T> buffers[3];
    auto& b = buffers[slot];
    if (b.size() < n) b = std::vector<T>(n);
    return b.data();
  }

  /// col (K, ld) at column `offset` ← the receptive fields of one (C, H, W) image;
  /// K = C·kh·kw rows, out_plane() columns, zero where the window leaves the image.
  template <class T>
  static void im2col(const window2d& g, const T* x, T* col, index_t ld, index_t offset) {
    const index_t ho = g.out_height(), wo = g.out_width();
    for (index_t c = 0; c < g.channels; ++c)
      for (index_t ky = 0; ky < g.kernel_h; ++ky)
        for (index_t kx = 0; kx < g.kernel_w; ++kx) {
          T* dst = col + ((c * g.kernel_h + ky) * g.kernel_w + kx) * ld + offset;
          const auto [ox0, ox1] = valid_range(kx, g.width, wo, g);
          for (index_t oy = 0; oy < ho; ++oy, dst += wo) {
            const index_t iy = oy * g.stride - g.padding + ky;
            if (iy < 0 || iy >= g.height) {
              std::fill(dst, dst + wo, T(0));
              continue;
            }
            const T* src = x + (c * g.height + iy) * g.width + (kx - g.padding);
            std::fill(dst, dst + ox0, T(0));
            if (g.stride == 1) {
              std::copy(src + ox0, src + ox1, dst + ox0);
            } else {
              for (index_t ox = ox0; ox < ox1; ++ox) dst[ox] = src[ox * g.stride];
            }
            std::fill(dst + ox1, dst + wo, T(0));
          }
        }
  }

  /// dx (C, H, W) += the column gradients of one image (the adjoint of im2col).
  template <class T>
  static void col2im(const window2d& g, const T* col, index_t ld, index_t offset, T* dx) {
    const index_t ho = g.out_height(), wo = g.out_width();
    for (index_t c = 0; c < g.channels; ++c)
      for (index_t ky = 0; ky < g.kernel_h; ++ky)
        for (index_t kx = 0; kx < g.kernel_w; ++kx) {
          const T* src = col + ((c * g.kernel_h + ky) * g.kernel_w + kx) * ld + offset;
          const auto [ox0, ox1] = valid_range(kx, g.width, wo, g);
          for (index_t oy = 0; oy < ho; ++oy, src += wo) {
            const index_t iy = oy * g.stride - g.padding + ky;
            if (iy < 0 || iy >= g.height) continue;
            T* dst = dx + (c * g.height + iy) * g.width + (kx - g.padding);
            if (g.stride == 1) {
              for (index_t ox = ox0; ox < ox1; ++ox) dst[ox] += src[ox];
            } else {
              for (index_t ox = ox0; ox < ox1; ++ox) dst[ox * g.stride] += src[ox];
            }
          }
        }
  }

  /// y (N, Cout, Ho, Wo) ← conv(x (N, C, H, W), w (Cout, C, kh, kw)) + bias (Cout) if given.
  template <class T>
  static void forward(const window2d& g, index_t c_out, const T* x, const T* w, const T* bias,
                      T* y) {
    const index_t k = g.channels * g.kernel_h * g.kernel_w, hwo = g.out_plane();
    const index_t group = group_size(g);
    const bool direct = is_pointwise(g);
    const const_matrix<T> wm(w, c_out, k);
    parallel::parallel_for(0, g.n, group, [&](index_t n0, index_t n1) {
      const index_t cols = (n1 - n0) * hwo;
      const T* col = nullptr;
      if (direct && n1 - n0 == 1) {
        col = x + n0 * g.channels * g.in_plane();
      } else {
        T* col_buf = scratch<T>(static_cast<std::size_t>(k * cols), 0);
        for (index_t i = n0; i < n1; ++i)
          im2col(g, x + i * g.channels * g.in_plane(), col_buf, cols, (i - n0) * hwo);
        col = col_buf;
      }
      T* out = n1 - n0 == 1 ? y + n0 * c_out * hwo
                            : scratch<T>(static_cast<std::size_t>(c_out * cols), 1);
      matrix<T> om(out, c_out, cols);
      om.noalias() = wm * const_matrix<T>(col, k, cols);
      if (bias != nullptr)
        om.colwise() += Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>(bias, c_out);
      if (n1 - n0 > 1)
        for (index_t i = n0; i < n1; ++i)
          for (index_t co = 0; co < c_out; ++co)
            std::memcpy(y + (i * c_out + co) * hwo, out + co * cols + (i - n0) * hwo,
                        sizeof(T) * static_cast<std::size_t>(hwo));
    });
  }

  /// Gradients of forward: dw (Cout, C, kh, kw) += ∂/∂w, dbias (Cout) += ∂/∂b if given,
  /// dx (N, C, H, W) ← ∂/∂x if given. The per-group weight gradients are summed in group
  /// order, so the result is the same for any thread count.
  template <class T>
  static void backward(const window2d& g, index_t c_out, const T* x, const T* w, const T* dy,
                       T* dx, T* dw, T* dbias) {
    const index_t k = g.channels * g.kernel_h * g.kernel_w, hwo = g.out_plane();
    const index_t group = group_size(g);
    const index_t n_groups = (g.n + group - 1) / group;
    const bool direct = is_pointwise(g);
    const const_matrix<T> wm(w, c_out, k);
    std::vector<T> dw_parts(static_cast<std::size_t>(n_groups * c_out * k));
    std::vector<T> db_parts(dbias != nullptr ? static_cast<std::size_t>(n_groups * c_out) : 0);
    if (dx != nullptr) std::fill(dx, dx + g.n * g.channels * g.in_plane(), T(0));
    parallel::parallel_for(0, g.n, group, [&](index_t n0, index_t n1) {
      const index_t gi = n0 / group, cols = (n1 - n0) * hwo;
      const bool single = n1 - n0 == 1;
      const T* col = nullptr;
      if (direct && single) {
        col = x + n0 * g.channels * g.in_plane();
      } else {
        T* col_buf = scratch<T>(static_cast<std::size_t>(k * cols), 0);
        for (index_t i = n0; i < n1; ++i)
          im2col(g, x + i * g.channels * g.in_plane(), col_buf, cols, (i - n0) * hwo);
        col = col_buf;
      }
      const T* dyg = dy + n0 * c_out * hwo;
      if (!single) {
        T* dy_buf = scratch<T>(static_cast<std::size_t>(c_out * cols), 1);
        for (index_t i = n0; i < n1; ++i)
          for (index_t co = 0; co < c_out; ++co)
            std::memcpy(dy_buf + co * cols + (i - n0) * hwo, dy + (i * c_out + co) * hwo,
                        sizeof(T) * static_cast<std::size_t>(hwo));
        dyg = dy_buf;
      }
      const const_matrix<T> dym(dyg, c_out, cols);
      matrix<T> dwm(dw_parts.data() + gi * c_out * k, c_out, k);
      dwm.noalias() = dym * const_matrix<T>(col, k, cols).transpose();
      if (dbias != nullptr)
        Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>(db_parts.data() + gi * c_out, c_out) =
            dym.rowwise().sum();
      if (dx != nullptr) {
        if (direct && single) {
          matrix<T>(dx + n0 * g.channels * g.in_plane(), k, cols).noalias() =
              wm.transpose() * dym;
        } else {
          T* dcol = scratch<T>(static_cast<std::size_t>(k * cols), 2);
          matrix<T>(dcol, k, cols).noalias() = wm.transpose() * dym;
          for (index_t i = n0; i < n1; ++i)
            col2im(g, dcol, cols, (i - n0) * hwo, dx + i * g.channels * g.in_plane());
        }
      }
    });
    for (index_t gi = 0; gi < n_groups; ++gi) {
      const T* part = dw_parts.data() + gi * c_out * k;
      for (index_t i = 0; i < c_out * k; ++i) dw[i] += part[i];
      if (dbias != nullptr)
        for (index_t co = 0; co < c_out; ++co) dbias[co] += db_parts[gi * c_out + co];
    }
  }

 private:
  template <class T>
  using matrix = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
  template <class T>
  using const_matrix =
      Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

  /// A 1×1, stride-1, unpadded convolution reads the image itself as its column matrix.
  static bool is_pointwise(const window2d& g) {
    return g.kernel_h == 1 && g.kernel_w == 1 && g.stride == 1 && g.padding == 0;
  }

  /// The output columns [ox0, ox1) whose input column ox·stride − padding + kx is inside.
  static std::pair<index_t, index_t> valid_range(index_t kx, index_t width, index_t wo,
                                                 const window2d& g) {
    const index_t shift = g.padding - kx;  // ix = ox·s − shift
    index_t ox0 = shift > 0 ? (shift + g.stride - 1) / g.stride : 0;
    index_t ox1 = (width - 1 + shift) >= 0 ? (width - 1 + shift) / g.stride + 1 : 0;
    ox0 = std::min(ox0, wo);
    ox1 = std::clamp(ox1, ox0, wo);
    return {ox0, ox1};
  }
};

}  // namespace simclr::nn
