// simclr::augment solarize: solarize (deterministic) and random_solarize.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include <simclr/augment/device_op.hpp>
#include <simclr/augment/image.hpp>
#include <simclr/augment/semantics.hpp>
#include <simclr/backend/cpu/dispatch.hpp>
#include <simclr/backend/cpu/simd.hpp>
#include <simclr/random/stream.hpp>

namespace simclr::augment {

namespace detail {
inline void solarize_inplace(image_f32& img, float threshold) {
  // One register of values at a time on the CPU path in use: a select of 1 − x and x (the
  // scalar form stays a branch on AVX2 under GCC).
  float* p = img.data();
  const index_t n = img.numel();
  simclr::detail::with_isa(current_cpu_isa(), [&](auto bytes) {
    using L = simclr::detail::simd<float, decltype(bytes)::value>;
    typename L::vec v, t, one, flipped;
    L::broadcast(t, threshold);
    L::broadcast(one, 1.0f);
    index_t i = 0;
    for (; i + L::width <= n; i += L::width) {
      L::load(v, p + i);
      flipped = one - v;
      L::select(v, v >= t, flipped, v);
      L::store(p + i, v);
    }
    for (; i < n; ++i) p[i] = p[i] >= threshold ? 1.0f - p[i] : p[i];
  });
}
inline void check_threshold(float threshold) {
  if (!(threshold >= 0.0f && threshold <= 1.0f))
    throw value_error("simclr: augment::solarize: threshold " + std::to_string(threshold) +
                      ", expected a value in [0, 1]");
}
}  // namespace detail

/// x ← 1 − x wherever x ≥ threshold, for every value of `img` (C, H, W) — torchvision's
/// solarize on a float image (BYOL / SimCLR v2's extra op, threshold 0.5).
[[nodiscard]] inline image_f32 solarize(image_f32 img, float threshold = 0.5f) {
  expect_image(img, "augment::solarize");
  detail::check_threshold(threshold);
  detail::solarize_inplace(img, threshold);
  return img;
}

/// Solarizes with probability p (torchvision's RandomSolarize).
struct random_solarize {
  float threshold = 0.5f;  ///< values ≥ threshold are inverted
  double p = 0.5;          ///< probability of solarizing

  /// One view's draw: solarize or not, and at which threshold.
  struct params {
    std::uint8_t on = 0;
    float threshold = 0.5f;
  };

  explicit random_solarize(float t = 0.5f, double probability = 0.5)
      : threshold(t), p(probability) {
    detail::check_threshold(threshold);
    detail::check_probability(p, "random_solarize p");
  }

  /// One Bernoulli draw from `rng`.
  [[nodiscard]] params draw(view_geometry&, random::stream& rng) const {
    return params{static_cast<std::uint8_t>(rng.bernoulli(p) ? 1 : 0), threshold};
  }
  /// The CPU pass.
  void apply(const params& q, image_f32& img) const {
    if (q.on) detail::solarize_inplace(img, q.threshold);
  }
  /// The host/device pass (device_augmentation).
  template <class Exec>
  static SIMCLR_HOST_DEVICE void apply(const Exec& exec, const params& q, const view_buffer& v) {
    if (!q.on) return;
    const float t = q.threshold;
    float* out = v.data;
    exec.for_each(v.size(), [&](index_t e) { out[e] = out[e] >= t ? 1.0f - out[e] : out[e]; });
    exec.sync();
  }

  void apply(image_f32& img, random::stream& rng) const {
    view_geometry g = geometry_of(img);
    apply(draw(g, rng), img);
  }
  [[nodiscard]] image_f32 operator()(const image_f32& img, random::stream& rng) const {
    expect_image(img, "augment::random_solarize");
    image_f32 out = img;
    apply(out, rng);
    return out;
  }
};

}  // namespace simclr::augment
