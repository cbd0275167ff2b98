// Policies with a user's device augmentation for the tests (host and nvcc): the example's
// random_cutout (examples/random_cutout.hpp), written outside the library, runs on the device
// through its own params, draw and host/device apply, next to the built-in ops in an order other
// than SimCLR's.
#pragma once

#include <simclr/augment/policy.hpp>
#include <simclr/concepts.hpp>

#include "../../examples/random_cutout.hpp"

namespace simclr::test {

static_assert(simclr::device_augmentation<random_cutout>);

/// Crop first, then grayscale, jitter, the cutout, flip, a second jitter (random_apply) and
/// solarize: not SimCLR's order, one op twice.
using jitter_twice = simclr::augment::compose<
    simclr::augment::random_resized_crop, simclr::augment::random_grayscale,
    simclr::augment::color_jitter, random_cutout, simclr::augment::random_horizontal_flip,
    simclr::augment::random_apply<simclr::augment::color_jitter>, simclr::augment::random_solarize>;
inline jitter_twice jitter_twice_policy(simclr::index_t size) {
  using namespace simclr::augment;
  return jitter_twice(random_resized_crop(size, {0.3, 1.0}), random_grayscale(0.3),
                      color_jitter(0.4f, 0.4f, 0.4f, 0.1f), random_cutout{6, 0.5, 0.25f},
                      random_horizontal_flip(0.5),
                      random_apply<color_jitter>(0.6, color_jitter(0.3f, 0.3f, 0.3f, 0.05f)),
                      random_solarize(0.6f, 0.4));
}

/// No crop: the view is the source image, then the cutout, grayscale and jitter in place.
using cutout_gray_jitter = simclr::augment::compose<random_cutout, simclr::augment::random_grayscale,
                                                    simclr::augment::color_jitter>;
inline cutout_gray_jitter cutout_gray_jitter_policy() {
  using namespace simclr::augment;
  return cutout_gray_jitter(random_cutout{6, 0.5, 0.25f}, random_grayscale(0.5),
                            color_jitter(0.4f, 0.4f, 0.4f, 0.1f));
}

}  // namespace simclr::test
