// simclr::nn::conv2d_kernel<cpu_t>: im2col + register-tile GEMM over fixed image groups.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include <simclr/backend/cpu/dispatch.hpp>
#include <simclr/backend/cpu/memory.hpp>
#include <simclr/backend/cpu/simd.hpp>
#include <simclr/backend/cpu/tile_gemm.hpp>
#include <simclr/nn/cpu/direct_conv3.hpp>
#include <simclr/nn/cpu/direct_input_grad.hpp>
#include <simclr/nn/cpu/direct_weight_grad.hpp>
#include <simclr/nn/cpu/elementwise.hpp>
#include <simclr/nn/cpu/moments.hpp>
#include <simclr/nn/cpu/winograd.hpp>
#include <simclr/nn/kernels.hpp>
#include <simclr/nn/plane_moments.hpp>
#include <simclr/parallel/thread_pool.hpp>

namespace simclr::nn {

template <>
struct conv2d_kernel<cpu_t> {
  /// Where each tap of the window reads inside the image, for im2col and the packed
  /// convolution by masked loads or gathers (float on the avx512 or avx2 path): map t =
  /// ky·kw + kx is a bitmap over the output positions d of one image, bit d set when the input
  /// pixel of tap t at d lies inside the image, zero-padded beyond the plane. With stride 1 and
  /// an output as wide as the input, tap t reads pixel d + shift(t) (masked loads); otherwise
  /// `index` holds the pixel's offset in the plane for every (t, d) (gathers). Computed once per
  /// convolution call, so one call takes one path throughout.
  struct lane_plan {
    cpu_isa isa = cpu_isa::generic;
    index_t map_bytes = 0;     // bytes per tap's bitmap
    index_t index_stride = 0;  // entries per tap in `index` (a multiple of 16)
    std::vector<std::uint8_t> bits;
    std::vector<std::int32_t> index;  // empty on the masked-load path
    /// Itself when im2col should take a vector path, else nullptr (the generic path).
    [[nodiscard]] const lane_plan* get() const { return bits.empty() ? nullptr : this; }
    [[nodiscard]] const std::uint8_t* map(index_t tap) const {
      return bits.data() + tap * map_bytes;
    }
    /// At least 16 bits of a map from position d on (bit 0 = position d).
    static unsigned from(const std::uint8_t* map, index_t d) {
      std::uint32_t u = 0;
      std::memcpy(&u, map + d / 8, sizeof u);
      return u >> (d % 8);
    }
  };

  /// Images per group (one parallel task, one column matrix): about `column_budget` elements of
  /// column matrix (it stays in L2), 128–1024 columns. Depends on the shapes only, so results
  /// do not depend on the thread count.
  [[nodiscard]] static index_t group_size(const window2d& g) {
    const index_t k = g.channels * g.kernel_h * g.kernel_w;
    const index_t cols = std::clamp<index_t>(column_budget / std::max<index_t>(1, k), 128, 1024);
    return std::clamp<index_t>(cols / std::max<index_t>(1, g.out_plane()), 1,
                               std::max<index_t>(1, g.n));
  }

