// simclr::augment color ops: brightness, contrast, saturation, hue and color_jitter.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <simclr/augment/device_op.hpp>
#include <simclr/augment/grayscale.hpp>
#include <simclr/augment/image.hpp>
#include <simclr/augment/semantics.hpp>
#include <simclr/backend/cpu/dispatch.hpp>
#include <simclr/backend/cpu/simd.hpp>
#include <simclr/random/stream.hpp>

namespace simclr::augment {

namespace detail {

using view::clamp01;
using view::floor_fast;

/// (1 − f) as torchvision's _blend computes it (in double, then used as a float scalar).
SIMCLR_HOST_DEVICE inline float one_minus(float f) {
  return static_cast<float>(1.0 - static_cast<double>(f));
}

/// RGB → HSV of one pixel, as torchvision's _rgb2hsv (h, s ∈ [0, 1), v = max). Branch-free
/// (selects only): the CPU passes' tails and the host/device pass both use it.
SIMCLR_HOST_DEVICE inline void rgb_to_hsv(float r, float g, float b, float& h, float& s,
                                          float& v) {
  using namespace view;
  const float maxc = fmax2(r, fmax2(g, b));
  const float minc = fmin2(r, fmin2(g, b));
  const bool eqc = maxc == minc;
  const float cr = maxc - minc;
  s = cr / (eqc ? 1.0f : maxc);
  const float div = eqc ? 1.0f : cr;
  const float rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - b) / div;
  const float hr = bc - gc, hg = 2.0f + rc - bc, hb = 4.0f + gc - rc;
  const float hh = maxc == r ? hr : (maxc == g ? hg : hb);
  const float x = hh / 6.0f + 1.0f;  // > 0: fmod(x, 1) = x − ⌊x⌋ exactly
  h = x - floor_fast(x);
  v = maxc;
}

/// HSV → RGB of one pixel, as torchvision's _hsv2rgb. Branch-free: the sextant selects.
SIMCLR_HOST_DEVICE inline void hsv_to_rgb(float h, float s, float v, float& r, float& g,
                                          float& b) {
  using namespace view;
  float i = floor_fast(mul(h, 6.0f));
  const float f = sub(mul(h, 6.0f), i);
  i = sub(i, i >= 6.0f ? 6.0f : 0.0f);  // i mod 6 for h ∈ [0, 1]
  const float p = clamp01(mul(v, sub(1.0f, s)));
  const float q = clamp01(mul(v, sub(1.0f, mul(s, f))));
  const float t = clamp01(mul(v, sub(1.0f, mul(s, sub(1.0f, f)))));
  // sextant 0..5: r = v q p p t v, g = t v v q p p, b = p p t v v q
  // Every candidate is computed, then picked with one-level selects (no nested conditional
  // code), so the pixel loop vectorises.
  const float r1 = i == 4.0f ? t : p, g1 = i == 3.0f ? q : p, b1 = i == 5.0f ? q : p;
  const float r2 = i == 1.0f ? q : r1, g2 = i == 0.0f ? t : g1, b2 = i == 2.0f ? t : b1;
  const float r3 = i == 0.0f ? v : r2, g3 = i == 1.0f ? v : g2, b3 = i == 3.0f ? v : b2;
  r = i == 5.0f ? v : r3;
  g = i == 2.0f ? v : g3;
  b = i == 4.0f ? v : b3;
}

/// Sum of `n` floats in 8 independent lanes (vectorisable without reassociation), in double.
inline double lane_sum(const float* x, index_t n) {
  float lanes[8] = {};
  index_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) lanes[j] += x[i + j];
  double total = 0.0;
  for (const float l : lanes) total += static_cast<double>(l);
  for (; i < n; ++i) total += static_cast<double>(x[i]);
  return total;
}

/// Over the n values from p, compiled for the CPU path in use (simclr/backend/cpu/dispatch.hpp):
/// vec(L, i) for each full register simd<float, width> L at i, then one(i) for the tail.
template <class VecOp, class OneOp>
void pixel_loop(index_t n, const VecOp& vec, const OneOp& one) {
  simclr::detail::simd_loop<float>(
      current_cpu_isa(), 0, n,
      [&](auto bytes, index_t i) { vec(simclr::detail::simd<float, decltype(bytes)::value>{}, i); },
      one);
}

