// Tests of <simclr/augment/policy.hpp>: the presets' structure, output shapes and event rates.
#include <simclr/augment/policy.hpp>

#include <algorithm>

#include <simclr/random/fill.hpp>

#include <doctest/doctest.h>

#include "support/statistics.hpp"

using namespace simclr;
using namespace simclr::augment;

namespace {
tensor<float> colorful(index_t c, index_t h, index_t w, std::uint64_t seed) {
  tensor<float> img(shape{c, h, w}, uninitialized);
  random::fill_uniform(img.view(), random::key(seed));
  return img;
}
bool is_gray(const tensor<float>& img) {
  const index_t plane = img.extent(1) * img.extent(2);
  for (index_t i = 0; i < plane; ++i)
    if (img.data()[i] != img.data()[plane + i] || img.data()[i] != img.data()[2 * plane + i])
      return false;
  return true;
}
}  // namespace

TEST_CASE("imagenet_policy follows the table of docs/augmentations.md") {
  const simclr_policy p = imagenet_policy();
  const auto& [crop, flip, jitter, gray, blur, sol] = p.ops;
  CHECK(crop.height == 224);
  CHECK(crop.scale == std::array<double, 2>{0.08, 1.0});
  CHECK(crop.mode == interpolation::bilinear);
  CHECK(crop.sampler == semantics::torchvision);
  CHECK(flip.p == 0.5);
  CHECK(jitter.p == 0.8);
  CHECK(jitter.op.brightness == doctest::Approx(0.8));
  CHECK(jitter.op.contrast == doctest::Approx(0.8));
  CHECK(jitter.op.saturation == doctest::Approx(0.8));
  CHECK(jitter.op.hue == doctest::Approx(0.2));
  CHECK(gray.p == 0.2);
  CHECK(blur.p == 0.5);
  CHECK(blur.op.size_for(224) == 23);
  CHECK(blur.op.sigma == std::array<float, 2>{0.1f, 2.0f});
  CHECK(sol.p == 0.0);
  const tensor<float> img = colorful(3, 256, 300, 1);
  random::stream rng(random::key(2));
  const tensor<float> out = p(img, rng);
  CHECK(out.shape() == shape{3, 224, 224});
  CHECK(*std::min_element(out.values().begin(), out.values().end()) >= 0.0f);
  CHECK(*std::max_element(out.values().begin(), out.values().end()) <= 1.0f);
}

TEST_CASE("cifar_policy has S 32 strength 0.5 and no blur") {
  const simclr_policy p = cifar_policy();
  const auto& [crop, flip, jitter, gray, blur, sol] = p.ops;
  CHECK(crop.height == 32);
  CHECK(jitter.op.brightness == doctest::Approx(0.4));
  CHECK(jitter.op.hue == doctest::Approx(0.1));
  CHECK(blur.p == 0.0);
  CHECK(sol.p == 0.0);
}

TEST_CASE("TF policy uses the TF sampler bicubic resize and TF color ops") {
  policy_options o;
  o.sem = semantics::tf;
  o.brightness = tf_brightness::additive;
  const simclr_policy p = make_simclr_policy(o);
  const auto& [crop, flip, jitter, gray, blur, sol] = p.ops;
  CHECK(crop.sampler == semantics::tf);
  CHECK(crop.mode == interpolation::bicubic_tf);
  CHECK(jitter.op.sem == semantics::tf);
  CHECK(jitter.op.tf_brightness_mode == tf_brightness::additive);
  CHECK(blur.op.sem == semantics::tf);
  const tensor<float> img = colorful(3, 40, 50, 3);
  random::stream rng(random::key(4));
  CHECK(p(img, rng).shape() == shape{3, 224, 224});
}

TEST_CASE("fashion_mnist_policy works on 1-channel 28 by 28 images") {
  const grayscale_policy p = fashion_mnist_policy();
  const auto& [crop, flip, jitter] = p.ops;
  CHECK(crop.scale == std::array<double, 2>{0.2, 1.0});
  CHECK(jitter.p == 0.8);
  CHECK(jitter.op.brightness == doctest::Approx(0.4));
  CHECK(jitter.op.contrast == doctest::Approx(0.4));
  CHECK(jitter.op.saturation == 0.0f);
  const tensor<float> img = colorful(1, 28, 28, 5);
  random::stream rng(random::key(6));
  CHECK(p(img, rng).shape() == shape{1, 28, 28});
}

TEST_CASE("the CIFAR policy turns about 20 percent of views gray") {
  const simclr_policy p = cifar_policy();
  const tensor<float> img = colorful(3, 32, 32, 7);
  std::size_t gray = 0;
  const std::size_t n = 2000;
  for (std::size_t i = 0; i < n; ++i) {
    random::stream rng(random::derive(8, i));
    gray += is_gray(p(img, rng));
  }
  CHECK(test::binomial_ok(gray, n, 0.2));
}

TEST_CASE("bad policy options are rejected") {
  policy_options o;
  o.jitter_p = 1.5;
  CHECK_THROWS_AS((void)make_simclr_policy(o), value_error);
  o = {};
  o.strength = -1.0f;
  CHECK_THROWS_AS((void)make_simclr_policy(o), value_error);
  o = {};
  o.crop_scale = {0.9, 0.1};
  CHECK_THROWS_AS((void)make_simclr_policy(o), value_error);
  o = {};
  o.size = 0;
  CHECK_THROWS_AS((void)make_simclr_policy(o), value_error);
}
