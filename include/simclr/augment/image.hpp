// simclr::augment image types: 8-bit (H, W, C) and float (C, H, W) images, and conversions.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include <simclr/error.hpp>
#include <simclr/tensor.hpp>

namespace simclr::augment {

/// An 8-bit image as decoded from a file: (H, W, C), C = 1 (gray) or 3 (RGB), interleaved.
using image_u8 = tensor<std::uint8_t, cpu_t>;
/// A float image as the augmentations and encoders take it: (C, H, W), C = 1 or 3, planar,
/// values in [0, 1].
using image_f32 = tensor<float, cpu_t>;

/// Throws shape_error unless `img` is a (C, H, W) float image with C ∈ {1, 3} and H, W ≥ 1.
inline void expect_image(const image_f32& img, std::string_view what) {
  if (img.rank() != 3 || (img.extent(0) != 1 && img.extent(0) != 3) || img.extent(1) < 1 ||
      img.extent(2) < 1)
    throw shape_error("simclr: " + std::string(what) + " takes a (C, H, W) image with C = 1 or 3 " +
                      "and H, W ≥ 1, got shape " + img.shape().to_string());
}

/// Throws shape_error unless `img` is an (H, W, C) 8-bit image with C ∈ {1, 3} and H, W ≥ 1.
inline void expect_image(const image_u8& img, std::string_view what) {
  if (img.rank() != 3 || (img.extent(2) != 1 && img.extent(2) != 3) || img.extent(0) < 1 ||
      img.extent(1) < 1)
    throw shape_error("simclr: " + std::string(what) + " takes an (H, W, C) 8-bit image with C = " +
                      "1 or 3 and H, W ≥ 1, got shape " + img.shape().to_string());
}

/// (H, W, C) 8-bit → (C, H, W) float with x / 255, as torchvision's to_tensor /
/// convert_image_dtype do.
[[nodiscard]] inline image_f32 to_float(const image_u8& img) {
  expect_image(img, "augment::to_float");
  const index_t h = img.extent(0), w = img.extent(1), c = img.extent(2);
  image_f32 out(shape{c, h, w}, uninitialized);  // (C, H, W)
  const std::uint8_t* src = img.data();
  float* dst = out.data();
  const index_t plane = h * w;
  if (c == 1) {
    for (index_t i = 0; i < plane; ++i) dst[i] = static_cast<float>(src[i]) / 255.0f;
  } else {
    for (index_t i = 0; i < plane; ++i) {
      dst[i] = static_cast<float>(src[3 * i]) / 255.0f;
      dst[plane + i] = static_cast<float>(src[3 * i + 1]) / 255.0f;
      dst[2 * plane + i] = static_cast<float>(src[3 * i + 2]) / 255.0f;
    }
  }
  return out;
}

/// (C, H, W) float in [0, 1] → (H, W, C) 8-bit: round(clamp(x, 0, 1) · 255). NaN becomes 0.
[[nodiscard]] inline image_u8 to_u8(const image_f32& img) {
  expect_image(img, "augment::to_u8");
  const index_t c = img.extent(0), h = img.extent(1), w = img.extent(2);
  image_u8 out(shape{h, w, c}, uninitialized);  // (H, W, C)
  const index_t plane = h * w;
  const float* src = img.data();
  std::uint8_t* dst = out.data();
  for (index_t k = 0; k < c; ++k)
    for (index_t i = 0; i < plane; ++i) {
      const float x = src[k * plane + i];
      const float v = x > 0.0f ? (x < 1.0f ? x : 1.0f) : 0.0f;  // NaN → 0
      dst[i * c + k] = static_cast<std::uint8_t>(v * 255.0f + 0.5f);
    }
  return out;
}

}  // namespace simclr::augment