  /// col (K, ld) at column `offset` ← the receptive fields of one (C, H, W) image;
  /// K = C·kh·kw rows, out_plane() columns, zero where the window leaves the image.
  template <class T>
  static void im2col(const window2d& g, const T* x, T* col, index_t ld, index_t offset,
                     [[maybe_unused]] const lane_plan* masks = nullptr) {
    const index_t ho = g.out_height(), wo = g.out_width();
#if SIMCLR_X86_KERNELS
    if constexpr (std::is_same_v<T, float>) {
      if (masks != nullptr) {
        const bool gather = !masks->index.empty();
        if (masks->isa == cpu_isa::avx512) {
          (gather ? avx512_im2col<true> : avx512_im2col<false>)(g, *masks, x, col, ld, offset);
        } else {
          (gather ? avx2_im2col<true> : avx2_im2col<false>)(g, *masks, x, col, ld, offset);
        }
        return;
      }
    }
#endif
    // The copies and gathers below, compiled for the current ISA.
    simclr::detail::with_isa(current_cpu_isa(), [&](auto) {
      if (g.stride == 1 && wo == g.width) {
        im2col_same(g, x, col, ld, offset);
        return;
      }
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
              } else if (g.stride == 2) {  // a constant stride vectorises (ResNet's downsampling)
                for (index_t ox = ox0; ox < ox1; ++ox) dst[ox] = src[2 * ox];
              } else {
                for (index_t ox = ox0; ox < ox1; ++ox) dst[ox] = src[ox * g.stride];
              }
              std::fill(dst + ox1, dst + wo, T(0));
            }
          }
    });
  }

  /// im2col for stride 1 and an output as wide as the input: each row of col is the image
  /// plane shifted by (ky − p)·W + kx − p, so it is one contiguous copy; then the columns that
  /// wrapped around a row edge and the rows outside the image are zeroed.
  template <class T>
  static void im2col_same(const window2d& g, const T* x, T* col, index_t ld, index_t offset) {
    const index_t w = g.width, hw = g.in_plane(), hwo = g.out_plane(), ho = g.out_height();
    for (index_t c = 0; c < g.channels; ++c)
      for (index_t ky = 0; ky < g.kernel_h; ++ky)
        for (index_t kx = 0; kx < g.kernel_w; ++kx) {
          T* dst = col + ((c * g.kernel_h + ky) * g.kernel_w + kx) * ld + offset;
          const T* plane = x + c * hw;
          const index_t dy = ky - g.padding, dx = kx - g.padding, shift = dy * w + dx;
          const index_t oy0 = std::clamp<index_t>(-dy, 0, ho);
          const index_t oy1 = std::clamp<index_t>(g.height - dy, oy0, ho);
          // dst[d] = plane[d + shift] for d in [d0, d1), the valid rows clipped to the plane.
          const index_t d0 = std::clamp(-shift, oy0 * w, hwo);
          const index_t d1 = std::clamp(hw - shift, d0, std::max(d0, oy1 * w));
          std::fill(dst, dst + d0, T(0));
          std::copy(plane + d0 + shift, plane + d1 + shift, dst + d0);
          std::fill(dst + d1, dst + hwo, T(0));
          // The wrapped columns: [0, −dx) or [W − dx, W) of every valid row (one for 3×3).
          const index_t z0 = dx < 0 ? 0 : std::max<index_t>(0, w - dx);
          const index_t z1 = dx < 0 ? std::min(-dx, w) : (dx > 0 ? w : 0);
          for (index_t oy = oy0; oy < oy1; ++oy)
            for (index_t ox = z0; ox < z1; ++ox) dst[oy * w + ox] = T(0);
        }
  }

  template <class T>
  static lane_plan lane_masks(const window2d& g) {
    lane_plan plan;
#if SIMCLR_X86_KERNELS
    plan.isa = current_cpu_isa();
    // Offsets are 32-bit gather indices: planes beyond 2^31 values take the generic path.
    if (!std::is_same_v<T, float> || plan.isa == cpu_isa::generic ||
        g.in_plane() >= (index_t{1} << 31))
      return plan;
    const bool masked = g.stride == 1 && g.out_width() == g.width;
    const index_t wo = g.out_width(), ho = g.out_height(), hwo = g.out_plane();
    const index_t taps = g.kernel_h * g.kernel_w;
    plan.map_bytes = (hwo + 7) / 8 + 8;  // read 4 bytes at a time, past the end
    plan.bits.assign(static_cast<std::size_t>(taps * plan.map_bytes), 0);
    if (!masked) {
      plan.index_stride = (hwo + 15) / 16 * 16;
      plan.index.assign(static_cast<std::size_t>(taps * plan.index_stride), 0);
    }
    for (index_t ky = 0; ky < g.kernel_h; ++ky)
      for (index_t kx = 0; kx < g.kernel_w; ++kx) {
        const index_t t = ky * g.kernel_w + kx;
        std::uint8_t* m = plan.bits.data() + t * plan.map_bytes;
        for (index_t oy = 0; oy < ho; ++oy) {
          const index_t iy = oy * g.stride + ky - g.padding;
          if (iy < 0 || iy >= g.height) continue;
          for (index_t ox = 0; ox < wo; ++ox) {
            const index_t ix = ox * g.stride + kx - g.padding, d = oy * wo + ox;
            if (ix < 0 || ix >= g.width) continue;
            m[d / 8] |= static_cast<std::uint8_t>(1u << (d % 8));
            if (!masked)
              plan.index[static_cast<std::size_t>(t * plan.index_stride + d)] =
                  static_cast<std::int32_t>(iy * g.width + ix);
          }
        }
      }
#else
    (void)g;
#endif
    return plan;
  }

