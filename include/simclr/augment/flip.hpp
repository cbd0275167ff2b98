// simclr::augment horizontal flip: hflip (deterministic) and random_horizontal_flip.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include <simclr/augment/device_op.hpp>
#include <simclr/augment/image.hpp>
#include <simclr/augment/semantics.hpp>
#include <simclr/backend/cpu/dispatch.hpp>
#include <simclr/backend/cpu/simd.hpp>
#include <simclr/random/stream.hpp>

namespace simclr::augment {

/// Mirrors `img` (C, H, W) left–right in place: x ← W − 1 − x (torchvision's hflip).
inline void hflip_inplace(image_f32& img) {
  expect_image(img, "augment::hflip");
  const index_t rows = img.extent(0) * img.extent(1), w = img.extent(2);
  float* p = img.data();
  // Compiled for the CPU path in use (simclr/backend/cpu/dispatch.hpp): the two ends of a row
  // swapped one register at a time with their lanes reversed, the middle by std::reverse.
  simclr::detail::with_isa(current_cpu_isa(), [&](auto bytes) {
    using L = simclr::detail::simd<float, decltype(bytes)::value>;
    for (index_t r = 0; r < rows; ++r) {
      float* row = p + r * w;
      index_t lo = 0, hi = w;  // [lo, hi) not yet done
      for (; hi - lo >= 2 * L::width; lo += L::width, hi -= L::width) {
        typename L::vec a, b;
        L::load(a, row + lo);
        L::load(b, row + hi - L::width);
        L::reverse(a);
        L::reverse(b);
        L::store(row + lo, b);
        L::store(row + hi - L::width, a);
      }
      std::reverse(row + lo, row + hi);
    }
  });
}

/// `img` (C, H, W) mirrored left–right (torchvision's hflip).
[[nodiscard]] inline image_f32 hflip(image_f32 img) {
  hflip_inplace(img);
  return img;
}

/// Mirrors the image left–right with probability p (torchvision's RandomHorizontalFlip).
struct random_horizontal_flip {
  double p = 0.5;  ///< probability of a flip

  /// One view's draw: flip or not.
  struct params {
    std::uint8_t flip = 0;
  };

  explicit random_horizontal_flip(double probability = 0.5) : p(probability) {
    detail::check_probability(p, "random_horizontal_flip p");
  }

  /// One Bernoulli draw from `rng`.
  [[nodiscard]] params draw(view_geometry&, random::stream& rng) const {
    return params{static_cast<std::uint8_t>(rng.bernoulli(p) ? 1 : 0)};
  }
  /// The CPU pass: flips `img` in place when drawn.
  void apply(const params& q, image_f32& img) const {
    if (q.flip) hflip_inplace(img);
  }
  /// The host/device pass (device_augmentation): swaps the two halves of every row.
  template <class Exec>
  static SIMCLR_HOST_DEVICE void apply(const Exec& exec, const params& q, const view_buffer& v) {
    if (!q.flip) return;
    const index_t w = v.w, half = w / 2;
    exec.for_each(v.c * v.h * half, [&](index_t e) {
      float* row = v.data + (e / half) * w;
      const index_t x = e % half;
      const float t = row[x];
      row[x] = row[w - 1 - x];
      row[w - 1 - x] = t;
    });
    exec.sync();
  }

  /// Flips `img` in place or leaves it: draw, then the CPU pass.
  void apply(image_f32& img, random::stream& rng) const {
    view_geometry g = geometry_of(img);
    apply(draw(g, rng), img);
  }
  [[nodiscard]] image_f32 operator()(const image_f32& img, random::stream& rng) const {
    image_f32 out = img;
    apply(out, rng);
    return out;
  }
};

}  // namespace simclr::augment
