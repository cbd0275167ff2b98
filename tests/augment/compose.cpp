// Tests of <simclr/augment/compose.hpp>: order, child streams, the concept, a user op in a policy.
#include <simclr/augment/compose.hpp>

#include <doctest/doctest.h>

#include <simclr/augment/flip.hpp>
#include <simclr/augment/policy.hpp>
#include <simclr/augment/solarize.hpp>

#include "../examples/random_cutout.hpp"
#include "support/fixture.hpp"

using namespace simclr;
using namespace simclr::augment;

namespace {
struct add_constant {  // a user op without an in-place `apply`: compose calls operator()
  float value;
  tensor<float> operator()(const tensor<float>& img, random::stream&) const {
    tensor<float> out = img;
    for (float& v : out.values()) v += value;
    return out;
  }
};
struct scale_by {
  float value;
  tensor<float> operator()(const tensor<float>& img, random::stream&) const {
    tensor<float> out = img;
    for (float& v : out.values()) v *= value;
    return out;
  }
};
struct not_an_augmentation {
  tensor<float> operator()(const tensor<float>& img) const { return img; }
};
}  // namespace

static_assert(augmentation<random_cutout>, "the example's cutout is an augmentation");
static_assert(augmentation<compose<random_cutout, random_horizontal_flip>>);
static_assert(augmentation<simclr_policy>);
static_assert(augmentation<grayscale_policy>);
static_assert(!augmentation<not_an_augmentation>);

TEST_CASE("compose applies its ops first to last") {
  tensor<float> img(shape{1, 1, 2}, {1.0f, 2.0f});
  random::stream rng(random::key(1));
  const tensor<float> a = compose(add_constant{1.0f}, scale_by{3.0f})(img, rng);
  CHECK(a(0, 0, 0) == 6.0f);  // (1 + 1) · 3
  const tensor<float> b = compose(scale_by{3.0f}, add_constant{1.0f})(img, rng);
  CHECK(b(0, 0, 0) == 4.0f);  // 1 · 3 + 1
}

TEST_CASE("compose of flip and solarize equals the explicit calls") {
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  const auto c = compose(random_horizontal_flip(1.0), random_solarize(0.5f, 1.0));
  random::stream rng(random::key(2));
  CHECK(test::max_abs_diff(c(img, rng), solarize(hflip(img), 0.5f)) == 0.0);
}

TEST_CASE("each op draws from its own child stream") {
  // The cutout's position must not depend on how many numbers the op before it drew.
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  const random_cutout cut{4, 1.0, 0.0f};
  const auto one = compose(random_horizontal_flip(0.0), cut);   // flip draws 2 words
  const auto other = compose(random_solarize(0.5f, 0.0), cut);  // solarize draws 2 words too
  const auto third = compose(add_constant{0.0f}, cut);          // draws nothing
  random::stream r1(random::key(3)), r2(random::key(3)), r3(random::key(3));
  const tensor<float> a = one(img, r1), b = other(img, r2), c = third(img, r3);
  CHECK(test::max_abs_diff(a, b) == 0.0);
  CHECK(test::max_abs_diff(a, c) == 0.0);
}

TEST_CASE("a user augmentation runs inside a SimCLR-style policy") {
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  const auto policy =
      compose(random_resized_crop(8), random_horizontal_flip(), random_cutout{3, 1.0, 0.5f});
  random::stream rng(random::key(4));
  const tensor<float> out = policy(img, rng);
  CHECK(out.shape() == shape{3, 8, 8});
  int filled = 0;
  for (const float v : out.values()) filled += v == 0.5f;
  CHECK(filled >= 3);  // at least one clipped corner of the 3×3 square, on 3 channels
}
