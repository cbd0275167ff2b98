// Tests of <simclr/augment/color_jitter.hpp>: the color ops against torchvision and TF.
#include <simclr/augment/color_jitter.hpp>

#include <algorithm>
#include <cstdio>
#include <string>

#include <doctest/doctest.h>

#include <simclr/backend/cpu/isa.hpp>
#include <simclr/random/fill.hpp>

#include "support/fixture.hpp"
#include "support/statistics.hpp"

using namespace simclr;
using namespace simclr::augment;

namespace {
// Python's str() of the factors in the fixture names.
std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.7g", v);
  std::string s = buf;
  if (s.find('.') == std::string::npos) s += ".0";
  return s;
}
}  // namespace

TEST_CASE("adjust_brightness matches torchvision") {
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  for (const float f : {0.0f, 0.6f, 1.0f, 1.7f}) {
    CAPTURE(f);
    CHECK(test::max_abs_diff(adjust_brightness(img, f), test::augment_ops().tensor_at("brightness_" + fmt(f))) <=
          1e-5);
  }
  CHECK(test::max_abs_diff(adjust_brightness(test::augment_ops().tensor_at("img1"), 1.4f),
                           test::augment_ops().tensor_at("brightness_gray_1.4")) <= 1e-5);
}

TEST_CASE("adjust_contrast matches torchvision") {
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  for (const float f : {0.0f, 0.3f, 1.0f, 1.8f}) {
    CAPTURE(f);
    CHECK(test::max_abs_diff(adjust_contrast(img, f), test::augment_ops().tensor_at("contrast_" + fmt(f))) <=
          1e-5);
  }
  CHECK(test::max_abs_diff(adjust_contrast(test::augment_ops().tensor_at("img1"), 1.8f),
                           test::augment_ops().tensor_at("contrast_gray_1.8")) <= 1e-5);
}

TEST_CASE("adjust_saturation matches torchvision") {
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  for (const float f : {0.0f, 0.2f, 1.0f, 1.9f}) {
    CAPTURE(f);
    CHECK(test::max_abs_diff(adjust_saturation(img, f), test::augment_ops().tensor_at("saturation_" + fmt(f))) <=
          1e-5);
  }
}

TEST_CASE("adjust_hue matches torchvision") {
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  for (const float d : {-0.5f, -0.4f, 0.0f, 0.13f, 0.5f}) {
    CAPTURE(d);
    CHECK(test::max_abs_diff(adjust_hue(img, d), test::augment_ops().tensor_at("hue_" + fmt(d))) <= 1e-4);
  }
}

TEST_CASE("fixed points: brightness 1 contrast 1 saturation 1 and hue 0 are identities") {
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  CHECK(test::max_abs_diff(adjust_brightness(img, 1.0f), img) == 0.0);
  CHECK(test::max_abs_diff(adjust_contrast(img, 1.0f), img) <= 1e-7);
  CHECK(test::max_abs_diff(adjust_saturation(img, 1.0f), img) <= 1e-7);
  CHECK(test::max_abs_diff(adjust_hue(img, 0.0f), img) <= 1e-6);
  // A full turn of hue (two half turns) comes back.
  CHECK(test::max_abs_diff(adjust_hue(adjust_hue(img, 0.5f), 0.5f), img) <= 1e-5);
  // Saturation and hue leave 1-channel images alone (as torchvision).
  const tensor<float> gray = test::augment_ops().tensor_at("img1");
  CHECK(test::max_abs_diff(adjust_saturation(gray, 0.3f), gray) == 0.0);
  CHECK(test::max_abs_diff(adjust_hue(gray, 0.3f), gray) == 0.0);
}

