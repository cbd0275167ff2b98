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

#include <simclr/augment/grayscale.hpp>
#include <simclr/augment/image.hpp>
#include <simclr/augment/semantics.hpp>
#include <simclr/random/stream.hpp>

namespace simclr::augment {

namespace detail {

[[gnu::always_inline]] inline float clamp01(float x) {
  return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x);
}

/// (1 − f) as torchvision's _blend computes it (in double, then used as a float scalar).
inline float one_minus(float f) {
  return static_cast<float>(1.0 - static_cast<double>(f));
}

/// ⌊x⌋ without a library call (vectorises at -O2): truncate, then step down for negatives.
[[gnu::always_inline]] inline float floor_fast(float x) {
  const auto t = static_cast<float>(static_cast<int>(x));
  return t > x ? t - 1.0f : t;
}

/// RGB → HSV of one pixel, as torchvision's _rgb2hsv (h, s ∈ [0, 1), v = max). Branch-free
/// (selects only) and always inlined, so the pixel loops vectorise.
[[gnu::always_inline]] inline void rgb_to_hsv(float r, float g, float b, float& h, float& s,
                                              float& v) {
  const float maxc = std::max(r, std::max(g, b));
  const float minc = std::min(r, std::min(g, b));
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
[[gnu::always_inline]] inline void hsv_to_rgb(float h, float s, float v, float& r, float& g,
                                              float& b) {
  float i = floor_fast(h * 6.0f);
  const float f = h * 6.0f - i;
  i = i >= 6.0f ? i - 6.0f : i;  // i mod 6 for h ∈ [0, 1]
  const float p = clamp01(v * (1.0f - s));
  const float q = clamp01(v * (1.0f - s * f));
  const float t = clamp01(v * (1.0f - s * (1.0f - f)));
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

/// The mean of the luma (3 channels) or of the single channel (1 channel) of `img`; float
/// lane sums per row, rows added in double.
inline float gray_mean(const image_f32& img) {
  const index_t h = img.extent(1), w = img.extent(2), plane = h * w;
  const float* p = img.data();
  double sum = 0.0;
  if (img.extent(0) == 3) {
    std::vector<float> row(static_cast<std::size_t>(w));
    for (index_t y = 0; y < h; ++y) {
      const index_t o = y * w;
      for (index_t x = 0; x < w; ++x)
        row[static_cast<std::size_t>(x)] = luma(p[o + x], p[plane + o + x], p[2 * plane + o + x]);
      sum += lane_sum(row.data(), w);
    }
  } else {
    for (index_t y = 0; y < h; ++y) sum += lane_sum(p + y * w, w);
  }
  return static_cast<float>(sum / static_cast<double>(plane));
}

inline void brightness_inplace(image_f32& img, float f) {
  for (float& x : img.values()) x = clamp01(f * x);
}
inline void brightness_additive_inplace(image_f32& img, float delta) {
  for (float& x : img.values()) x = clamp01(x + delta);
}
inline void contrast_inplace(image_f32& img, float f) {
  const float m = one_minus(f) * gray_mean(img);
  for (float& x : img.values()) x = clamp01(f * x + m);
}
inline void contrast_tf_inplace(image_f32& img, float f) {
  const index_t plane = img.extent(1) * img.extent(2);
  for (index_t k = 0; k < img.extent(0); ++k) {
    float* p = img.data() + k * plane;
    double sum = 0.0;
    for (index_t y = 0; y < img.extent(1); ++y)
      sum += lane_sum(p + y * img.extent(2), img.extent(2));
    const auto m = static_cast<float>(sum / static_cast<double>(plane));
    for (index_t i = 0; i < plane; ++i) p[i] = clamp01((p[i] - m) * f + m);
  }
}
inline void saturation_inplace(image_f32& img, float f) {
  if (img.extent(0) != 3) return;
  const index_t plane = img.extent(1) * img.extent(2);
  const float g1 = one_minus(f);
  float* r = img.data();
  float* g = r + plane;
  float* b = g + plane;
  for (index_t i = 0; i < plane; ++i) {
    const float y = g1 * luma(r[i], g[i], b[i]);
    r[i] = clamp01(f * r[i] + y);
    g[i] = clamp01(f * g[i] + y);
    b[i] = clamp01(f * b[i] + y);
  }
}
/// One pass over the pixels: HSV, (H + delta) mod 1 and, when ScaleS, S ← clamp(S·s_factor),
/// back to RGB; Clip clamps the result to [0, 1] (TF mode). The options are template
/// parameters so the loop body has no branch and vectorises.
template <bool ScaleS, bool Clip>
void hsv_pass(float* r, float* g, float* b, index_t n, float delta, float s_factor) {
  for (index_t i = 0; i < n; ++i) {
    float h = 0.0f, s = 0.0f, v = 0.0f;
    rgb_to_hsv(r[i], g[i], b[i], h, s, v);
    h += delta;  // (H + δ) mod 1, as torch's remainder
    h -= floor_fast(h);
    if constexpr (ScaleS) s = clamp01(s * s_factor);
    float ro = 0.0f, go = 0.0f, bo = 0.0f;
    hsv_to_rgb(h, s, v, ro, go, bo);
    if constexpr (Clip) {
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
  if (scale_s) {
    clip ? hsv_pass<true, true>(r, g, b, plane, delta, s_factor)
         : hsv_pass<true, false>(r, g, b, plane, delta, s_factor);
  } else {
    clip ? hsv_pass<false, true>(r, g, b, plane, delta, s_factor)
         : hsv_pass<false, false>(r, g, b, plane, delta, s_factor);
  }
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

/// Applies the color ops of `params` in its order (torchvision's ColorJitter.forward, or SimCLR's
/// TF color_jitter_rand with a clip after each op). `brightness` picks SimCLR v1's additive
/// brightness in TF mode.
[[nodiscard]] inline image_f32 jitter(image_f32 img, const jitter_params& params,
                                      semantics sem = semantics::torchvision,
                                      tf_brightness brightness = tf_brightness::multiplicative) {
  expect_image(img, "augment::jitter");
  for (const int op : params.order) {
    switch (op) {
      case 0:
        if (params.brightness) {
          if (sem == semantics::tf && brightness == tf_brightness::additive) {
            detail::brightness_additive_inplace(img, *params.brightness);
          } else {
            detail::check_factor(*params.brightness, "jitter brightness");
            detail::brightness_inplace(img, *params.brightness);
          }
        }
        break;
      case 1:
        if (params.contrast) {
          detail::check_factor(*params.contrast, "jitter contrast");
          if (sem == semantics::tf) {
            detail::contrast_tf_inplace(img, *params.contrast);
          } else {
            detail::contrast_inplace(img, *params.contrast);
          }
        }
        break;
      case 2:
        if (params.saturation) {
          detail::check_factor(*params.saturation, "jitter saturation");
          if (sem == semantics::tf) {
            detail::hsv_inplace(img, 0.0f, *params.saturation, true);
          } else {
            detail::saturation_inplace(img, *params.saturation);
          }
        }
        break;
      case 3:
        if (params.hue) {
          detail::check_hue(*params.hue);
          detail::hsv_inplace(img, *params.hue, 1.0f, sem == semantics::tf);
        }
        break;
      default:
        throw value_error("simclr: augment::jitter: op " + std::to_string(op) +
                          " in the order, expected 0 (brightness), 1 (contrast), 2 (saturation) "
                          "or 3 (hue)");
    }
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

  void apply(image_f32& img, random::stream& rng) const {
    img = jitter(std::move(img), sample(rng), sem, tf_brightness_mode);
  }
  [[nodiscard]] image_f32 operator()(const image_f32& img, random::stream& rng) const {
    return jitter(img, sample(rng), sem, tf_brightness_mode);
  }
};

}  // namespace simclr::augment