#if SIMCLR_X86_KERNELS
  /// im2col for float on the avx512 path, 16 positions at a time: row (c, t) of col is the
  /// plane of channel c read under tap t's map (pixels outside the image masked off: zero, and
  /// not read) — by one masked load from the plane shifted by tap t's offset (stride 1 with an
  /// output as wide as the input), or by one gather at the offsets `index` holds for tap t
  /// (any other stride, padding or width: Gather). The last vector's store is masked to the
  /// plane.
  template <bool Gather>
  __attribute__((target("avx512f"))) static void avx512_im2col(const window2d& g,
                                                               const lane_plan& plan,
                                                               const float* x, float* col,
                                                               index_t ld, index_t offset) {
    const index_t hw = g.in_plane(), hwo = g.out_plane(), taps = g.kernel_h * g.kernel_w;
    const index_t nv = (hwo + 15) / 16, rest = hwo - 16 * (nv - 1);
    const auto tail = static_cast<__mmask16>(rest == 16 ? 0xFFFFu : (1u << rest) - 1u);
    for (index_t c = 0; c < g.channels; ++c)
      for (index_t t = 0; t < taps; ++t) {
        float* dst = col + (c * taps + t) * ld + offset;
        const float* plane = x + c * hw;
        const float* src = plane + tap_shift(g, t);  // src + d is plane[d + shift]
        const std::uint8_t* m = plan.map(t);
        const std::int32_t* idx = plan.index.data() + t * plan.index_stride;
        for (index_t v = 0; v < nv; ++v) {
          const auto mask = static_cast<__mmask16>(lane_plan::from(m, 16 * v));
          const __m512 val =
              Gather ? _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask,
                                                _mm512_loadu_si512(idx + 16 * v), plane, 4)
                     : _mm512_maskz_loadu_ps(mask, src + 16 * v);
          if (v + 1 < nv) {
            _mm512_storeu_ps(dst + 16 * v, val);
          } else {
            _mm512_mask_storeu_ps(dst + 16 * v, tail, val);
          }
        }
      }
  }

  /// The same on the avx2 path, 8 positions at a time (vmaskmov and vgatherdps: masked-off
  /// lanes are not read).
  template <bool Gather>
  SIMCLR_AVX2 static void avx2_im2col(const window2d& g, const lane_plan& plan, const float* x,
                                      float* col, index_t ld, index_t offset) {
    const index_t hw = g.in_plane(), hwo = g.out_plane(), taps = g.kernel_h * g.kernel_w;
    const index_t nv = (hwo + 7) / 8, rest = hwo - 8 * (nv - 1);
    const __m256i tail = simclr::detail::avx2_lane_mask((1u << rest) - 1u);
    for (index_t c = 0; c < g.channels; ++c)
      for (index_t t = 0; t < taps; ++t) {
        float* dst = col + (c * taps + t) * ld + offset;
        const float* plane = x + c * hw;
        const float* src = plane + tap_shift(g, t);
        const std::uint8_t* m = plan.map(t);
        const std::int32_t* idx = plan.index.data() + t * plan.index_stride;
        for (index_t v = 0; v < nv; ++v) {
          const __m256i mask = simclr::detail::avx2_lane_mask(lane_plan::from(m, 8 * v) & 0xFFu);
          const __m256 val =
              Gather ? _mm256_mask_i32gather_ps(
                           _mm256_setzero_ps(), plane,
                           _mm256_loadu_si256(reinterpret_cast<const __m256i*>(idx + 8 * v)),
                           _mm256_castsi256_ps(mask), 4)
                     : _mm256_maskload_ps(src + 8 * v, mask);
          if (v + 1 < nv) {
            _mm256_storeu_ps(dst + 8 * v, val);
          } else {
            _mm256_maskstore_ps(dst + 8 * v, tail, val);
          }
        }
      }
  }

  /// Where tap t reads relative to the output position, in the image plane (stride 1, an
  /// output as wide as the input).
  static index_t tap_shift(const window2d& g, index_t t) {
    return (t / g.kernel_w - g.padding) * g.width + (t % g.kernel_w - g.padding);
  }

  /// The most taps a packed convolution takes (7 × 7); larger windows go through im2col.
  static constexpr index_t max_packed_taps = 49;
  /// Fewer output channels take im2col and the GEMM: the packed panel is then read by only one
  /// or two row tiles, and packing it cost more than the column matrix it saves (measured on
  /// an Intel Xeon: 16 channels at 28 × 28 17 % slower packed, 32 at 14 × 14 8 %; 64 at 32 × 32
  /// 25 % faster).
  static constexpr index_t packed_min_outputs = 64;

  /// Whether forward runs as a packed convolution: the masked path, at least
  /// packed_min_outputs output channels, every vector of positions within two images, a window
  /// of at most max_packed_taps.
  static bool packs(const window2d& g, index_t c_out, const lane_plan* plan) {
    if (plan == nullptr || !plan->index.empty() || c_out < packed_min_outputs ||
        g.kernel_h * g.kernel_w > max_packed_taps)
      return false;
    return g.out_plane() >= (plan->isa == cpu_isa::avx512 ? 16 : 8);
  }

  /// Where the (at most three) vectors of one packed panel read: vector v covers positions
  /// [j + lanes·v, …) of the group; its lanes in image i read base1[v] + offset under mask
  /// first[t][v] (tap t), those that ran into image i + 1 read base2[v] + offset under
  /// second[t][v]. Masks as lane bits, limited to the panel's width.
  struct panel_reads {
    const float* base1[3];
    const float* base2[3];
    unsigned first[max_packed_taps][3];
    unsigned second[max_packed_taps][3];
    bool straddles = false;  // some vector runs into the next image
    index_t vectors = 0;

    panel_reads(const window2d& g, const lane_plan& plan, const float* x, index_t j, index_t width,
                index_t lanes) {
      const index_t hwo = g.out_plane(), image = g.channels * g.in_plane();
      vectors = (width + lanes - 1) / lanes;
      for (index_t v = 0; v < vectors; ++v) {
        const index_t p = j + lanes * v, i = p / hwo, d = p % hwo;
        const index_t n = std::min(lanes, width - lanes * v);
        const unsigned limit = n == 32 ? ~0u : (1u << n) - 1u;
        base1[v] = x + i * image + d;
        base2[v] = x + (i + 1) * image + d - hwo;
        const bool two = d + n > hwo;
        straddles |= two;
        for (index_t t = 0; t < g.kernel_h * g.kernel_w; ++t) {
          const std::uint8_t* m = plan.map(t);
          first[t][v] = lane_plan::from(m, d) & limit;
          second[t][v] = two ? (lane_plan::from(m, 0) << (hwo - d)) & limit : 0u;
        }
      }
    }
  };

  /// The column-matrix row of (channel, tap) for the rows [k0, …) of a packed panel: its offset
  /// in the image, stepping the tap first.
  struct panel_rows {
    index_t ch, t, taps, plane;
    const index_t* shift;
    panel_rows(const window2d& g, const index_t* shifts, index_t k0)
        : ch(k0 / (g.kernel_h * g.kernel_w)),
          t(k0 % (g.kernel_h * g.kernel_w)),
          taps(g.kernel_h * g.kernel_w),
          plane(g.in_plane()),
          shift(shifts) {}
    [[nodiscard]] index_t offset() const { return ch * plane + shift[t]; }
    void next() {
      if (++t == taps) {
        t = 0;
        ++ch;
      }
    }
  };

  /// shift[t] = tap_shift(g, t) for every tap of the window.
  static void tap_shifts(const window2d& g, index_t* shift) {
    for (index_t t = 0; t < g.kernel_h * g.kernel_w; ++t) shift[t] = tap_shift(g, t);
  }

  /// out (Cout, cols) ← w (Cout, K) · the column matrix of `images` images from x, without the
  /// column matrix: the register-tile GEMM's k blocks and column panels (tile_gemm's, so the
  /// same bits), each panel packed straight from the images by masked loads into an L1 buffer
  /// that every row tile of the panel then reads. A vector of positions that runs into the next
  /// image takes its lanes from both (two masked loads).
  __attribute__((target("avx512f"))) static void avx512_packed_conv(const window2d& g,
                                                                    const lane_plan& plan,
                                                                    index_t c_out, const float* x,
                                                                    index_t images, const float* w,
                                                                    float* out) {
    constexpr index_t kc = 256, mc = 128, lanes = 16, panel_w = 48;
    const index_t k = g.channels * g.kernel_h * g.kernel_w, cols = images * g.out_plane();
    index_t shift[max_packed_taps];
    tap_shifts(g, shift);
    alignas(64) float panel[kc * panel_w];
    for (index_t j = 0; j < cols; j += panel_w) {
      const index_t width = std::min(panel_w, cols - j);
      const panel_reads pr(g, plan, x, j, width, lanes);
      const index_t nv = pr.vectors, rest = width - lanes * (nv - 1);
      const auto tail = static_cast<__mmask16>(rest == 16 ? 0xFFFFu : (1u << rest) - 1u);
      for (index_t k0 = 0; k0 < k || k0 == 0; k0 += kc) {
        const index_t kb = std::min(kc, k - k0);
        // Pack rows [k0, k0 + kb) of the panel: row r is channel r / taps, tap r % taps.
        panel_rows row(g, shift, k0);
        for (index_t r = 0; r < kb; ++r, row.next()) {
          const index_t off = row.offset();
          float* dst = panel + r * lanes * nv;
          for (index_t v = 0; v < nv; ++v) {
            __m512 val = _mm512_maskz_loadu_ps(static_cast<__mmask16>(pr.first[row.t][v]),
                                               pr.base1[v] + off);
            if (pr.straddles)
              val = _mm512_mask_loadu_ps(val, static_cast<__mmask16>(pr.second[row.t][v]),
                                         pr.base2[v] + off);
            _mm512_store_ps(dst + lanes * v, val);
          }
        }
        const bool acc = k0 > 0;
        for (index_t i0 = 0; i0 < c_out; i0 += mc) {
          const index_t mb = std::min(mc, c_out - i0);
          const float* a = w + i0 * k + k0;
          float* c = out + i0 * cols + j;
          if (nv == 3) {
            simclr::detail::avx512_gemm_panel<3>(mb, kb, a, k, 1, panel, 48, c, cols, tail, acc);
          } else if (nv == 2) {
            simclr::detail::avx512_gemm_panel<2>(mb, kb, a, k, 1, panel, 32, c, cols, tail, acc);
          } else {
            simclr::detail::avx512_gemm_panel<1>(mb, kb, a, k, 1, panel, 16, c, cols, tail, acc);
          }
        }
        if (k == 0) break;
      }
    }
  }

  /// The same on the avx2 path: panels of 16 columns (two 8-wide vectors), 6-row tiles.
  SIMCLR_AVX2 static void avx2_packed_conv(const window2d& g, const lane_plan& plan, index_t c_out,
                                           const float* x, index_t images, const float* w,
                                           float* out) {
    constexpr index_t kc = 256, mc = 128, lanes = 8, panel_w = 16;
    const index_t k = g.channels * g.kernel_h * g.kernel_w, cols = images * g.out_plane();
    index_t shift[max_packed_taps];
    tap_shifts(g, shift);
    alignas(32) float panel[kc * panel_w];
    for (index_t j = 0; j < cols; j += panel_w) {
      const index_t width = std::min(panel_w, cols - j);
      const panel_reads pr(g, plan, x, j, width, lanes);
      const index_t nv = pr.vectors, rest = width - lanes * (nv - 1);
      const unsigned tail = rest == 8 ? 0u : (1u << rest) - 1u;
      // The lane masks as vmaskmov wants them, once per panel.
      __m256i first[max_packed_taps][2], second[max_packed_taps][2];
      for (index_t t = 0; t < g.kernel_h * g.kernel_w; ++t)
        for (index_t v = 0; v < nv; ++v) {
          first[t][v] = simclr::detail::avx2_lane_mask(pr.first[t][v]);
          second[t][v] = simclr::detail::avx2_lane_mask(pr.second[t][v]);
        }
      for (index_t k0 = 0; k0 < k || k0 == 0; k0 += kc) {
        const index_t kb = std::min(kc, k - k0);
        panel_rows row(g, shift, k0);
        for (index_t r = 0; r < kb; ++r, row.next()) {
          const index_t off = row.offset();
          float* dst = panel + r * lanes * nv;
          for (index_t v = 0; v < nv; ++v) {
            __m256 val = _mm256_maskload_ps(pr.base1[v] + off, first[row.t][v]);
            if (pr.straddles)
              val = _mm256_or_ps(val, _mm256_maskload_ps(pr.base2[v] + off, second[row.t][v]));
            _mm256_store_ps(dst + lanes * v, val);
          }
        }
        const bool acc = k0 > 0;
        for (index_t i0 = 0; i0 < c_out; i0 += mc) {
          const index_t mb = std::min(mc, c_out - i0);
          const float* a = w + i0 * k + k0;
          float* c = out + i0 * cols + j;
          if (nv == 2) {
            if (tail == 0) {
              simclr::detail::avx2_gemm_panel<2, false>(mb, kb, a, k, 1, panel, 16, c, cols, 0u,
                                                        acc);
            } else {
              simclr::detail::avx2_gemm_panel<2, true>(mb, kb, a, k, 1, panel, 16, c, cols, tail,
                                                       acc);
            }
          } else if (tail == 0) {
            simclr::detail::avx2_gemm_panel<1, false>(mb, kb, a, k, 1, panel, 8, c, cols, 0u, acc);
          } else {
            simclr::detail::avx2_gemm_panel<1, true>(mb, kb, a, k, 1, panel, 8, c, cols, tail, acc);
          }
        }
        if (k == 0) break;
      }
    }
  }