/// v ← clamp01(f·v + m) over the n values at p (m = 0: brightness; f = 1: TF additive brightness).
inline void scale_shift_clamp(float* p, index_t n, float f, float m) {
  pixel_loop(
      n,
      [&](auto lanes, index_t i) {
        using L = decltype(lanes);
        typename L::vec v, zero{}, one{};
        L::broadcast(one, 1.0f);
        L::load(v, p + i);
        v = f * v + m;
        L::clamp(v, zero, one);
        L::store(p + i, v);
      },
      [&](index_t i) { p[i] = clamp01(f * p[i] + m); });
}

/// The mean of the luma (3 channels) or of the single channel (1 channel) of `img`; float
/// lane sums per row, rows added in double.
inline float gray_mean(const image_f32& img) {
  const index_t h = img.extent(1), w = img.extent(2), plane = h * w;
  const float* p = img.data();
  double sum = 0.0;
  if (img.extent(0) == 3) {
    std::vector<float> row(static_cast<std::size_t>(w));
    float* out = row.data();
    for (index_t y = 0; y < h; ++y) {
      const float* r = p + y * w;
      const float* g = r + plane;
      const float* b = g + plane;
      pixel_loop(
          w,
          [&](auto lanes, index_t x) {
            using L = decltype(lanes);
            typename L::vec v;
            luma_lanes<L>(v, r + x, g + x, b + x);
            L::store(out + x, v);
          },
          [&](index_t x) { out[x] = luma(r[x], g[x], b[x]); });
      sum += lane_sum(out, w);
    }
  } else {
    for (index_t y = 0; y < h; ++y) sum += lane_sum(p + y * w, w);
  }
  return static_cast<float>(sum / static_cast<double>(plane));
}

inline void brightness_inplace(image_f32& img, float f) {
  scale_shift_clamp(img.data(), img.numel(), f, 0.0f);
}
inline void brightness_additive_inplace(image_f32& img, float delta) {
  scale_shift_clamp(img.data(), img.numel(), 1.0f, delta);  // 1·x + δ is x + δ, exactly
}
inline void contrast_inplace(image_f32& img, float f) {
  const float m = one_minus(f) * gray_mean(img);
  scale_shift_clamp(img.data(), img.numel(), f, m);
}
inline void contrast_tf_inplace(image_f32& img, float f) {
  const index_t plane = img.extent(1) * img.extent(2);
  for (index_t k = 0; k < img.extent(0); ++k) {
    float* p = img.data() + k * plane;
    double sum = 0.0;
    for (index_t y = 0; y < img.extent(1); ++y)
      sum += lane_sum(p + y * img.extent(2), img.extent(2));
    const auto m = static_cast<float>(sum / static_cast<double>(plane));
    pixel_loop(
        plane,
        [&](auto lanes, index_t i) {
          using L = decltype(lanes);
          typename L::vec v, zero{}, one{};
          L::broadcast(one, 1.0f);
          L::load(v, p + i);
          v = (v - m) * f + m;
          L::clamp(v, zero, one);
          L::store(p + i, v);
        },
        [&](index_t i) { p[i] = clamp01((p[i] - m) * f + m); });
  }
}
inline void saturation_inplace(image_f32& img, float f) {
  if (img.extent(0) != 3) return;
  const index_t plane = img.extent(1) * img.extent(2);
  const float g1 = one_minus(f);
  float* r = img.data();
  float* g = r + plane;
  float* b = g + plane;
  pixel_loop(
      plane,
      [&](auto lanes, index_t i) {
        using L = decltype(lanes);
        typename L::vec y, v, zero{}, one{};
        L::broadcast(one, 1.0f);
        luma_lanes<L>(y, r + i, g + i, b + i);
        y = g1 * y;
        for (float* c : {r, g, b}) {
          L::load(v, c + i);
          v = f * v + y;
          L::clamp(v, zero, one);
          L::store(c + i, v);
        }
      },
      [&](index_t i) {
        const float y = g1 * luma(r[i], g[i], b[i]);
        r[i] = clamp01(f * r[i] + y);
        g[i] = clamp01(f * g[i] + y);
        b[i] = clamp01(f * b[i] + y);
      });
}
/// The vector form of clamp01 and the selects of rgb_to_hsv / hsv_to_rgb below (floor_fast is
/// simd<T>::floor): one register of pixels at a time in simd<float, Bytes> (16, 8 or 4 pixels), the
/// same operations in the same order as the scalar functions, so a pixel's result does not depend
/// on whether it fell in a vector or in the tail. Written out because compilers if-convert the
/// scalar selects only with AVX-512's masks (GCC keeps them as branches on AVX2: 5× slower).
template <std::size_t Bytes>
struct hsv_lanes {
  using L = simclr::detail::simd<float, Bytes>;
  using V = typename L::vec;

