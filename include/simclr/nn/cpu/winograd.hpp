// simclr::nn::winograd_f2x3: 3 × 3, stride-1, padding-1 convolutions of float on the CPU by
// Winograd's minimal filtering F(2 × 2, 3 × 3) (Lavin & Gray, arXiv 1509.09308).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include <simclr/backend/cpu/isa.hpp>
#include <simclr/backend/cpu/memory.hpp>
#include <simclr/backend/cpu/tile_gemm.hpp>
#include <simclr/config.hpp>
#include <simclr/nn/kernels.hpp>
#include <simclr/parallel/thread_pool.hpp>

#if SIMCLR_X86_KERNELS
#include <immintrin.h>
#endif

namespace simclr::nn {

/// Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A for every 2 × 2 output tile: each output tile reads a 4 × 4
/// input patch d, each filter g becomes a 4 × 4 matrix U = G g Gᵀ, and the products over input
/// channels become 16 GEMMs, one per element ξ of the 4 × 4 transforms — M_ξ (Cout, tiles) =
/// U_ξ (Cout, C) · V_ξ (C, tiles) — with 16·C·Cout multiplications per tile instead of
/// im2col's 36·C·Cout (2.25 × fewer). The input and output transforms only add and subtract;
/// U is formed in double.
///
/// Tiles (image, ty, tx) are numbered across the batch and taken in fixed blocks of
/// block_tiles(C, Cout) — one parallel task each, its V and M blocks in L2 — so every output
/// depends on the shapes only, not on the thread count. The register tiles of the GEMMs and the
/// transforms (16 or 8 tiles per vector, along tile rows or gathered across them; lane for lane
/// the same operations) give the same bits on the avx512 and avx2 paths.
///
/// Its rounding differs from im2col's (the input transform adds up to four values before the
/// products); float results agree with the double convolution to about 1e-6 relative (tests).
struct winograd_f2x3 {
  /// Whether (g, Cout) runs here on `isa` (forward): float on the avx512 or avx2 path, a 3 × 3
  /// window, stride 1, padding 1 (output size = input size), at least min_channels input and
  /// output channels, offsets within 32 bits (the gathers).
  [[nodiscard]] static bool applies(const window2d& g, index_t c_out, cpu_isa isa) {
    if (isa != cpu_isa::avx512 && isa != cpu_isa::avx2) return false;
    if (g.kernel_h != 3 || g.kernel_w != 3 || g.stride != 1 || g.padding != 1) return false;
    if (g.channels < min_channels || c_out < min_channels) return false;
    const index_t most = std::max(g.channels, c_out) * g.n * (g.in_plane() + 2 * g.width + 8);
    return most < (index_t{1} << 31);
  }

  /// Fewer input or output channels stay with im2col: their 16 GEMMs are too thin to pay for
  /// the transforms (Intel Xeon, avx512: 32 channels at 14 × 14 0.9 × forward, 0.7 × weight
  /// gradient). The same on both paths, so that they give the same bits.
  static constexpr index_t min_channels = 64;

  /// Tiles per block: a multiple of 48 (the GEMMs' columns fill whole 48-wide panels, and 16-
  /// and 8-tile vectors) with V (16, C, tiles) and M (16, Cout, tiles) about 1 MiB together
  /// (both stay in L2 between the transforms and the GEMMs), 48 to 480 tiles.
  [[nodiscard]] static index_t block_tiles(index_t c, index_t c_out) {
    const index_t t = (index_t{1} << 13) / std::max<index_t>(1, std::max(c, c_out));
    return std::clamp<index_t>((t + 24) / 48 * 48, 48, 480);
  }

  /// The leading dimension of the blocks' V and M rows: block_tiles + 16, so that rows are not
  /// a multiple of 1 KiB apart (the GEMM's panel rows would share a few L1 sets).
  [[nodiscard]] static index_t block_ld(index_t c, index_t c_out) {
    return block_tiles(c, c_out) + 16;
  }

  /// Scratch floats one block needs: V then M.
  [[nodiscard]] static index_t block_floats(index_t c, index_t c_out) {
    return 16 * (c + c_out) * block_ld(c, c_out);
  }

  /// u (16, Cout, C) ← G g Gᵀ for every filter g of w (Cout, C, 3, 3), in double.
  static void transform_weights(index_t c_out, index_t c, const float* w, float* u) {
    parallel::parallel_for(0, c_out, 8, [&](index_t o0, index_t o1) {
      for (index_t co = o0; co < o1; ++co)
        for (index_t ci = 0; ci < c; ++ci) {
          const float* f = w + (co * c + ci) * 9;
          double gg[4][3];  // G g: rows 0..3 of G times g
          for (int j = 0; j < 3; ++j) {
            const double a = f[j], b = f[3 + j], d = f[6 + j];
            gg[0][j] = a;
            gg[1][j] = 0.5 * (a + b + d);
            gg[2][j] = 0.5 * (a - b + d);
            gg[3][j] = d;
          }
          for (int r = 0; r < 4; ++r) {
            const double a = gg[r][0], b = gg[r][1], d = gg[r][2];
            const double row[4] = {a, 0.5 * (a + b + d), 0.5 * (a - b + d), d};
            for (int q = 0; q < 4; ++q)
              u[((r * 4 + q) * c_out + co) * c + ci] = static_cast<float>(row[q]);
          }
        }
    });
  }

