// random_cutout: a user-written augmentation, the example of docs/augmentations.md.
#pragma once

#include <algorithm>
#include <cstdint>

#include <simclr/augment/image.hpp>
#include <simclr/random/stream.hpp>
#include <simclr/tensor.hpp>

/// Cutout (DeVries & Taylor, 2017): with probability p, fills a size×size square at a uniform
/// centre (clipped at the border) with `fill`. A plain struct with a const call operator taking
/// the image and the stream is all simclr::augmentation asks for.
struct random_cutout {
  simclr::index_t size = 8;  // side of the square, in pixels
  double p = 0.5;            // probability of a cutout
  float fill = 0.5f;         // value written into the square

  simclr::tensor<float> operator()(const simclr::tensor<float>& img,  // (C, H, W)
                                   simclr::random::stream& rng) const {
    simclr::tensor<float> out = img;
    if (!rng.bernoulli(p)) return out;
    const simclr::index_t c = img.extent(0), h = img.extent(1), w = img.extent(2);
    const auto cy = static_cast<simclr::index_t>(rng.uniform_int(static_cast<std::uint32_t>(h)));
    const auto cx = static_cast<simclr::index_t>(rng.uniform_int(static_cast<std::uint32_t>(w)));
    const simclr::index_t y0 = std::max<simclr::index_t>(0, cy - size / 2);
    const simclr::index_t y1 = std::min(h, cy - size / 2 + size);
    const simclr::index_t x0 = std::max<simclr::index_t>(0, cx - size / 2);
    const simclr::index_t x1 = std::min(w, cx - size / 2 + size);
    for (simclr::index_t k = 0; k < c; ++k)
      for (simclr::index_t y = y0; y < y1; ++y)
        for (simclr::index_t x = x0; x < x1; ++x) out(k, y, x) = fill;
    return out;
  }
};
