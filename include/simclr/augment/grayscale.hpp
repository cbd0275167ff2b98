// simclr::augment grayscale: rgb_to_grayscale (deterministic) and random_grayscale.
#pragma once

#include <algorithm>
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
/// ITU-R 601-2 luma as torchvision (and tf.image.rgb_to_grayscale) compute it, in float:
/// 0.2989 R + 0.587 G + 0.114 B, summed left to right (host and device).
SIMCLR_HOST_DEVICE inline float luma(float r, float g, float b) {
  using namespace view;
  return add(add(mul(0.2989f, r), mul(0.587f, g)), mul(0.114f, b));
}

/// luma() of one register of pixels (simd L), lane by lane.
template <class L>
void luma_lanes(typename L::vec& y, const float* r, const float* g, const float* b) {
  typename L::vec rv, gv, bv;
  L::load(rv, r);
  L::load(gv, g);
  L::load(bv, b);
  y = 0.2989f * rv + 0.587f * gv + 0.114f * bv;
}

/// Writes the luma of the RGB planes of `img` (3, H, W) into `out` (H·W floats), and into
/// out + plane and out + 2·plane as well when `copies` is 3 (out may be img: in place). Compiled
/// for the CPU path in use (simclr/backend/cpu/dispatch.hpp), one register of pixels at a time.
inline void luma_plane(const float* img, index_t plane, float* out, int copies = 1) {
  const float* r = img;
  const float* g = img + plane;
  const float* b = img + 2 * plane;
  simclr::detail::simd_loop<float>(
      current_cpu_isa(), 0, plane,
      [&](auto bytes, index_t i) {
        using L = simclr::detail::simd<float, decltype(bytes)::value>;
        typename L::vec y;
        luma_lanes<L>(y, r + i, g + i, b + i);
        for (int k = 0; k < copies; ++k) L::store(out + k * plane + i, y);
      },
      [&](index_t i) {
        const float y = luma(r[i], g[i], b[i]);
        for (int k = 0; k < copies; ++k) out[k * plane + i] = y;
      });
}

/// Replaces every channel of `img` (C, H, W) by its luma (a 1-channel image is left as is).
inline void grayscale_inplace(image_f32& img) {
  if (img.extent(0) != 3) return;
  luma_plane(img.data(), img.extent(1) * img.extent(2), img.data(), 3);
}
}  // namespace detail

/// The luma of `img` (C, H, W) as a (channels, H, W) image, channels ∈ {1, 3} (the luma copied
/// to every channel) — torchvision's rgb_to_grayscale. A 1-channel input is copied.
[[nodiscard]] inline image_f32 rgb_to_grayscale(const image_f32& img, index_t channels = 1) {
  expect_image(img, "augment::rgb_to_grayscale");
  if (channels != 1 && channels != 3)
    throw value_error("simclr: augment::rgb_to_grayscale: channels is " + std::to_string(channels) +
                      ", expected 1 or 3");
  const index_t h = img.extent(1), w = img.extent(2), plane = h * w;
  image_f32 out(shape{channels, h, w}, uninitialized);  // (channels, H, W)
  if (img.extent(0) == 3) {
    detail::luma_plane(img.data(), plane, out.data());
  } else {
    std::copy(img.data(), img.data() + plane, out.data());
  }
  for (index_t k = 1; k < channels; ++k)
    std::copy(out.data(), out.data() + plane, out.data() + k * plane);
  return out;
}

/// Converts the image to grayscale (keeping its channel count) with probability p
/// (torchvision's RandomGrayscale; tf: SimCLR's to_grayscale with keep_channels).
struct random_grayscale {
  double p = 0.2;  ///< probability of the conversion

  /// One view's draw: convert or not.
  struct params {
    std::uint8_t on = 0;
  };

  explicit random_grayscale(double probability = 0.2) : p(probability) {
    detail::check_probability(p, "random_grayscale p");
  }

  /// One Bernoulli draw from `rng`.
  [[nodiscard]] params draw(view_geometry&, random::stream& rng) const {
    return params{static_cast<std::uint8_t>(rng.bernoulli(p) ? 1 : 0)};
  }
  /// The CPU pass (a 1-channel image is left as is).
  void apply(const params& q, image_f32& img) const {
    if (q.on) detail::grayscale_inplace(img);
  }
  /// The host/device pass (device_augmentation).
  template <class Exec>
  static SIMCLR_HOST_DEVICE void apply(const Exec& exec, const params& q, const view_buffer& v) {
    if (!q.on || v.c != 3) return;
    float* out = v.data;
    const index_t plane = v.plane();
    exec.for_each(plane, [&](index_t i) {
      const float y = detail::luma(out[i], out[plane + i], out[2 * plane + i]);
      out[i] = y;
      out[plane + i] = y;
      out[2 * plane + i] = y;
    });
    exec.sync();
  }

  /// Converts `img` in place or leaves it: draw, then the CPU pass.
  void apply(image_f32& img, random::stream& rng) const {
    view_geometry g = geometry_of(img);
    apply(draw(g, rng), img);
  }
  [[nodiscard]] image_f32 operator()(const image_f32& img, random::stream& rng) const {
    expect_image(img, "augment::random_grayscale");
    image_f32 out = img;
    apply(out, rng);
    return out;
  }
};

}  // namespace simclr::augment