  /// y (N, Cout, H, W) ← conv(x (N, C, H, W), w) + bias (Cout) if given. u from
  /// transform_weights; `scratch(n)` hands each task a thread-local buffer of n floats.
  template <class Scratch>
  static void forward(const window2d& g, index_t c_out, const float* x, const float* u,
                      const float* bias, float* y, cpu_isa isa, const Scratch& scratch) {
    const index_t c = g.channels, tiles = g.n * tiles_per_image(g);
    const index_t nb = block_tiles(c, c_out), blocks = (tiles + nb - 1) / nb;
    const index_t ld = block_ld(c, c_out);
    parallel::parallel_for(0, blocks, 1, [&](index_t b0, index_t b1) {
      float* v = scratch(block_floats(c, c_out));
      float* m = v + 16 * c * ld;
      for (index_t b = b0; b < b1; ++b) {
        const tile_block blk(g, b * nb, std::min(nb, tiles - b * nb), ld, isa);
        transform_input(g, x, blk, v, isa);
        for (index_t xi = 0; xi < 16; ++xi)
          simclr::detail::tile_gemm(c_out, blk.n, c, u + xi * c_out * c, c, index_t{1},
                                    v + xi * c * ld, ld, m + xi * c_out * ld, ld);
        transform_output(g, c_out, m, blk, bias, y, isa);
      }
    });
  }

  /// Most partial ∂L/∂U weight_grad keeps (chunks of blocks beyond that).
  static constexpr index_t max_weight_parts = 16;

  /// Whether weight_grad takes (g, Cout) on `isa`: where forward applies, on maps of even
  /// height and width (odd ones compute a quarter more positions than they have, in the last
  /// row and column of tiles: 64 channels at 7 × 7 ran 0.88× of im2col on both paths), and where
  /// the weights are small next to the batch (the case weight_grad_by_images of conv2d covers:
  /// four times the weights per output channel at most the batch's output positions).
  [[nodiscard]] static bool applies_to_weights(const window2d& g, index_t c_out, cpu_isa isa) {
    return applies(g, c_out, isa) && g.height % 2 == 0 && g.width % 2 == 0 &&
           4 * 9 * g.channels <= g.n * g.in_plane();
  }

  /// dw (Cout, C, 3, 3) += ∂L/∂w for y = forward(x): by the transposes of forward's transforms,
  /// ∂L/∂M_ξ = A dY Aᵀ for each tile's 2 × 2 output gradient dY, ∂L/∂U_ξ (Cout, C) = Σ over
  /// tiles of ∂L/∂M_ξ · V_ξᵀ (16 GEMMs per block, V_ξ transposed in registers), ∂L/∂g =
  /// Gᵀ (∂L/∂U) G in double. Chunks of blocks (at most max_weight_parts) each sum into their own
  /// partial ∂L/∂U, the partials are added in chunk order: the result depends on the shapes
  /// only. `scratch(n)` as for forward.
  template <class Scratch>
  static void weight_grad(const window2d& g, index_t c_out, const float* x, const float* dy,
                          float* dw, cpu_isa isa, const Scratch& scratch) {
    const index_t c = g.channels, tiles = g.n * tiles_per_image(g);
    const index_t nb = block_tiles(c, c_out), ld = block_ld(c, c_out);
    const index_t blocks = (tiles + nb - 1) / nb;
    const index_t per_chunk = (blocks + max_weight_parts - 1) / max_weight_parts;
    const index_t chunks = (blocks + per_chunk - 1) / per_chunk;
    const auto part = static_cast<std::size_t>(16 * c_out * c);
    const simclr::detail::cpu_scratch<float> parts(static_cast<std::size_t>(chunks) * part);
    parallel::parallel_for(0, chunks, 1, [&](index_t k0, index_t k1) {
      float* v = scratch(block_floats(c, c_out) + nb * c);
      float* dm = v + 16 * c * ld;
      float* vt = dm + 16 * c_out * ld;  // V_ξ transposed: (tiles, C)
      for (index_t k = k0; k < k1; ++k) {
        float* du = parts.data() + static_cast<std::size_t>(k) * part;
        const index_t first = k * per_chunk, last = std::min(blocks, first + per_chunk);
        for (index_t b = first; b < last; ++b) {
          const tile_block blk(g, b * nb, std::min(nb, tiles - b * nb), ld, isa);
          transform_input(g, x, blk, v, isa);
          transform_grad(g, c_out, dy, blk, dm, isa);
          for (index_t xi = 0; xi < 16; ++xi) {
            simclr::detail::transpose(c, blk.n, v + xi * c * ld, ld, vt, c);
            simclr::detail::tile_gemm(c_out, c, blk.n, dm + xi * c_out * ld, ld, index_t{1}, vt, c,
                                      du + xi * c_out * c, c, b > first);
          }
        }
      }
    });
    // Per filter: its 16 partial sums over the chunks in order, then Gᵀ (∂L/∂U) G.
    parallel::parallel_for(0, c_out, 4, [&](index_t o0, index_t o1) {
      for (index_t co = o0; co < o1; ++co)
        for (index_t ci = 0; ci < c; ++ci) {
          double du[4][4];
          for (index_t xi = 0; xi < 16; ++xi) {
            const std::size_t at = static_cast<std::size_t>((xi * c_out + co) * c + ci);
            float sum = parts[at];
            for (index_t k = 1; k < chunks; ++k)
              sum += parts[static_cast<std::size_t>(k) * part + at];
            du[xi / 4][xi % 4] = sum;
          }
          double t[3][4];  // Gᵀ ∂L/∂U
          for (int q = 0; q < 4; ++q) {
            const double h = 0.5 * (du[1][q] + du[2][q]);
            t[0][q] = du[0][q] + h;
            t[1][q] = 0.5 * (du[1][q] - du[2][q]);
            t[2][q] = h + du[3][q];
          }
          float* f = dw + (co * c + ci) * 9;
          for (int r = 0; r < 3; ++r) {
            const double h = 0.5 * (t[r][1] + t[r][2]);
            f[3 * r] += static_cast<float>(t[r][0] + h);
            f[3 * r + 1] += static_cast<float>(0.5 * (t[r][1] - t[r][2]));
            f[3 * r + 2] += static_cast<float>(h + t[r][3]);
          }
        }
    });
  }