  static void clamp01(V& x) {
    const V zero{}, one = zero + 1.0f;
    L::clamp(x, zero, one);
  }

  /// rgb_to_hsv, lane by lane.
  static void to_hsv(const V& r, const V& g, const V& b, V& h, V& s, V& v) {
    const V one = V{} + 1.0f;
    V mx, maxc, mn, minc;
    L::select(mx, g < b, b, g);  // std::max(g, b)
    L::select(maxc, r < mx, mx, r);
    L::select(mn, b < g, b, g);  // std::min(g, b)
    L::select(minc, mn < r, mn, r);
    const typename L::mask eqc = maxc == minc;
    const V cr = maxc - minc;
    V den, div;
    L::select(den, eqc, one, maxc);
    s = cr / den;
    L::select(div, eqc, one, cr);
    const V rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - b) / div;
    const V hr = bc - gc, hg = (V{} + 2.0f) + rc - bc, hb = (V{} + 4.0f) + gc - rc;
    V hgb, hh;
    L::select(hgb, maxc == g, hg, hb);
    L::select(hh, maxc == r, hr, hgb);
    const V x = hh / (V{} + 6.0f) + one;
    V fl;
    L::floor(fl, x);
    h = x - fl;
    v = maxc;
  }

  /// hsv_to_rgb, lane by lane.
  static void to_rgb(const V& h, const V& s, const V& v, V& r, V& g, V& b) {
    const V c0 = V{}, c1 = c0 + 1.0f, c2 = c0 + 2.0f, c3 = c0 + 3.0f, c4 = c0 + 4.0f,
            c5 = c0 + 5.0f, c6 = c0 + 6.0f;
    V i, wrap;
    L::floor(i, h * c6);
    const V f = h * c6 - i;
    L::select(wrap, i >= c6, c6, c0);
    i -= wrap;
    V p = v * (c1 - s), q = v * (c1 - s * f), t = v * (c1 - s * (c1 - f));
    clamp01(p);
    clamp01(q);
    clamp01(t);
    // The scalar function's select chain, innermost first.
    r = p;
    g = p;
    b = p;
    L::select(r, i == c4, t, r);
    L::select(g, i == c3, q, g);
    L::select(b, i == c5, q, b);
    L::select(r, i == c1, q, r);
    L::select(g, i == c0, t, g);
    L::select(b, i == c2, t, b);
    L::select(r, i == c0, v, r);
    L::select(g, i == c1, v, g);
    L::select(b, i == c3, v, b);
    L::select(r, i == c5, v, r);
    L::select(g, i == c2, v, g);
    L::select(b, i == c4, v, b);
  }
};