TEST_CASE("jitter applies the ops in the given order as ColorJitter does") {
  jitter_params p;
  p.order = {2, 0, 3, 1};
  p.brightness = 1.3f;
  p.contrast = 0.7f;
  p.saturation = 1.5f;
  p.hue = -0.2f;
  CHECK(test::max_abs_diff(jitter(test::augment_ops().tensor_at("img3"), p), test::augment_ops().tensor_at("jitter_2031")) <=
        1e-4);
  // Another order gives another image: the order matters.
  p.order = {0, 1, 2, 3};
  CHECK(test::max_abs_diff(jitter(test::augment_ops().tensor_at("img3"), p), test::augment_ops().tensor_at("jitter_2031")) >
        1e-3);
}

TEST_CASE("TF semantics match the tf.image restatements") {
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  CHECK(test::max_abs_diff(adjust_contrast(img, 1.6f, semantics::tf),
                           test::augment_ops().tensor_at("tf_contrast_1.6")) <= 1e-5);
  CHECK(test::max_abs_diff(adjust_contrast(img, 0.3f, semantics::tf),
                           test::augment_ops().tensor_at("tf_contrast_0.3")) <= 1e-5);
  CHECK(test::max_abs_diff(adjust_saturation(img, 1.7f, semantics::tf),
                           test::augment_ops().tensor_at("tf_saturation_1.7")) <= 1e-4);
  CHECK(test::max_abs_diff(adjust_saturation(img, 0.3f, semantics::tf),
                           test::augment_ops().tensor_at("tf_saturation_0.3")) <= 1e-4);
  CHECK(test::max_abs_diff(adjust_hue(img, 0.3f, semantics::tf), test::augment_ops().tensor_at("tf_hue_0.3")) <=
        1e-4);
  CHECK(test::max_abs_diff(adjust_brightness_additive(img, 0.25f),
                           test::augment_ops().tensor_at("tf_brightness_add_0.25")) <= 1e-6);
  CHECK(test::max_abs_diff(adjust_brightness_additive(img, -0.3f),
                           test::augment_ops().tensor_at("tf_brightness_add_-0.3")) <= 1e-6);
  jitter_params p;
  p.order = {1, 3, 0, 2};
  p.brightness = 0.1f;
  p.contrast = 1.4f;
  p.saturation = 0.6f;
  p.hue = 0.45f;
  CHECK(test::max_abs_diff(jitter(img, p, semantics::tf, tf_brightness::additive),
                           test::augment_ops().tensor_at("tf_jitter_1302_additive")) <= 1e-4);
  // TF contrast differs from torchvision's (per-channel vs grayscale mean).
  CHECK(test::max_abs_diff(adjust_contrast(img, 1.6f), test::augment_ops().tensor_at("tf_contrast_1.6")) > 1e-3);
}

TEST_CASE("color_jitter samples factors in range and every order") {
  const color_jitter cj = color_jitter::simclr(1.0f);
  CHECK(cj.brightness == doctest::Approx(0.8));
  CHECK(cj.hue == doctest::Approx(0.2));
  int orders[24] = {};
  for (int i = 0; i < 24000; ++i) {
    random::stream rng(random::derive(3, static_cast<std::uint64_t>(i)));
    const jitter_params p = cj.sample(rng);
    REQUIRE(p.brightness);
    REQUIRE(p.hue);
    CHECK(*p.brightness >= 0.2f - 1e-6f);
    CHECK(*p.brightness <= 1.8f);
    CHECK(*p.contrast >= 0.2f - 1e-6f);
    CHECK(*p.saturation <= 1.8f);
    CHECK(std::abs(*p.hue) <= 0.2f);
    std::array<int, 4> sorted = p.order;
    std::sort(sorted.begin(), sorted.end());
    REQUIRE(sorted == std::array<int, 4>{0, 1, 2, 3});
    // Index of the permutation (Lehmer code).
    int code = 0;
    for (int a = 0; a < 4; ++a) {
      int smaller = 0;
      for (int b = a + 1; b < 4; ++b)
        smaller += p.order[static_cast<std::size_t>(b)] < p.order[static_cast<std::size_t>(a)];
      code = code * (4 - a) + smaller;
    }
    ++orders[code];
  }
  for (const int n : orders)
    CHECK(test::binomial_ok(static_cast<std::size_t>(n), 24000, 1.0 / 24.0));
  // Strength 0 turns an op off.
  random::stream rng(random::key(1));
  const jitter_params off = color_jitter(0.4f, 0.0f, 0.0f, 0.0f).sample(rng);
  CHECK(off.brightness);
  CHECK_FALSE(off.contrast);
  CHECK_FALSE(off.saturation);
  CHECK_FALSE(off.hue);
}

