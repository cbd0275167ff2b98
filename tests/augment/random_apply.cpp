// Tests of <simclr/augment/random_apply.hpp>: the rate, p = 0 and 1, parameter checks.
#include <simclr/augment/random_apply.hpp>

#include <doctest/doctest.h>

#include <simclr/augment/solarize.hpp>

#include "support/fixture.hpp"
#include "support/statistics.hpp"

using namespace simclr;
using namespace simclr::augment;

TEST_CASE("random_apply applies the op with probability p") {
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  const tensor<float> sol = test::augment_ops().tensor_at("solarize_0.5");
  for (const double p : {0.0, 0.3, 0.8, 1.0}) {
    CAPTURE(p);
    const random_apply ra(p, random_solarize(0.5f, 1.0));
    std::size_t hits = 0;
    const std::size_t n = 3000;
    for (std::size_t i = 0; i < n; ++i) {
      random::stream rng(random::derive(7, i));
      const tensor<float> out = ra(img, rng);
      if (test::max_abs_diff(out, sol) == 0.0) {
        ++hits;
      } else {
        REQUIRE(test::max_abs_diff(out, img) == 0.0);
      }
    }
    CHECK(test::binomial_ok(hits, n, p));
  }
}

TEST_CASE("random_apply rejects probabilities outside the unit interval") {
  CHECK_THROWS_AS(random_apply(1.2, random_solarize()), value_error);
  CHECK_THROWS_AS(random_apply(-0.2, random_solarize()), value_error);
}