/// One pass over the pixels: HSV, (H + delta) mod 1 and, when scale_s, S ← clamp(S·s_factor),
/// back to RGB; clip clamps the result to [0, 1] (TF mode). One register of pixels at a time
/// (hsv_lanes), then the tail. The options are run-time flags (two predictable branches per
/// register): as template parameters they made four copies of this code per CPU path, 0.5 s
/// more compile time for every translation unit that instantiates a policy.
template <std::size_t Bytes>
void hsv_pass(float* r, float* g, float* b, index_t n, float delta, float s_factor, bool scale_s,
              bool clip) {
  using H = hsv_lanes<Bytes>;
  using L = typename H::L;
  index_t i = 0;
  for (; i + L::width <= n; i += L::width) {
    typename H::V rv, gv, bv, h, s, v, fl;
    L::load(rv, r + i);
    L::load(gv, g + i);
    L::load(bv, b + i);
    H::to_hsv(rv, gv, bv, h, s, v);
    h += delta;
    H::L::floor(fl, h);
    h -= fl;
    if (scale_s) {
      s *= s_factor;
      H::clamp01(s);
    }
    H::to_rgb(h, s, v, rv, gv, bv);
    if (clip) {
      H::clamp01(rv);
      H::clamp01(gv);
      H::clamp01(bv);
    }
    L::store(r + i, rv);
    L::store(g + i, gv);
    L::store(b + i, bv);
  }
  for (; i < n; ++i) {
    float h = 0.0f, s = 0.0f, v = 0.0f;
    rgb_to_hsv(r[i], g[i], b[i], h, s, v);
    h += delta;  // (H + δ) mod 1, as torch's remainder
    h -= floor_fast(h);
    if (scale_s) s = clamp01(s * s_factor);
    float ro = 0.0f, go = 0.0f, bo = 0.0f;
    hsv_to_rgb(h, s, v, ro, go, bo);
    if (clip) {
      ro = clamp01(ro);
      go = clamp01(go);
      bo = clamp01(bo);
    }
    r[i] = ro;
    g[i] = go;
    b[i] = bo;
  }
}

inline void hsv_inplace(image_f32& img, float delta, float s_factor, bool clip) {
  if (img.extent(0) != 3) return;
  const index_t plane = img.extent(1) * img.extent(2);
  float* r = img.data();
  float* g = r + plane;
  float* b = g + plane;
  const bool scale_s = s_factor != 1.0f;
  // On the CPU path in use (simclr/backend/cpu/dispatch.hpp), at most 256 bits wide: GCC 12's
  // 512-bit code for these selects ran 4× slower than its 256-bit code on the avx512 path.
  simclr::detail::with_isa(current_cpu_isa(), [&](auto bytes) {
    constexpr std::size_t w = decltype(bytes)::value < 32 ? decltype(bytes)::value : 32;
    hsv_pass<w>(r, g, b, plane, delta, s_factor, scale_s, clip);
  });
}

inline void check_factor(float f, const char* what) {
  if (!(f >= 0.0f && std::isfinite(f)))
    throw value_error(std::string("simclr: augment::") + what + ": factor " + std::to_string(f) +
                      " is negative or not finite, expected ≥ 0");
}
inline void check_hue(float delta) {
  if (!(delta >= -0.5f && delta <= 0.5f))
    throw value_error("simclr: augment::adjust_hue: hue shift " + std::to_string(delta) +
                      " is outside [−0.5, 0.5]");
}

}  // namespace detail

/// clamp(f · x, 0, 1) for every value of `img` (C, H, W) — torchvision's adjust_brightness.
[[nodiscard]] inline image_f32 adjust_brightness(image_f32 img, float factor) {
  expect_image(img, "augment::adjust_brightness");
  detail::check_factor(factor, "adjust_brightness");
  detail::brightness_inplace(img, factor);
  return img;
}

/// clamp(x + delta, 0, 1) — SimCLR v1's additive brightness (tf.image.adjust_brightness + clip).
[[nodiscard]] inline image_f32 adjust_brightness_additive(image_f32 img, float delta) {
  expect_image(img, "augment::adjust_brightness_additive");
  detail::brightness_additive_inplace(img, delta);
  return img;
}

/// Contrast. torchvision: clamp(f·x + (1 − f)·m), m the mean of the grayscale image (one scalar).
/// tf: clamp((x − m_c)·f + m_c), m_c the mean of each channel (tf.image.adjust_contrast + clip).
[[nodiscard]] inline image_f32 adjust_contrast(image_f32 img, float factor,
                                               semantics sem = semantics::torchvision) {
  expect_image(img, "augment::adjust_contrast");
  detail::check_factor(factor, "adjust_contrast");
  if (sem == semantics::tf) {
    detail::contrast_tf_inplace(img, factor);
  } else {
    detail::contrast_inplace(img, factor);
  }
  return img;
}

/// Saturation (identity on 1-channel images). torchvision: clamp(f·x + (1 − f)·gray(x)).
/// tf: S ← clamp(S·f, 0, 1) in HSV, then clip (tf.image.adjust_saturation + clip).
[[nodiscard]] inline image_f32 adjust_saturation(image_f32 img, float factor,
                                                 semantics sem = semantics::torchvision) {
  expect_image(img, "augment::adjust_saturation");
  detail::check_factor(factor, "adjust_saturation");
  if (sem == semantics::tf) {
    detail::hsv_inplace(img, 0.0f, factor, true);
  } else {
    detail::saturation_inplace(img, factor);
  }
  return img;
}

