// random_cutout: a user-written augmentation, the example of docs/augmentations.md.
#pragma once

#include <algorithm>
#include <cstdint>

#include <simclr/augment/device_op.hpp>
#include <simclr/augment/image.hpp>
#include <simclr/config.hpp>
#include <simclr/random/stream.hpp>
#include <simclr/tensor.hpp>

/// Cutout (DeVries & Taylor, 2017): with probability p, fills a size×size square at a uniform
/// centre (clipped at the border) with `fill`. A plain struct with a const call operator taking
/// the image and the stream is all simclr::augmentation asks for; `params`, `draw` and the
/// static host/device `apply` make it a simclr::device_augmentation as well, so a policy that
/// holds it also makes its views on the GPU (augment::two_views of a device batch).
struct random_cutout {
  simclr::index_t size = 8;  // side of the square, in pixels
  double p = 0.5;            // probability of a cutout
  float fill = 0.5f;         // value written into the square

  /// One view's draw: the square, clipped ([y0, y1) × [x0, x1); empty when no cutout).
  struct params {
    std::int32_t y0 = 0, y1 = 0, x0 = 0, x1 = 0;
    float fill = 0.0f;
  };

  /// Every random number of one view, from `rng`.
  params draw(simclr::augment::view_geometry& g, simclr::random::stream& rng) const {
    if (!rng.bernoulli(p)) return {};
    const auto cy = static_cast<simclr::index_t>(rng.uniform_int(static_cast<std::uint32_t>(g.h)));
    const auto cx = static_cast<simclr::index_t>(rng.uniform_int(static_cast<std::uint32_t>(g.w)));
    const auto i32 = [](simclr::index_t v) { return static_cast<std::int32_t>(v); };
    return params{i32(std::max<simclr::index_t>(0, cy - size / 2)),
                  i32(std::min(g.h, cy - size / 2 + size)),
                  i32(std::max<simclr::index_t>(0, cx - size / 2)),
                  i32(std::min(g.w, cx - size / 2 + size)), fill};
  }

  /// The square filled, on the host or the device: `exec` spreads the loop over its threads.
  template <class Exec>
  static SIMCLR_HOST_DEVICE void apply(const Exec& exec, const params& q,
                                       const simclr::augment::view_buffer& v) {
    const simclr::index_t rows = q.y1 - q.y0, cols = q.x1 - q.x0;
    if (rows <= 0 || cols <= 0) return;
    exec.for_each(v.c * rows * cols, [&](simclr::index_t e) {
      const simclr::index_t k = e / (rows * cols), y = q.y0 + (e / cols) % rows,
                            x = q.x0 + e % cols;
      v.data[(k * v.h + y) * v.w + x] = q.fill;
    });
    exec.sync();
  }

  /// The CPU call: draw, then the same pass on this thread.
  simclr::tensor<float> operator()(const simclr::tensor<float>& img,  // (C, H, W)
                                   simclr::random::stream& rng) const {
    simclr::augment::view_geometry g = simclr::augment::geometry_of(img);
    const params q = draw(g, rng);
    simclr::tensor<float> out = img;
    apply(simclr::augment::serial_executor{}, q,
          simclr::augment::view_buffer{out.data(), g.c, g.h, g.w, nullptr});
    return out;
  }
};