 private:
  static index_t tiles_per_image(const window2d& g) {
    return ((g.height + 1) / 2) * ((g.width + 1) / 2);
  }

  /// Where the tiles [t, t + count) read and write, one lane each (L lanes; lanes past count
  /// read and write nothing). in[q][l]: the offset of patch element q = 4r + s (row r, column s
  /// of the 4 × 4 patch from (2ty − 1, 2tx − 1)) in x for channel 0, bit l of in_bits[q] set
  /// where it lies inside the image; out[q][l] for the output element q = 2a + b at
  /// (2ty + a, 2tx + b) in y for channel 0, out_bits likewise.
  struct lane_map {
    std::int32_t in[16][16];
    std::int32_t out[4][16];
    unsigned in_bits[16];
    unsigned out_bits[4];
    lane_map(const window2d& g, index_t c_out, index_t t, index_t count, int lanes) {
      const index_t h = g.height, w = g.width, tw = (w + 1) / 2, per_image = tiles_per_image(g);
      std::fill(in_bits, in_bits + 16, 0u);
      std::fill(out_bits, out_bits + 4, 0u);
      for (int l = 0; l < lanes; ++l) {
        if (l >= count) {
          for (auto& q : in) q[l] = 0;
          for (auto& q : out) q[l] = 0;
          continue;
        }
        const index_t tt = t + l, i = tt / per_image, r = tt % per_image;
        const index_t y0 = 2 * (r / tw), x0 = 2 * (r % tw);
        for (int a = 0; a < 4; ++a)
          for (int s = 0; s < 4; ++s) {
            const index_t iy = y0 - 1 + a, ix = x0 - 1 + s;
            in[a * 4 + s][l] = static_cast<std::int32_t>(i * g.channels * h * w + iy * w + ix);
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) in_bits[a * 4 + s] |= 1u << l;
          }
        for (int a = 0; a < 2; ++a)
          for (int s = 0; s < 2; ++s) {
            const index_t oy = y0 + a, ox = x0 + s;
            out[a * 2 + s][l] = static_cast<std::int32_t>(i * c_out * h * w + oy * w + ox);
            if (oy < h && ox < w) out_bits[a * 2 + s] |= 1u << l;
          }
      }
    }
  };

  /// d (16 patch elements) ← Bᵀ d B in place, Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1].
  template <class V>
  __attribute__((always_inline)) static inline void input_tf(V* d) {
    V t[16];
    for (int s = 0; s < 4; ++s) {
      t[s] = d[s] - d[8 + s];
      t[4 + s] = d[4 + s] + d[8 + s];
      t[8 + s] = d[8 + s] - d[4 + s];
      t[12 + s] = d[4 + s] - d[12 + s];
    }
    for (int r = 0; r < 4; ++r) {
      d[4 * r] = t[4 * r] - t[4 * r + 2];
      d[4 * r + 1] = t[4 * r + 1] + t[4 * r + 2];
      d[4 * r + 2] = t[4 * r + 2] - t[4 * r + 1];
      d[4 * r + 3] = t[4 * r + 1] - t[4 * r + 3];
    }
  }

  /// o (2 × 2) ← Aᵀ m A, Aᵀ = [1 1 1 0; 0 1 −1 −1].
  template <class V>
  __attribute__((always_inline)) static inline void output_tf(const V* m, V* o) {
    V s0[4], s1[4];
    for (int s = 0; s < 4; ++s) {
      s0[s] = m[s] + m[4 + s] + m[8 + s];
      s1[s] = m[4 + s] - m[8 + s] - m[12 + s];
    }
    o[0] = s0[0] + s0[1] + s0[2];
    o[1] = s0[1] - s0[2] - s0[3];
    o[2] = s1[0] + s1[1] + s1[2];
    o[3] = s1[1] - s1[2] - s1[3];
  }

