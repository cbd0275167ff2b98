// Tests of <simclr/augment/grayscale.hpp>: rgb_to_grayscale vs torchvision, the rate.
#include <simclr/augment/grayscale.hpp>

#include <doctest/doctest.h>

#include "support/fixture.hpp"
#include "support/statistics.hpp"

using namespace simclr;
using namespace simclr::augment;

TEST_CASE("rgb_to_grayscale matches torchvision") {
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  CHECK(test::max_abs_diff(rgb_to_grayscale(img, 1), test::augment_ops().tensor_at("gray_1")) <= 1e-6);
  CHECK(test::max_abs_diff(rgb_to_grayscale(img, 3), test::augment_ops().tensor_at("gray_3")) <= 1e-6);
  const tensor<float> gray = test::augment_ops().tensor_at("img1");
  CHECK(test::max_abs_diff(rgb_to_grayscale(gray, 1), gray) == 0.0);
  CHECK_THROWS_AS((void)rgb_to_grayscale(img, 2), value_error);
}

TEST_CASE("random_grayscale converts with probability p and keeps the channels") {
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  const tensor<float> gray3 = test::augment_ops().tensor_at("gray_3");
  const random_grayscale g(0.2);
  std::size_t hits = 0;
  const std::size_t n = 4000;
  for (std::size_t i = 0; i < n; ++i) {
    random::stream rng(random::derive(21, i));
    const tensor<float> out = g(img, rng);
    REQUIRE(out.shape() == img.shape());
    if (test::max_abs_diff(out, gray3) <= 1e-6) {
      ++hits;
    } else {
      REQUIRE(test::max_abs_diff(out, img) == 0.0);
    }
  }
  CHECK(test::binomial_ok(hits, n, 0.2));
  CHECK_THROWS_AS(random_grayscale(1.2), value_error);
  CHECK_THROWS_AS(random_grayscale(-0.1), value_error);
}