/// Hue rotation by `delta` ∈ [−0.5, 0.5] turns: H ← (H + delta) mod 1 in HSV (identity on
/// 1-channel images) — torchvision's adjust_hue; tf (tf.image.adjust_hue) clips the result too.
[[nodiscard]] inline image_f32 adjust_hue(image_f32 img, float delta,
                                          semantics sem = semantics::torchvision) {
  expect_image(img, "augment::adjust_hue");
  detail::check_hue(delta);
  detail::hsv_inplace(img, delta, 1.0f, sem == semantics::tf);
  return img;
}

/// The parameters of one color-jitter call: the order of the four ops (0 brightness,
/// 1 contrast, 2 saturation, 3 hue) and each op's factor, or nothing for an op that is off.
struct jitter_params {
  std::array<int, 4> order{0, 1, 2, 3};
  std::optional<float> brightness;  ///< factor (torchvision, tf multiplicative) or δ (tf additive)
  std::optional<float> contrast;    ///< factor
  std::optional<float> saturation;  ///< factor
  std::optional<float> hue;         ///< shift in turns, [−0.5, 0.5]
};

namespace detail {
/// One color op of jitter in place: `op` 0 brightness (factor, or δ in TF additive mode),
/// 1 contrast, 2 saturation, 3 hue shift, with its value `f`. Throws value_error for another op
/// or a bad value.
inline void jitter_op(image_f32& img, int op, float f, semantics sem, tf_brightness brightness) {
  switch (op) {
    case 0:
      if (sem == semantics::tf && brightness == tf_brightness::additive) {
        brightness_additive_inplace(img, f);
      } else {
        check_factor(f, "jitter brightness");
        brightness_inplace(img, f);
      }
      return;
    case 1:
      check_factor(f, "jitter contrast");
      if (sem == semantics::tf) {
        contrast_tf_inplace(img, f);
      } else {
        contrast_inplace(img, f);
      }
      return;
    case 2:
      check_factor(f, "jitter saturation");
      if (sem == semantics::tf) {
        hsv_inplace(img, 0.0f, f, true);
      } else {
        saturation_inplace(img, f);
      }
      return;
    case 3:
      check_hue(f);
      hsv_inplace(img, f, 1.0f, sem == semantics::tf);
      return;
    default:
      throw value_error("simclr: augment::jitter: op " + std::to_string(op) +
                        " in the order, expected 0 (brightness), 1 (contrast), 2 (saturation) "
                        "or 3 (hue)");
  }
}
}  // namespace detail

/// Applies the color ops of `params` in its order (torchvision's ColorJitter.forward, or SimCLR's
/// TF color_jitter_rand with a clip after each op). `brightness` picks SimCLR v1's additive
/// brightness in TF mode.
[[nodiscard]] inline image_f32 jitter(image_f32 img, const jitter_params& params,
                                      semantics sem = semantics::torchvision,
                                      tf_brightness brightness = tf_brightness::multiplicative) {
  expect_image(img, "augment::jitter");
  const std::optional<float>* values[4] = {&params.brightness, &params.contrast,
                                           &params.saturation, &params.hue};
  for (const int op : params.order) {
    const std::optional<float> v = op >= 0 && op < 4 ? *values[op] : std::optional<float>(0.0f);
    if (v) detail::jitter_op(img, op, *v, sem, brightness);  // an op outside 0–3 throws there
  }
  return img;
}

/// Random color jitter (torchvision's ColorJitter with scalar strengths): each call draws a
/// random order of the four ops and factors brightness, contrast, saturation ~
/// U[max(0, 1 − x), 1 + x] and hue ~ U[−h, h]; an op with strength 0 is off. In TF mode the
/// factors are drawn the same way (tf.image.random_* with lower = 1 − x, floored at 0), v1
/// brightness is δ ~ U[−b, b] added, and every op clips to [0, 1].
struct color_jitter {
  float brightness = 0.0f;  ///< b ≥ 0
  float contrast = 0.0f;    ///< c ≥ 0
  float saturation = 0.0f;  ///< s ≥ 0
  float hue = 0.0f;         ///< h ∈ [0, 0.5]
  semantics sem = semantics::torchvision;
  tf_brightness tf_brightness_mode = tf_brightness::multiplicative;

