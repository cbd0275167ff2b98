// simclr::augment policies: SimCLR's presets (ImageNet, CIFAR, grayscale) built from the ops.
#pragma once

#include <array>

#include <simclr/augment/color_jitter.hpp>
#include <simclr/augment/compose.hpp>
#include <simclr/augment/flip.hpp>
#include <simclr/augment/gaussian_blur.hpp>
#include <simclr/augment/grayscale.hpp>
#include <simclr/augment/random_apply.hpp>
#include <simclr/augment/resized_crop.hpp>
#include <simclr/augment/semantics.hpp>
#include <simclr/augment/solarize.hpp>

namespace simclr::augment {

/// The knobs of SimCLR's policy (docs/augmentations.md). Defaults: the ImageNet policy, torchvision semantics.
struct policy_options {
  index_t size = 224;                                      ///< output side S
  std::array<double, 2> crop_scale{0.08, 1.0};             ///< random resized crop area fraction
  std::array<double, 2> crop_ratio{3.0 / 4.0, 4.0 / 3.0};  ///< crop aspect ratio (w / h)
  double flip_p = 0.5;                                     ///< horizontal flip probability
  float strength = 1.0f;                                   ///< color jitter strength s
  double jitter_p = 0.8;                                   ///< color jitter probability
  double grayscale_p = 0.2;                                ///< random grayscale probability
  double blur_p = 0.5;                                     ///< Gaussian blur probability (0: off)
  std::array<float, 2> blur_sigma{0.1f, 2.0f};             ///< blur σ range
  double blur_kernel_fraction = 0.1;                       ///< blur kernel size / image side
  double solarize_p = 0.0;                 ///< solarize probability (v2/BYOL extra; 0: off)
  float solarize_threshold = 0.5f;         ///< solarize threshold
  semantics sem = semantics::torchvision;  ///< torchvision or TF SimCLR behaviour
  tf_brightness brightness = tf_brightness::multiplicative;  ///< TF mode: v2 (×) or v1 (+)
};

/// SimCLR's per-view policy: crop → flip → jitter (p) → grayscale (p) → blur (p) → solarize (p).
using simclr_policy =
    compose<random_resized_crop, random_horizontal_flip, random_apply<color_jitter>,
            random_grayscale, random_apply<random_gaussian_blur>, random_apply<random_solarize>>;

/// The policy `o` describes. TF semantics use the TF crop sampler and bicubic resize (as the
/// official code), TF color ops and zero-padded blur with one σ per batch.
[[nodiscard]] inline simclr_policy make_simclr_policy(const policy_options& o = {}) {
  const bool tf = o.sem == semantics::tf;
  return simclr_policy(
      random_resized_crop(o.size, o.crop_scale, o.crop_ratio,
                          tf ? interpolation::bicubic_tf : interpolation::bilinear, o.sem),
      random_horizontal_flip(o.flip_p),
      random_apply(o.jitter_p, color_jitter::simclr(o.strength, o.sem, o.brightness)),
      random_grayscale(o.grayscale_p),
      random_apply(o.blur_p, random_gaussian_blur(o.blur_sigma, 0, o.blur_kernel_fraction, o.sem)),
      random_apply(o.solarize_p, random_solarize(o.solarize_threshold, 1.0)));
}

/// ImageNet: S = 224, s = 1.0, blur on (p 0.5).
[[nodiscard]] inline simclr_policy imagenet_policy(semantics sem = semantics::torchvision) {
  policy_options o;
  o.sem = sem;
  return make_simclr_policy(o);
}

/// CIFAR-10: S = 32, s = 0.5, no blur.
[[nodiscard]] inline simclr_policy cifar_policy(semantics sem = semantics::torchvision) {
  policy_options o;
  o.size = 32;
  o.strength = 0.5f;
  o.blur_p = 0.0;
  o.sem = sem;
  return make_simclr_policy(o);
}

/// The policy for 1-channel data (Fashion-MNIST, the "fmnist-r18w16" recipe): crop → flip → jitter.
using grayscale_policy =
    compose<random_resized_crop, random_horizontal_flip, random_apply<color_jitter>>;

/// Fashion-MNIST: random resized crop to `size` (28) with scale `crop_scale` (0.2, 1), flip
/// p 0.5, color jitter brightness 0.4 and contrast 0.4 with p 0.8 (saturation and hue do nothing
/// on gray).
[[nodiscard]] inline grayscale_policy fashion_mnist_policy(
    index_t size = 28, std::array<double, 2> crop_scale = {0.2, 1.0}) {
  return grayscale_policy(random_resized_crop(size, crop_scale), random_horizontal_flip(0.5),
                          random_apply(0.8, color_jitter(0.4f, 0.4f)));
}

}  // namespace simclr::augment