TEST_CASE("TF v1 brightness draws an additive delta") {
  const color_jitter cj(0.5f, 0.0f, 0.0f, 0.0f, semantics::tf, tf_brightness::additive);
  bool negative = false;
  for (int i = 0; i < 200; ++i) {
    random::stream rng(random::derive(4, static_cast<std::uint64_t>(i)));
    const float d = *cj.sample(rng).brightness;
    CHECK(std::abs(d) <= 0.5f);
    negative = negative || d < 0.0f;
  }
  CHECK(negative);  // a factor would never be negative
}

TEST_CASE("color ops reject bad parameters") {
  const tensor<float> img(shape{3, 4, 4});
  CHECK_THROWS_AS((void)adjust_brightness(img, -0.1f), value_error);
  CHECK_THROWS_AS((void)adjust_contrast(img, -1.0f), value_error);
  CHECK_THROWS_AS((void)adjust_saturation(img, -1.0f), value_error);
  CHECK_THROWS_AS((void)adjust_hue(img, 0.6f), value_error);
  CHECK_THROWS_AS(color_jitter(-0.1f), value_error);
  CHECK_THROWS_AS(color_jitter(0.1f, 0.1f, 0.1f, 0.7f), value_error);
  jitter_params p;
  p.order = {0, 1, 2, 7};
  CHECK_THROWS_AS((void)jitter(img, p), value_error);
}

TEST_CASE("color_jitter output stays in the unit interval") {
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  const color_jitter cj(1.5f, 1.5f, 1.5f, 0.5f);
  for (int i = 0; i < 50; ++i) {
    random::stream rng(random::derive(8, static_cast<std::uint64_t>(i)));
    const tensor<float> out = cj(img, rng);
    CHECK(*std::min_element(out.values().begin(), out.values().end()) >= 0.0f);
    CHECK(*std::max_element(out.values().begin(), out.values().end()) <= 1.0f);
  }
}

TEST_CASE("adjust_hue: every CPU path's vector loop and tail agree with the per-pixel functions") {
  // 9 × 13 = 117 pixels: full vectors of 4, 8 and 16 plus a tail on every path.
  tensor<float> img(shape{3, 9, 13}, uninitialized);
  random::fill_uniform(img.view(), random::key(21));
  img.data()[5] = img.data()[117 + 5] = img.data()[234 + 5];  // a gray pixel (s = 0)
  const index_t plane = 117;
  for (const float d : {-0.45f, 0.13f, 0.5f}) {
    tensor<float> ref = img;
    for (index_t i = 0; i < plane; ++i) {
      float h = 0, s = 0, v = 0, r = 0, g = 0, b = 0;
      augment::detail::rgb_to_hsv(img.data()[i], img.data()[plane + i], img.data()[2 * plane + i],
                                  h, s, v);
      h += d;
      h -= augment::detail::floor_fast(h);
      augment::detail::hsv_to_rgb(h, s, v, r, g, b);
      ref.data()[i] = r;
      ref.data()[plane + i] = g;
      ref.data()[2 * plane + i] = b;
    }
    for (cpu_isa isa : all_cpu_isas) {
      if (!cpu_supports(isa)) continue;
      cpu_isa_scope path(isa);
      CAPTURE(d);
      CAPTURE(to_string(isa));
      CHECK(test::max_abs_diff(adjust_hue(img, d), ref) <= 1e-6);
    }
  }
}