  /// A run of tiles along one tile row: image i, tile row ty, tile columns [tx, tx + count).
  struct row_run {
    index_t i, ty, tx, count;
    /// The run from tile t on, at most `most` tiles.
    row_run(const window2d& g, index_t t, index_t most) {
      const index_t tw = (g.width + 1) / 2, per_image = tiles_per_image(g), r = t % per_image;
      i = t / per_image;
      ty = r / tw;
      tx = r % tw;
      count = std::min(most, tw - tx);
    }
  };

  /// Whether the transforms walk tile rows, one vector per run of up to 16 or 8 tiles
  /// (contiguous loads and stores, shuffled between even and odd columns), rather than gather
  /// and scatter full vectors of tiles from several rows: for maps at least 13 wide (7 tiles a
  /// row). Measured on an Intel Xeon (avx512 and avx2 alike): rows 1.35–1.6 × faster at 32 × 32,
  /// gathers 1.2–1.9 × at 8 × 8 and 4 × 4.
  static bool walks_rows(const window2d& g) { return (g.width + 1) / 2 >= 7; }

  /// Bits e of `width` (≤ 16) lanes set where column c0 + e lies in [0, w).
  static unsigned column_bits(index_t c0, index_t w, int width) {
    const index_t lo = std::clamp<index_t>(-c0, 0, width),
                  hi = std::clamp<index_t>(w - c0, lo, width);
    return ((1u << hi) - 1u) & ~((1u << lo) - 1u);
  }

  /// Up to one vector of tiles along one tile row, from the block's column j on.
  struct run {
    index_t j, i, ty, tx, count;
  };

  /// One block of tiles as the transforms take it: the tiles [t0, t0 + n), the rows of V and M
  /// ld apart, and, where the transforms walk tile rows, the block's runs of at most one vector
  /// (16 tiles on avx512, 8 on avx2), split once for all of the block's transforms.
  struct tile_block {
    index_t t0, n, ld;
    std::vector<run> runs;
    tile_block(const window2d& g, index_t first, index_t count, index_t stride, cpu_isa isa)
        : t0(first), n(count), ld(stride) {
      if (!walks_rows(g)) return;
      const index_t lanes = isa == cpu_isa::avx512 ? 16 : 8;
      runs.reserve(static_cast<std::size_t>(n));
      for (index_t j = 0; j < n;) {
        const row_run r(g, t0 + j, std::min(lanes, n - j));
        runs.push_back({j, r.i, r.ty, r.tx, r.count});
        j += r.count;
      }
    }
  };

  /// dm (16) ← A t Aᵀ for a 2 × 2 output gradient t (t[2a + b] at row a, column b),
  /// A = [1 0; 1 1; 1 −1; 0 −1]: the transpose of output_tf.
  template <class V>
  __attribute__((always_inline)) static inline void grad_tf(const V* t, V* dm) {
    V r[4][2];  // A t
    for (int b = 0; b < 2; ++b) {
      r[0][b] = t[b];
      r[1][b] = t[b] + t[2 + b];
      r[2][b] = t[b] - t[2 + b];
      r[3][b] = -t[2 + b];
    }
    for (int a = 0; a < 4; ++a) {
      dm[4 * a] = r[a][0];
      dm[4 * a + 1] = r[a][0] + r[a][1];
      dm[4 * a + 2] = r[a][0] - r[a][1];
      dm[4 * a + 3] = -r[a][1];
    }
  }

  /// dm (16, Cout, ld) ← A dY Aᵀ for the block's tiles, every output channel of dy.
  static void transform_grad(const window2d& g, index_t c_out, const float* dy,
                             const tile_block& blk, float* dm, [[maybe_unused]] cpu_isa isa) {
#if SIMCLR_X86_KERNELS
    if (isa == cpu_isa::avx512) {
      (walks_rows(g) ? avx512_grad_rows : avx512_grad)(g, c_out, dy, blk, dm);
    } else {
      (walks_rows(g) ? avx2_grad_rows : avx2_grad)(g, c_out, dy, blk, dm);
    }
#else
    (void)g, (void)c_out, (void)dy, (void)blk, (void)dm;
#endif
  }

  /// v (16, C, ld) ← Bᵀ d B for the block's tiles, every channel.
  static void transform_input(const window2d& g, const float* x, const tile_block& blk, float* v,
                              [[maybe_unused]] cpu_isa isa) {
#if SIMCLR_X86_KERNELS
    if (isa == cpu_isa::avx512) {
      (walks_rows(g) ? avx512_input_rows : avx512_input)(g, x, blk, v);
    } else {
      (walks_rows(g) ? avx2_input_rows : avx2_input)(g, x, blk, v);
    }
#else
    (void)g, (void)x, (void)blk, (void)v;
#endif
  }

