// Tests of <simclr/augment/solarize.hpp>: solarize against torchvision, random_solarize's rate.
#include <simclr/augment/solarize.hpp>

#include <doctest/doctest.h>

#include "support/fixture.hpp"
#include "support/statistics.hpp"

using namespace simclr;
using namespace simclr::augment;

TEST_CASE("solarize matches torchvision") {
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  CHECK(test::max_abs_diff(solarize(img, 0.5f), test::augment_ops().tensor_at("solarize_0.5")) <= 1e-7);
  CHECK(test::max_abs_diff(solarize(img, 0.3f), test::augment_ops().tensor_at("solarize_0.3")) <= 1e-7);
  // Threshold above every value: identity.
  tensor<float> dark(shape{1, 2, 2}, {0.1f, 0.2f, 0.3f, 0.4f});
  CHECK(test::max_abs_diff(solarize(dark, 0.9f), dark) == 0.0);
  CHECK_THROWS_AS((void)solarize(img, 1.5f), value_error);
}

TEST_CASE("random_solarize solarizes with probability p") {
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  const tensor<float> sol = test::augment_ops().tensor_at("solarize_0.5");
  const random_solarize s(0.5f, 0.2);
  std::size_t hits = 0;
  const std::size_t n = 3000;
  for (std::size_t i = 0; i < n; ++i) {
    random::stream rng(random::derive(6, i));
    if (test::max_abs_diff(s(img, rng), sol) == 0.0) ++hits;
  }
  CHECK(test::binomial_ok(hits, n, 0.2));
  CHECK_THROWS_AS(random_solarize(0.5f, 2.0), value_error);
}