  /// Throws value_error for negative strengths or hue > 0.5.
  explicit color_jitter(float b = 0.0f, float c = 0.0f, float s = 0.0f, float h = 0.0f,
                        semantics mode = semantics::torchvision,
                        tf_brightness brightness_mode = tf_brightness::multiplicative)
      : brightness(b),
        contrast(c),
        saturation(s),
        hue(h),
        sem(mode),
        tf_brightness_mode(brightness_mode) {
    const auto check = [](float x, const char* name) {
      if (!(x >= 0.0f && std::isfinite(x)))
        throw value_error(std::string("simclr: color_jitter ") + name + " is " + std::to_string(x) +
                          ", expected a finite value ≥ 0");
    };
    check(brightness, "brightness");
    check(contrast, "contrast");
    check(saturation, "saturation");
    check(hue, "hue");
    if (hue > 0.5f)
      throw value_error("simclr: color_jitter hue is " + std::to_string(hue) +
                        ", expected a value in [0, 0.5]");
  }

  /// SimCLR's jitter of strength s: brightness, contrast, saturation 0.8·s, hue 0.2·s.
  [[nodiscard]] static color_jitter simclr(
      float strength, semantics mode = semantics::torchvision,
      tf_brightness brightness_mode = tf_brightness::multiplicative) {
    return color_jitter(0.8f * strength, 0.8f * strength, 0.8f * strength, 0.2f * strength, mode,
                        brightness_mode);
  }

  /// Draws the order and the factors from `rng` (order first, then b, c, s, h as torchvision).
  [[nodiscard]] jitter_params sample(random::stream& rng) const {
    jitter_params p;
    for (int i = 3; i > 0; --i) {  // Fisher–Yates
      const auto j = static_cast<int>(rng.uniform_int(static_cast<std::uint32_t>(i + 1)));
      std::swap(p.order[static_cast<std::size_t>(i)], p.order[static_cast<std::size_t>(j)]);
    }
    const auto factor = [&](float x) { return rng.uniform(std::max(0.0f, 1.0f - x), 1.0f + x); };
    if (brightness > 0.0f) {
      p.brightness = (sem == semantics::tf && tf_brightness_mode == tf_brightness::additive)
                         ? rng.uniform(-brightness, brightness)
                         : factor(brightness);
    }
    if (contrast > 0.0f) p.contrast = factor(contrast);
    if (saturation > 0.0f) p.saturation = factor(saturation);
    if (hue > 0.0f) p.hue = rng.uniform(-hue, hue);
    return p;
  }

  /// One view's draw as plain numbers (device_augmentation): the order, which ops are on and
  /// their factors (0 brightness as factor or δ, 1 contrast, 2 saturation, 3 hue shift), and
  /// the semantics they follow.
  struct params {
    std::int8_t order[4] = {0, 1, 2, 3};
    std::uint8_t on[4] = {};
    float factor[4] = {};
    semantics sem = semantics::torchvision;
    tf_brightness brightness_mode = tf_brightness::multiplicative;
  };