  /// y ← Aᵀ M A (+ bias) for the block's tiles, every output channel.
  static void transform_output(const window2d& g, index_t c_out, const float* m,
                               const tile_block& blk, const float* bias, float* y,
                               [[maybe_unused]] cpu_isa isa) {
#if SIMCLR_X86_KERNELS
    if (isa == cpu_isa::avx512) {
      (walks_rows(g) ? avx512_output_rows : avx512_output)(g, c_out, m, blk, bias, y);
    } else {
      (walks_rows(g) ? avx2_output_rows : avx2_output)(g, c_out, m, blk, bias, y);
    }
#else
    (void)g, (void)c_out, (void)m, (void)blk, (void)bias, (void)y;
#endif
  }

#if SIMCLR_X86_KERNELS
  /// e ← the even columns, o ← the odd columns of the 32 in l0 (columns 0–15) and l1 (16–31):
  /// e[i] = column 2i, o[i] = column 2i + 1.
  __attribute__((target("avx512f"), always_inline)) static inline void avx512_split_columns(
      const __m512& l0, const __m512& l1, __m512& e, __m512& o) {
    e = _mm512_permutex2var_ps(
        l0, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), l1);
    o = _mm512_permutex2var_ps(
        l0, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), l1);
  }

  /// The same for the 16 columns in l0 (0–7) and l1 (8–15): shuffles within the 128-bit
  /// halves, then the 64-bit quarters put in order.
  SIMCLR_AVX2 __attribute__((always_inline)) static inline void avx2_split_columns(const __m256& l0,
                                                                                   const __m256& l1,
                                                                                   __m256& e,
                                                                                   __m256& o) {
    e = _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(l0, l1, 0x88)), 0xD8));
    o = _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(l0, l1, 0xDD)), 0xD8));
  }

  __attribute__((target("avx512f"))) static void avx512_input(const window2d& g, const float* x,
                                                              const tile_block& blk, float* v) {
    const index_t t0 = blk.t0, n = blk.n, ld = blk.ld;
    const index_t c = g.channels, hw = g.in_plane();
    for (index_t j = 0; j < n; j += 16) {
      const lane_map map(g, 0, t0 + j, std::min<index_t>(16, n - j), 16);
      __m512i idx[16];
      for (int q = 0; q < 16; ++q) idx[q] = _mm512_loadu_si512(map.in[q]);
      for (index_t ci = 0; ci < c; ++ci) {
        const float* base = x + ci * hw;
        __m512 d[16];
        for (int q = 0; q < 16; ++q)
          d[q] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(),
                                          static_cast<__mmask16>(map.in_bits[q]), idx[q], base, 4);
        input_tf(d);
        for (int q = 0; q < 16; ++q) _mm512_storeu_ps(v + (q * c + ci) * ld + j, d[q]);
      }
    }
  }

  SIMCLR_AVX2 static void avx2_input(const window2d& g, const float* x, const tile_block& blk,
                                     float* v) {
    const index_t t0 = blk.t0, n = blk.n, ld = blk.ld;
    const index_t c = g.channels, hw = g.in_plane();
    for (index_t j = 0; j < n; j += 8) {
      const lane_map map(g, 0, t0 + j, std::min<index_t>(8, n - j), 8);
      __m256i idx[16], mask[16];
      for (int q = 0; q < 16; ++q) {
        idx[q] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(map.in[q]));
        mask[q] = simclr::detail::avx2_lane_mask(map.in_bits[q]);
      }
      for (index_t ci = 0; ci < c; ++ci) {
        const float* base = x + ci * hw;
        __m256 d[16];
        for (int q = 0; q < 16; ++q)
          d[q] = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), base, idx[q],
                                          _mm256_castsi256_ps(mask[q]), 4);
        input_tf(d);
        for (int q = 0; q < 16; ++q) _mm256_storeu_ps(v + (q * c + ci) * ld + j, d[q]);
      }
    }
  }

  __attribute__((target("avx512f"))) static void avx512_output(const window2d& g, index_t c_out,
                                                               const float* m,
                                                               const tile_block& blk,
                                                               const float* bias, float* y) {
    const index_t t0 = blk.t0, n = blk.n, ld = blk.ld;
    const index_t hw = g.in_plane();
    for (index_t j = 0; j < n; j += 16) {
      const lane_map map(g, c_out, t0 + j, std::min<index_t>(16, n - j), 16);
      __m512i idx[4];
      for (int q = 0; q < 4; ++q) idx[q] = _mm512_loadu_si512(map.out[q]);
      for (index_t co = 0; co < c_out; ++co) {
        __m512 s[16], o[4];
        for (int q = 0; q < 16; ++q) s[q] = _mm512_loadu_ps(m + (q * c_out + co) * ld + j);
        output_tf(s, o);
        const __m512 b = _mm512_set1_ps(bias != nullptr ? bias[co] : 0.0f);
        for (int q = 0; q < 4; ++q) {
          if (bias != nullptr) o[q] = o[q] + b;
          _mm512_mask_i32scatter_ps(y + co * hw, static_cast<__mmask16>(map.out_bits[q]), idx[q],
                                    o[q], 4);
        }
      }
    }
  }

  SIMCLR_AVX2 static void avx2_output(const window2d& g, index_t c_out, const float* m,
                                      const tile_block& blk, const float* bias, float* y) {
    const index_t t0 = blk.t0, n = blk.n, ld = blk.ld;
    const index_t hw = g.in_plane();
    for (index_t j = 0; j < n; j += 8) {
      const lane_map map(g, c_out, t0 + j, std::min<index_t>(8, n - j), 8);
      for (index_t co = 0; co < c_out; ++co) {
        __m256 s[16], o[4];
        for (int q = 0; q < 16; ++q) s[q] = _mm256_loadu_ps(m + (q * c_out + co) * ld + j);
        output_tf(s, o);
        alignas(32) float lane[4][8];
        const __m256 b = _mm256_set1_ps(bias != nullptr ? bias[co] : 0.0f);
        for (int q = 0; q < 4; ++q) {
          if (bias != nullptr) o[q] = o[q] + b;
          _mm256_store_ps(lane[q], o[q]);
        }
        float* yc = y + co * hw;
        for (int q = 0; q < 4; ++q)
          for (int l = 0; l < 8; ++l)
            if ((map.out_bits[q] >> l) & 1u) yc[map.out[q][l]] = lane[q][l];
      }
    }
  }
  /// avx512_input along tile rows: row a of the patches of 16 tiles in a row is 34 columns from
  /// 2tx − 1, three masked loads (zero outside the image) split into even and odd columns.
  __attribute__((target("avx512f"))) static void avx512_input_rows(const window2d& g,
                                                                   const float* x,
                                                                   const tile_block& blk,
                                                                   float* v) {
    const index_t ld = blk.ld;
    const index_t c = g.channels, hw = g.in_plane(), h = g.height, w = g.width;
    const __m512i next0 = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
    const __m512i next1 = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17);
    for (index_t ci = 0; ci < c; ++ci)
      for (const auto& run : blk.runs) {
        const index_t c0 = 2 * run.tx - 1;
        const auto m0 = static_cast<__mmask16>(column_bits(c0, w, 16));
        const auto m1 = static_cast<__mmask16>(column_bits(c0 + 16, w, 16));
        const auto m2 = static_cast<__mmask16>(column_bits(c0 + 32, w, 2));
        const float* plane = x + (run.i * c + ci) * hw;
        __m512 d[16];
        for (int a = 0; a < 4; ++a) {
          const index_t iy = 2 * run.ty - 1 + a;
          if (iy < 0 || iy >= h) {
            d[4 * a] = d[4 * a + 1] = d[4 * a + 2] = d[4 * a + 3] = _mm512_setzero_ps();
            continue;
          }
          const float* row = plane + iy * w;  // column c0 + e at row + c0 + e
          const __m512 l0 = _mm512_maskz_loadu_ps(m0, row + c0);
          const __m512 l1 = _mm512_maskz_loadu_ps(m1, row + c0 + 16);
          const __m512 l2 = _mm512_maskz_loadu_ps(m2, row + c0 + 32);
          __m512 e, o;
          avx512_split_columns(l0, l1, e, o);
          d[4 * a] = e;
          d[4 * a + 1] = o;
          d[4 * a + 2] = _mm512_permutex2var_ps(e, next0, l2);
          d[4 * a + 3] = _mm512_permutex2var_ps(o, next1, l2);
        }
        input_tf(d);
        for (int q = 0; q < 16; ++q) _mm512_storeu_ps(v + (q * c + ci) * ld + run.j, d[q]);
      }
  }

  /// avx2_input along tile rows (8 tiles, 18 columns).
  SIMCLR_AVX2 static void avx2_input_rows(const window2d& g, const float* x, const tile_block& blk,
                                          float* v) {
    const index_t ld = blk.ld;
    const index_t c = g.channels, hw = g.in_plane(), h = g.height, w = g.width;
    const __m256i next = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 7);
    for (index_t ci = 0; ci < c; ++ci)
      for (const auto& run : blk.runs) {
        const index_t c0 = 2 * run.tx - 1;
        const __m256i m0 = simclr::detail::avx2_lane_mask(column_bits(c0, w, 8));
        const __m256i m1 = simclr::detail::avx2_lane_mask(column_bits(c0 + 8, w, 8));
        const __m256i m2 = simclr::detail::avx2_lane_mask(column_bits(c0 + 16, w, 2));
        const float* plane = x + (run.i * c + ci) * hw;
        __m256 d[16];
        for (int a = 0; a < 4; ++a) {
          const index_t iy = 2 * run.ty - 1 + a;
          if (iy < 0 || iy >= h) {
            d[4 * a] = d[4 * a + 1] = d[4 * a + 2] = d[4 * a + 3] = _mm256_setzero_ps();
            continue;
          }
          const float* row = plane + iy * w;
          const __m256 l0 = _mm256_maskload_ps(row + c0, m0);
          const __m256 l1 = _mm256_maskload_ps(row + c0 + 8, m1);
          const __m256 l2 = _mm256_maskload_ps(row + c0 + 16, m2);
          __m256 e, o;
          avx2_split_columns(l0, l1, e, o);
          const __m256 c16 = _mm256_permutevar8x32_ps(l2, _mm256_setzero_si256());
          const __m256 c17 = _mm256_permutevar8x32_ps(l2, _mm256_set1_epi32(1));
          d[4 * a] = e;
          d[4 * a + 1] = o;
          d[4 * a + 2] = _mm256_blend_ps(_mm256_permutevar8x32_ps(e, next), c16, 0x80);
          d[4 * a + 3] = _mm256_blend_ps(_mm256_permutevar8x32_ps(o, next), c17, 0x80);
        }
        input_tf(d);
        for (int q = 0; q < 16; ++q) _mm256_storeu_ps(v + (q * c + ci) * ld + run.j, d[q]);
      }
  }

  /// avx512_output along tile rows: each output row of 16 tiles is 32 contiguous columns,
  /// the two outputs of each tile interleaved, stored masked to the image.
  __attribute__((target("avx512f"))) static void avx512_output_rows(const window2d& g,
                                                                    index_t c_out, const float* m,
                                                                    const tile_block& blk,
                                                                    const float* bias, float* y) {
    const index_t ld = blk.ld;
    const index_t hw = g.in_plane(), h = g.height, w = g.width;
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi =
        _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    for (index_t co = 0; co < c_out; ++co)
      for (const auto& run : blk.runs) {
        const index_t x0 = 2 * run.tx, cols = std::min(2 * run.count, w - x0);
        const auto m0 = static_cast<__mmask16>(column_bits(0, cols, 16));
        const auto m1 = static_cast<__mmask16>(column_bits(16, cols, 16));
        __m512 s[16], o[4];
        for (int q = 0; q < 16; ++q) s[q] = _mm512_loadu_ps(m + (q * c_out + co) * ld + run.j);
        output_tf(s, o);
        if (bias != nullptr)
          for (auto& q : o) q = q + _mm512_set1_ps(bias[co]);
        float* plane = y + (run.i * c_out + co) * hw;
        for (int a = 0; a < 2; ++a) {
          const index_t oy = 2 * run.ty + a;
          if (oy >= h) continue;
          float* dst = plane + oy * w + x0;
          _mm512_mask_storeu_ps(dst, m0, _mm512_permutex2var_ps(o[2 * a], lo, o[2 * a + 1]));
          _mm512_mask_storeu_ps(dst + 16, m1, _mm512_permutex2var_ps(o[2 * a], hi, o[2 * a + 1]));
        }
      }
  }

  /// avx2_output along tile rows (8 tiles, 16 columns).
  SIMCLR_AVX2 static void avx2_output_rows(const window2d& g, index_t c_out, const float* m,
                                           const tile_block& blk, const float* bias, float* y) {
    const index_t ld = blk.ld;
    const index_t hw = g.in_plane(), h = g.height, w = g.width;
    for (index_t co = 0; co < c_out; ++co)
      for (const auto& run : blk.runs) {
        const index_t x0 = 2 * run.tx, cols = std::min(2 * run.count, w - x0);
        const __m256i m0 = simclr::detail::avx2_lane_mask(column_bits(0, cols, 8));
        const __m256i m1 = simclr::detail::avx2_lane_mask(column_bits(8, cols, 8));
        __m256 s[16], o[4];
        for (int q = 0; q < 16; ++q) s[q] = _mm256_loadu_ps(m + (q * c_out + co) * ld + run.j);
        output_tf(s, o);
        if (bias != nullptr)
          for (auto& q : o) q = q + _mm256_set1_ps(bias[co]);
        float* plane = y + (run.i * c_out + co) * hw;
        for (int a = 0; a < 2; ++a) {
          const index_t oy = 2 * run.ty + a;
          if (oy >= h) continue;
          float* dst = plane + oy * w + x0;
          const __m256 u = _mm256_unpacklo_ps(o[2 * a], o[2 * a + 1]);
          const __m256 t = _mm256_unpackhi_ps(o[2 * a], o[2 * a + 1]);
          _mm256_maskstore_ps(dst, m0, _mm256_permute2f128_ps(u, t, 0x20));
          _mm256_maskstore_ps(dst + 8, m1, _mm256_permute2f128_ps(u, t, 0x31));
        }
      }
  }
  /// transform_grad on the avx512 path, 16 tiles from several rows per vector (gathers).
  __attribute__((target("avx512f"))) static void avx512_grad(const window2d& g, index_t c_out,
                                                             const float* dy, const tile_block& blk,
                                                             float* dm) {
    const index_t t0 = blk.t0, n = blk.n, ld = blk.ld;
    const index_t hw = g.in_plane();
    for (index_t j = 0; j < n; j += 16) {
      const lane_map map(g, c_out, t0 + j, std::min<index_t>(16, n - j), 16);
      __m512i idx[4];
      for (int q = 0; q < 4; ++q) idx[q] = _mm512_loadu_si512(map.out[q]);
      for (index_t co = 0; co < c_out; ++co) {
        __m512 t[4], d[16];
        for (int q = 0; q < 4; ++q)
          t[q] =
              _mm512_mask_i32gather_ps(_mm512_setzero_ps(), static_cast<__mmask16>(map.out_bits[q]),
                                       idx[q], dy + co * hw, 4);
        grad_tf(t, d);
        for (int q = 0; q < 16; ++q) _mm512_storeu_ps(dm + (q * c_out + co) * ld + j, d[q]);
      }
    }
  }

  /// transform_grad on the avx2 path, 8 tiles from several rows per vector (gathers).
  SIMCLR_AVX2 static void avx2_grad(const window2d& g, index_t c_out, const float* dy,
                                    const tile_block& blk, float* dm) {
    const index_t t0 = blk.t0, n = blk.n, ld = blk.ld;
    const index_t hw = g.in_plane();
    for (index_t j = 0; j < n; j += 8) {
      const lane_map map(g, c_out, t0 + j, std::min<index_t>(8, n - j), 8);
      __m256i idx[4], mask[4];
      for (int q = 0; q < 4; ++q) {
        idx[q] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(map.out[q]));
        mask[q] = simclr::detail::avx2_lane_mask(map.out_bits[q]);
      }
      for (index_t co = 0; co < c_out; ++co) {
        __m256 t[4], d[16];
        for (int q = 0; q < 4; ++q)
          t[q] = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), dy + co * hw, idx[q],
                                          _mm256_castsi256_ps(mask[q]), 4);
        grad_tf(t, d);
        for (int q = 0; q < 16; ++q) _mm256_storeu_ps(dm + (q * c_out + co) * ld + j, d[q]);
      }
    }
  }

  /// transform_grad along tile rows on the avx512 path: each row of a run's output gradient
  /// is 32 contiguous columns, split into even and odd ones.
  __attribute__((target("avx512f"))) static void avx512_grad_rows(const window2d& g, index_t c_out,
                                                                  const float* dy,
                                                                  const tile_block& blk,
                                                                  float* dm) {
    const index_t ld = blk.ld;
    const index_t hw = g.in_plane(), h = g.height, w = g.width;
    for (index_t co = 0; co < c_out; ++co)
      for (const auto& run : blk.runs) {
        const index_t x0 = 2 * run.tx, cols = std::min(2 * run.count, w - x0);
        const auto m0 = static_cast<__mmask16>(column_bits(0, cols, 16));
        const auto m1 = static_cast<__mmask16>(column_bits(16, cols, 16));
        const float* plane = dy + (run.i * c_out + co) * hw;
        __m512 t[4], d[16];
        for (int a = 0; a < 2; ++a) {
          const index_t oy = 2 * run.ty + a;
          if (oy >= h) {
            t[2 * a] = t[2 * a + 1] = _mm512_setzero_ps();
            continue;
          }
          const float* row = plane + oy * w + x0;
          const __m512 l0 = _mm512_maskz_loadu_ps(m0, row);
          const __m512 l1 = _mm512_maskz_loadu_ps(m1, row + 16);
          avx512_split_columns(l0, l1, t[2 * a], t[2 * a + 1]);
        }
        grad_tf(t, d);
        for (int q = 0; q < 16; ++q) _mm512_storeu_ps(dm + (q * c_out + co) * ld + run.j, d[q]);
      }
  }

  /// avx2_grad along tile rows (8 tiles, 16 columns).
  SIMCLR_AVX2 static void avx2_grad_rows(const window2d& g, index_t c_out, const float* dy,
                                         const tile_block& blk, float* dm) {
    const index_t ld = blk.ld;
    const index_t hw = g.in_plane(), h = g.height, w = g.width;
    for (index_t co = 0; co < c_out; ++co)
      for (const auto& run : blk.runs) {
        const index_t x0 = 2 * run.tx, cols = std::min(2 * run.count, w - x0);
        const __m256i m0 = simclr::detail::avx2_lane_mask(column_bits(0, cols, 8));
        const __m256i m1 = simclr::detail::avx2_lane_mask(column_bits(8, cols, 8));
        const float* plane = dy + (run.i * c_out + co) * hw;
        __m256 t[4], d[16];
        for (int a = 0; a < 2; ++a) {
          const index_t oy = 2 * run.ty + a;
          if (oy >= h) {
            t[2 * a] = t[2 * a + 1] = _mm256_setzero_ps();
            continue;
          }
          const float* row = plane + oy * w + x0;
          const __m256 l0 = _mm256_maskload_ps(row, m0);
          const __m256 l1 = _mm256_maskload_ps(row + 8, m1);
          avx2_split_columns(l0, l1, t[2 * a], t[2 * a + 1]);
        }
        grad_tf(t, d);
        for (int q = 0; q < 16; ++q) _mm256_storeu_ps(dm + (q * c_out + co) * ld + run.j, d[q]);
      }
  }
#endif
};

}  // namespace simclr::nn
