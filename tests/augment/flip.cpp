// Tests of <simclr/augment/flip.hpp>: hflip against torchvision, random_horizontal_flip's rate.
#include <simclr/augment/flip.hpp>

#include <doctest/doctest.h>

#include "support/fixture.hpp"
#include "support/statistics.hpp"

using namespace simclr;
using namespace simclr::augment;

TEST_CASE("hflip matches torchvision and is an involution") {
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  CHECK(test::max_abs_diff(hflip(img), test::augment_ops().tensor_at("hflip")) == 0.0);
  CHECK(test::max_abs_diff(hflip(hflip(img)), img) == 0.0);
}

TEST_CASE("random_horizontal_flip flips with probability p") {
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  const tensor<float> flipped = test::augment_ops().tensor_at("hflip");
  for (const double p : {0.0, 0.5, 0.9, 1.0}) {
    CAPTURE(p);
    const random_horizontal_flip flip(p);
    std::size_t hits = 0;
    const std::size_t n = 2000;
    for (std::size_t i = 0; i < n; ++i) {
      random::stream rng(random::derive(5, i));
      if (test::max_abs_diff(flip(img, rng), flipped) == 0.0) ++hits;
    }
    CHECK(test::binomial_ok(hits, n, p));
  }
  CHECK_THROWS_AS(random_horizontal_flip(1.5), value_error);
}