  /// sample(rng) as params.
  [[nodiscard]] params draw(view_geometry&, random::stream& rng) const {
    const jitter_params j = sample(rng);
    params q;
    for (std::size_t i = 0; i < 4; ++i) q.order[i] = static_cast<std::int8_t>(j.order[i]);
    const std::optional<float> f[4] = {j.brightness, j.contrast, j.saturation, j.hue};
    for (std::size_t i = 0; i < 4; ++i) {
      q.on[i] = f[i] ? 1 : 0;
      q.factor[i] = f[i] ? *f[i] : 0.0f;
    }
    q.sem = sem;
    q.brightness_mode = tf_brightness_mode;
    return q;
  }
  /// The CPU pass: the drawn ops in the drawn order.
  void apply(const params& q, image_f32& img) const {
    expect_image(img, "augment::color_jitter");
    for (const std::int8_t op : q.order)
      if (q.on[op]) detail::jitter_op(img, op, q.factor[op], q.sem, q.brightness_mode);
  }
  /// The host/device pass (device_augmentation): the CPU ops' arithmetic per pixel
  /// (torchvision's gray-mean or TF's per-channel contrast with the means summed in 8-lane
  /// rows, the blend with the luma, the HSV round trip), in the drawn order.
  template <class Exec>
  static SIMCLR_HOST_DEVICE void apply(const Exec& exec, const params& q, const view_buffer& v) {
    using namespace detail::view;
    using detail::luma;
    float* out = v.data;
    const index_t c = v.c, oh = v.h, ow = v.w, plane = v.plane(), n = v.size();
    const bool tf = q.sem == semantics::tf;
    for (int k = 0; k < 4; ++k) {
      const int op = q.order[k];
      if (!q.on[op]) continue;
      const float f = q.factor[op];
      if (op == 0) {
        const bool additive = tf && q.brightness_mode == tf_brightness::additive;
        exec.for_each(n, [&](index_t e) {
          out[e] = clamp01(additive ? add(out[e], f) : mul(f, out[e]));
        });
      } else if (op == 1 && tf) {  // per-channel means
        for (index_t ch = 0; ch < c; ++ch) {
          float* p = out + ch * plane;
          const double s = exec.sum(oh, [&](index_t y) {
            return row_lane_sum(ow, [&](index_t x) { return p[y * ow + x]; });
          });
          const auto m = static_cast<float>(s / static_cast<double>(plane));
          exec.sync();
          exec.for_each(plane, [&](index_t i) { p[i] = clamp01(add(mul(sub(p[i], m), f), m)); });
          exec.sync();
        }
      } else if (op == 1) {  // the mean of the grayscale image
        const double s = exec.sum(oh, [&](index_t y) {
          if (c == 3)
            return row_lane_sum(ow, [&](index_t x) {
              const index_t i = y * ow + x;
              return luma(out[i], out[plane + i], out[2 * plane + i]);
            });
          return row_lane_sum(ow, [&](index_t x) { return out[y * ow + x]; });
        });
        const float m = mul(detail::one_minus(f), static_cast<float>(s / static_cast<double>(plane)));
        exec.sync();
        exec.for_each(n, [&](index_t e) { out[e] = clamp01(add(mul(f, out[e]), m)); });
      } else if (c == 3 && op == 2 && !tf) {  // blend with the grayscale image
        const float g1 = detail::one_minus(f);
        exec.for_each(plane, [&](index_t i) {
          const float r = out[i], g = out[plane + i], b = out[2 * plane + i];
          const float y = mul(g1, luma(r, g, b));
          out[i] = clamp01(add(mul(f, r), y));
          out[plane + i] = clamp01(add(mul(f, g), y));
          out[2 * plane + i] = clamp01(add(mul(f, b), y));
        });
      } else if (c == 3) {  // HSV: TF saturation (S scaled) or hue (H rotated)
        const float delta = op == 3 ? f : 0.0f;
        const float s_factor = op == 2 ? f : 1.0f;
        const bool scale_s = s_factor != 1.0f, clip = tf;
        exec.for_each(plane, [&](index_t i) {
          float h = 0.0f, s = 0.0f, val = 0.0f;
          detail::rgb_to_hsv(out[i], out[plane + i], out[2 * plane + i], h, s, val);
          h += delta;
          h -= floor_fast(h);
          if (scale_s) s = clamp01(mul(s, s_factor));
          float r = 0.0f, g = 0.0f, b = 0.0f;
          detail::hsv_to_rgb(h, s, val, r, g, b);
          if (clip) {
            r = clamp01(r);
            g = clamp01(g);
            b = clamp01(b);
          }
          out[i] = r;
          out[plane + i] = g;
          out[2 * plane + i] = b;
        });
      }
      exec.sync();
    }
  }

  /// Draw, then the CPU pass.
  void apply(image_f32& img, random::stream& rng) const {
    view_geometry g = geometry_of(img);
    apply(draw(g, rng), img);
  }
  [[nodiscard]] image_f32 operator()(const image_f32& img, random::stream& rng) const {
    view_geometry g = geometry_of(img);
    image_f32 out = img;
    apply(draw(g, rng), out);
    return out;
  }
};

}  // namespace simclr::augment