#endif

  /// dx (C, H, W) += the column gradients of one image (the adjoint of im2col).
  template <class T>
  static void col2im(const window2d& g, const T* col, index_t ld, index_t offset, T* dx) {
    simclr::detail::with_isa(current_cpu_isa(), [&](auto) {
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
    });
  }

  /// Whether a float forward (and so a stride-1 input gradient, itself a forward) runs as
  /// Winograd F(2 × 2, 3 × 3) (winograd_f2x3::applies: 3 × 3, stride 1, padding 1, 64+ channels
  /// in and out, the avx512 or avx2 path) — unless SIMCLR_CONV_WINOGRAD=0, which keeps every
  /// convolution on im2col (read at each call).
  static bool winograd(const window2d& g, index_t c_out, cpu_isa isa) {
    if (!winograd_f2x3::applies(g, c_out, isa)) return false;
    const char* e = std::getenv("SIMCLR_CONV_WINOGRAD");
    return e == nullptr || std::strcmp(e, "0") != 0;
  }

  /// The per-thread buffer of n floats a Winograd block or the direct weight gradient works in
  /// (scratch slot 0).
  static float* winograd_scratch(index_t n) {
    return scratch<float>(static_cast<std::size_t>(n), 0);
  }

  /// dw += ∂/∂w by winograd_f2x3::weight_grad where it applies (float; see winograd() and
  /// winograd_f2x3::applies_to_weights); false (nothing done) elsewhere.
  template <class T>
  static bool winograd_weight_grad(const window2d& g, index_t c_out, const T* x, const T* dy,
                                   T* dw) {
    if constexpr (std::is_same_v<T, float>) {
      const cpu_isa isa = current_cpu_isa();
      if (winograd(g, c_out, isa) && winograd_f2x3::applies_to_weights(g, c_out, isa)) {
        winograd_f2x3::weight_grad(g, c_out, x, dy, dw, isa, winograd_scratch);
        return true;
      }
    } else {
      (void)g, (void)c_out, (void)x, (void)dy, (void)dw;
    }
    return false;
  }

  /// dw += ∂/∂w by direct_weight_grad where it applies (float); false (nothing done) elsewhere.
  template <class T>
  static bool direct_weight_gradient(const window2d& g, index_t c_out, const T* x, const T* dy,
                                     T* dw) {
    if constexpr (std::is_same_v<T, float>) {
      const cpu_isa isa = current_cpu_isa();
      if (direct_weight_grad::applies(g, c_out, isa)) {
        direct_weight_grad::run(g, c_out, x, dy, dw, isa, winograd_scratch);
        return true;
      }
    } else {
      (void)g, (void)c_out, (void)x, (void)dy, (void)dw;
    }
    return false;
  }

  /// y (N, Cout, Ho, Wo) ← conv(x (N, C, H, W), w (Cout, C, kh, kw)) + bias (Cout) if given.
  /// Per group: the column matrix, one product (straight into y for a one-image group). With
  /// `moments` (N·Cout), also each output plane's plane_moments for a BatchNorm that follows,
  /// taken while the group's planes are still in cache (the bits BatchNorm would get itself).
  /// With `add` (N, Cout, Ho, Wo), y = conv + bias + add, added in the same pass.
  template <class T>
  static void forward(const window2d& g, index_t c_out, const T* x, const T* w, const T* bias, T* y,
                      plane_moments* moments = nullptr, const T* add = nullptr) {
    const index_t k = g.channels * g.kernel_h * g.kernel_w, hwo = g.out_plane();
    const cpu_isa isa = current_cpu_isa();
    if constexpr (std::is_same_v<T, float>) {
      if (winograd(g, c_out, isa)) {
        const simclr::detail::cpu_scratch<float> u(
            static_cast<std::size_t>(16 * c_out * g.channels));
        winograd_f2x3::transform_weights(c_out, g.channels, w, u.data());
        winograd_f2x3::forward(g, c_out, x, u.data(), bias, y, isa, winograd_scratch);
        // The output transform writes blocks of tiles across images: passes of their own.
        if (add != nullptr) elementwise_kernel<cpu_t>::add(g.n * c_out * hwo, y, add, y);
        if (moments != nullptr) cpu_moments::all_planes(g.n, c_out, hwo, y, moments);
        return;
      }
      if (bias == nullptr && direct_conv3::applies(g, c_out, isa)) {
        direct_conv3::run(g, c_out, x, w, y, add, moments, isa, winograd_scratch);
        return;
      }
      // Other stride-1 windows: the adjoint of the transposed convolution (see transposed()),
      // scattered.
      if (bias == nullptr && is_transposable(g)) {
        const window2d gt = transposed(g, c_out);
        if (direct_input_grad::applies(gt, g.channels, isa)) {
          const auto wt = flipped(g, c_out, w);
          direct_input_grad::run(gt, g.channels, wt.get(), x, y, add, isa, winograd_scratch,
                                 moments);
          return;
        }
      }
    }
    const auto masks = lane_masks<T>(g);
    parallel::parallel_for(0, g.n, group_size(g), [&](index_t n0, index_t n1) {
      const index_t cols = (n1 - n0) * hwo;
      // One image: the product lands in y directly; several: in scratch, then per image.
      const bool single = n1 - n0 == 1;
      T* out =
          single ? y + n0 * c_out * hwo : scratch<T>(static_cast<std::size_t>(c_out * cols), 1);
      if (!packed_product(g, masks.get(), c_out, x, n0, n1, w, out)) {
        const T* col = columns(g, x, n0, n1, masks.get());
        simclr::detail::tile_gemm(c_out, cols, k, w, k, index_t{1}, col, cols, out, cols);
      }
      if (single && bias == nullptr && moments == nullptr && add == nullptr) return;
      simclr::detail::with_isa(isa, [&](auto bytes) {
        constexpr std::size_t W = decltype(bytes)::value;
        // Out of the group's product: y = product + bias + add, per image and channel.
        if (!single || bias != nullptr || add != nullptr)
          for (index_t i = n0; i < n1; ++i)
            for (index_t co = 0; co < c_out; ++co) {
              const T* src = out + co * cols + (i - n0) * hwo;
              const index_t at = (i * c_out + co) * hwo;
              T* dst = y + at;
              const T* r = add != nullptr ? add + at : nullptr;
              const T b = bias != nullptr ? bias[co] : T(0);
              using L = simclr::detail::simd<T, W>;
              typename L::vec v, vb, vr;
              L::broadcast(vb, b);
              index_t q = 0;
              for (; q + L::width <= hwo; q += L::width) {
                L::load(v, src + q);
                v += vb;
                if (r != nullptr) {
                  L::load(vr, r + q);
                  v += vr;
                }
                L::store(dst + q, v);
              }
              for (; q < hwo; ++q) dst[q] = r != nullptr ? src[q] + b + r[q] : src[q] + b;
            }
        if (moments != nullptr)
          for (index_t r = n0 * c_out; r < n1 * c_out; ++r)
            moments[r] = cpu_moments::plane<W>(y + r * hwo, hwo);
      });
    });
  }

  /// Gradients of forward: dw (Cout, C, kh, kw) += ∂/∂w, dbias (Cout) += ∂/∂b if given,
  /// dx (N, C, H, W) ← ∂/∂x + dx_add (if given; a residual block's shortcut gradient, added
  /// while dx is still in cache) if dx is given. Every sum runs in an order fixed by the shapes
  /// (see weight_grad_by_images / _by_rows), so the result is the same for any thread count. For
  /// stride 1, dx is itself a convolution of dy (flipped, transposed weights): forward.
  template <class T>
  static void backward(const window2d& g, index_t c_out, const T* x, const T* w, const T* dy, T* dx,
                       T* dw, T* dbias, const T* dx_add = nullptr) {
    const index_t k = g.channels * g.kernel_h * g.kernel_w, hwo = g.out_plane();
    const index_t group = group_size(g);
    const auto masks = lane_masks<T>(g);
    const lane_plan* mp = masks.get();
    if (dbias != nullptr)  // per channel: planes summed in T, the planes in double, in order
      parallel::parallel_for(0, c_out, 8, [&](index_t c0, index_t c1) {
        for (index_t co = c0; co < c1; ++co) {
          double s = 0;
          for (index_t i = 0; i < g.n; ++i) {
            T p = 0;
            for (index_t q = 0; q < hwo; ++q) p += dy[(i * c_out + co) * hwo + q];
            s += static_cast<double>(p);
          }
          dbias[co] += static_cast<T>(s);
        }
      });
    if (!winograd_weight_grad(g, c_out, x, dy, dw) &&
        !direct_weight_gradient(g, c_out, x, dy, dw)) {
      if (4 * k > g.n * hwo) {
        weight_grad_by_rows(g, c_out, mp, x, dy, dw);
      } else {
        weight_grad_by_images(g, c_out, group, mp, x, dy, dw);
      }
    }
    if (dx == nullptr) return;
    if constexpr (std::is_same_v<T, float>) {
      const cpu_isa isa = current_cpu_isa();
      // Unless the transposed convolution below runs as direct_conv3.
      const bool conv3 =
          is_transposable(g) && direct_conv3::applies(transposed(g, c_out), g.channels, isa);
      if (!conv3 && direct_input_grad::applies(g, c_out, isa)) {
        direct_input_grad::run(g, c_out, w, dy, dx, dx_add, isa, winograd_scratch);
        return;
      }
    }
    if (is_transposable(g)) {  // dx = conv(dy, w̃): see transposed()
      const auto wt = flipped(g, c_out, w);
      forward(transposed(g, c_out), g.channels, dy, wt.get(), static_cast<const T*>(nullptr), dx,
              nullptr, dx_add);
      return;
    }
    parallel::parallel_for(0, g.n, group, [&](index_t n0, index_t n1) {
      const index_t cols = (n1 - n0) * hwo;
      const T* dyg = dy + n0 * c_out * hwo;
      if (n1 - n0 > 1) {
        T* dy_buf = scratch<T>(static_cast<std::size_t>(c_out * cols), 1);
        for (index_t i = n0; i < n1; ++i)
          for (index_t co = 0; co < c_out; ++co)
            std::copy_n(dy + (i * c_out + co) * hwo, hwo, dy_buf + co * cols + (i - n0) * hwo);
        dyg = dy_buf;
      }
      // dcol (K, cols) = wᵀ · dy, then its adjoint im2col into the group's images.
      T* dcol = scratch<T>(static_cast<std::size_t>(k * cols), 2);
      simclr::detail::tile_gemm(k, cols, c_out, w, index_t{1}, k, dyg, cols, dcol, cols);
      // The columns accumulate onto dx_add (or zero).
      const index_t first = n0 * g.channels * g.in_plane(), last = n1 * g.channels * g.in_plane();
      if (dx_add != nullptr) {
        std::copy(dx_add + first, dx_add + last, dx + first);
      } else {
        std::fill(dx + first, dx + last, T(0));
      }
      for (index_t i = n0; i < n1; ++i)
        col2im(g, dcol, cols, (i - n0) * hwo, dx + i * g.channels * g.in_plane());
    });
  }

 private:
  /// dyᵀ (hwo, Cout) of image i into dst.
  template <class T>
  static void transpose_image(const T* dy, index_t c_out, index_t hwo, T* dst) {
    simclr::detail::transpose(c_out, hwo, dy, hwo, dst, c_out);
  }

  /// dw += ∂/∂w, parallel over chunks of whole image groups (at most max_weight_parts): each
  /// chunk sums its groups into a partial dwᵀ (K, Cout), the partials are added in chunk
  /// order. For large batches of small weights.
  template <class T>
  static void weight_grad_by_images(const window2d& g, index_t c_out, index_t group,
                                    const lane_plan* masks, const T* x, const T* dy, T* dw) {
    const index_t k = g.channels * g.kernel_h * g.kernel_w, hwo = g.out_plane();
    const index_t n_groups = (g.n + group - 1) / group;
    const index_t chunk = group * ((n_groups + max_weight_parts - 1) / max_weight_parts);
    const index_t n_chunks = (g.n + chunk - 1) / chunk;
    const std::size_t part = static_cast<std::size_t>(k * c_out);
    const simclr::detail::cpu_scratch<T> dw_parts(static_cast<std::size_t>(n_chunks) * part);
    parallel::parallel_for(0, g.n, chunk, [&](index_t c0, index_t c1) {
      T* dw_part = dw_parts.data() + static_cast<std::size_t>(c0 / chunk) * part;
      for (index_t n0 = c0; n0 < c1; n0 += group) {
        const index_t n1 = std::min(c1, n0 + group), cols = (n1 - n0) * hwo;
        const T* col = columns(g, x, n0, n1, masks);
        // dyᵀ (cols, Cout) of the group, then dwᵀ (K, Cout) (+)= col · dyᵀ.
        T* dyt = scratch<T>(static_cast<std::size_t>(cols * c_out), 1);
        for (index_t i = n0; i < n1; ++i)
          transpose_image(dy + i * c_out * hwo, c_out, hwo, dyt + (i - n0) * hwo * c_out);
        simclr::detail::tile_gemm(k, c_out, cols, col, cols, index_t{1}, dyt, c_out, dw_part, c_out,
                                  n0 > c0);
      }
    });
    // Chunk 0's part accumulates the others (contiguous rows: vectorised, no add chain).
    parallel::parallel_for(0, k, 64, [&](index_t r0, index_t r1) {
      T* sum = dw_parts.data() + r0 * c_out;
      const index_t len = (r1 - r0) * c_out;
      for (index_t ci = 1; ci < n_chunks; ++ci) {
        const T* p = sum + static_cast<std::size_t>(ci) * part;
        for (index_t e = 0; e < len; ++e) sum[e] += p[e];
      }
      add_transposed(sum, r1 - r0, c_out, dw + r0, k);
    });
  }

  /// dw += ∂/∂w, parallel over blocks of input channels (rows of dwᵀ): each task sums every
  /// image group for its rows, in order, so no partial copies of dw are needed. For weights
  /// larger than the batch's dy (the deep layers of a wide ResNet).
  template <class T>
  static void weight_grad_by_rows(const window2d& g, index_t c_out, const lane_plan* masks,
                                  const T* x, const T* dy, T* dw) {
    const index_t kk = g.kernel_h * g.kernel_w, k = g.channels * kk, hwo = g.out_plane();
    const simclr::detail::cpu_scratch<T> dyt(
        static_cast<std::size_t>(g.n * hwo * c_out));  // (N·hwo, Cout)
    parallel::parallel_for(0, g.n, 8, [&](index_t i0, index_t i1) {
      for (index_t i = i0; i < i1; ++i)
        transpose_image(dy + i * c_out * hwo, c_out, hwo, dyt.data() + i * hwo * c_out);
    });
    const index_t group = std::clamp<index_t>(1024 / std::max<index_t>(1, hwo), 1, g.n);
    const index_t block = std::max<index_t>(1, 144 / kk);  // input channels per task
    parallel::parallel_for(0, g.channels, block, [&](index_t ch0, index_t ch1) {
      window2d gc = g;
      gc.channels = ch1 - ch0;
      const index_t rows = gc.channels * kk;
      T* sum = scratch<T>(static_cast<std::size_t>(rows * c_out), 2);  // (rows, Cout)
      for (index_t n0 = 0; n0 < g.n; n0 += group) {
        const index_t n1 = std::min(g.n, n0 + group), cols = (n1 - n0) * hwo;
        const T* col = columns(gc, x + ch0 * g.in_plane(), n0, n1, masks, g.channels);
        simclr::detail::tile_gemm(rows, c_out, cols, col, cols, index_t{1},
                                  dyt.data() + n0 * hwo * c_out, c_out, sum, c_out, n0 > 0);
      }
      add_transposed(sum, rows, c_out, dw + ch0 * kk, k);
    });
  }

  /// d (cols, rows; leading dimension ld) += sᵀ for s (rows, cols) contiguous.
  template <class T>
  static void add_transposed(const T* s, index_t rows, index_t cols, T* d, index_t ld) {
    for (index_t c = 0; c < cols; ++c)
      for (index_t r = 0; r < rows; ++r) d[c * ld + r] += s[r * cols + c];
  }

  /// Column-matrix elements per group (floats: 512 KiB).
  static constexpr index_t column_budget = index_t{1} << 17;
  /// Most partial weight gradients a backward pass keeps (chunks of groups beyond that).
  static constexpr index_t max_weight_parts = 32;

  /// A per-thread scratch buffer of at least `n` elements (grown, never shrunk or cleared):
  /// every user overwrites the elements it reads, so no zero fill is needed.
  template <class T>
  static T* scratch(std::size_t n, int slot) {
    return simclr::detail::thread_scratch<T, conv2d_kernel>(n, slot);
  }

  /// out ← w · the column matrix of images [n0, n1) as a packed convolution where it applies
  /// (packs()); false (nothing done) where it does not.
  template <class T>
  static bool packed_product([[maybe_unused]] const window2d& g,
                             [[maybe_unused]] const lane_plan* plan, [[maybe_unused]] index_t c_out,
                             [[maybe_unused]] const T* x, [[maybe_unused]] index_t n0,
                             [[maybe_unused]] index_t n1, [[maybe_unused]] const T* w,
                             [[maybe_unused]] T* out) {
#if SIMCLR_X86_KERNELS
    if constexpr (std::is_same_v<T, float>) {
      if (!packs(g, c_out, plan)) return false;
      const float* first = x + n0 * g.channels * g.in_plane();
      if (plan->isa == cpu_isa::avx512) {
        avx512_packed_conv(g, *plan, c_out, first, n1 - n0, w, out);
      } else {
        avx2_packed_conv(g, *plan, c_out, first, n1 - n0, w, out);
      }
      return true;
    }
#endif
    return false;
  }

  /// The column matrix (K, (n1 − n0)·Ho·Wo) of images [n0, n1): the image itself for a single
  /// image under a 1×1, stride-1, unpadded window, else im2col into scratch slot 0.
  template <class T>
  static const T* columns(const window2d& g, const T* x, index_t n0, index_t n1,
                          const lane_plan* masks, index_t image_channels = 0) {
    // Images are image_channels planes apart (g.channels unless g is a channel slice).
    const index_t stride = (image_channels > 0 ? image_channels : g.channels) * g.in_plane();
    const index_t k = g.channels * g.kernel_h * g.kernel_w, hwo = g.out_plane();
    if (n1 - n0 == 1 && g.kernel_h == 1 && g.kernel_w == 1 && g.stride == 1 && g.padding == 0)
      return x + n0 * stride;
    const index_t cols = (n1 - n0) * hwo;
    T* col = scratch<T>(static_cast<std::size_t>(k * cols), 0);
    for (index_t i = n0; i < n1; ++i) im2col(g, x + i * stride, col, cols, (i - n0) * hwo, masks);
    return col;
  }

  /// The transposed convolution of a transposable g: from (N, Cout, Ho, Wo) to (N, C, H, W)
  /// with the weights flipped() — stride 1, padding kh − 1 − p, the same output size as g's
  /// input. It is g's adjoint (so g's input gradient is this convolution of dy), and g is its
  /// adjoint (so g's forward is direct_input_grad of it).
  static window2d transposed(const window2d& g, index_t c_out) {
    window2d gt = g;
    gt.channels = c_out;
    gt.height = g.out_height();
    gt.width = g.out_width();
    gt.padding = g.kernel_h - 1 - g.padding;
    return gt;
  }

  /// w̃ (C, Cout, kh, kw): w (Cout, C, kh, kw) transposed and flipped in space.
  template <class T>
  static std::unique_ptr<T[]> flipped(const window2d& g, index_t c_out, const T* w) {
    const index_t kk = g.kernel_h * g.kernel_w;
    auto wt =
        std::make_unique_for_overwrite<T[]>(static_cast<std::size_t>(c_out * g.channels * kk));
    for (index_t co = 0; co < c_out; ++co)
      for (index_t ci = 0; ci < g.channels; ++ci)
        for (index_t t = 0; t < kk; ++t)
          wt[static_cast<std::size_t>((ci * c_out + co) * kk + kk - 1 - t)] =
              w[(co * g.channels + ci) * kk + t];
    return wt;
  }

  /// Stride 1 with a square kernel and padding ≤ k − 1: the input gradient is a convolution.
  static bool is_transposable(const window2d& g) {
    return g.stride == 1 && g.kernel_h == g.kernel_w && g.padding <= g.kernel_h - 1;
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
