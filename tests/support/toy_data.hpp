// Test helpers: a small synthetic image data set (an image_source) with class-dependent patterns.
#pragma once

#include <cstdint>
#include <vector>

#include <simclr/augment/image.hpp>
#include <simclr/random/stream.hpp>

namespace simclr::test {

/// `n` (H, W, 1) 8-bit images of `classes` kinds: class c is a bright bar at a class-dependent
/// position and angle plus noise, so that a few SimCLR steps can learn something.
struct toy_images {
  std::vector<augment::image_u8> images;
  std::vector<int> labels;

  toy_images(index_t n, index_t side, int classes, std::uint64_t seed) {
    for (index_t i = 0; i < n; ++i) {
      random::stream rng(random::derive(seed, static_cast<std::uint64_t>(i)));
      const int c = static_cast<int>(i % classes);
      augment::image_u8 img(shape{side, side, 1});
      for (index_t y = 0; y < side; ++y)
        for (index_t x = 0; x < side; ++x) {
          const bool bar = c % 2 == 0 ? (x / 2 == (c / 2) % (side / 2)) : (y / 2 == (c / 2) % (side / 2));
          const double v = (bar ? 200.0 : 30.0) + 25.0 * rng.normal();
          img(y, x, 0) = static_cast<std::uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
        }
      images.push_back(std::move(img));
      labels.push_back(c);
    }
  }
  [[nodiscard]] index_t size() const { return static_cast<index_t>(images.size()); }
  [[nodiscard]] const augment::image_u8& image(index_t i) const {
    return images[static_cast<std::size_t>(i)];
  }
};

}  // namespace simclr::test
