// Tests of simclr::loss::nt_logistic: PyTorch fixtures, finite differences, checks.
#include <simclr/loss/nt_logistic.hpp>

#include <cmath>

#include <doctest/doctest.h>

#include <simclr/concepts.hpp>
#include <simclr/random/fill.hpp>
#include <simclr/testing/gradcheck.hpp>
#include <support/loss_fixtures.hpp>

using namespace simclr;

static_assert(contrastive_loss<loss::nt_logistic<float>, float, cpu_t>);
static_assert(contrastive_loss<loss::nt_logistic<double>, double, cpu_t>);

TEST_CASE("nt_logistic: value and dz match PyTorch (float64 fixtures)") {
  const auto fx = test::read_fixture(SIMCLR_LOSS_FIXTURES, "pairwise.json");
  int seen = 0;
  for (const auto& c : fx["cases"]) {
    if (c["loss_kind"] != "nt_logistic") continue;
    ++seen;
    const index_t n = c["n"], d = c["d"];
    const auto z = test::fixture_tensor(c["z"], shape{2 * n, d});
    const auto dz_ref = test::fixture_tensor(c["dz"], shape{2 * n, d});
    const loss::nt_logistic<double> l(
        {.temperature = c["temperature"], .negative_weight = c["negative_weight"]});
    const auto r = l(z);
    CHECK(r.value == doctest::Approx(c["loss"].get<double>()).epsilon(1e-12));
    CHECK(test::max_relative_error(r.dz, dz_ref, 1e-9) <= 1e-9);
  }
  CHECK(seen == 3);
}

TEST_CASE("nt_logistic: analytic gradient agrees with finite differences in double") {
  for (double tau : {1.0, 0.5, 0.1}) {
    for (double w : {1.0, 0.25}) {
      tensor<double> z(shape{10, 4});
      random::fill_normal(z.view(), random::key(3));
      const loss::nt_logistic<double> l({.temperature = tau, .negative_weight = w});
      const auto r = l(z);
      auto f = [&] { return l(z).value; };
      const auto g = testing::gradcheck(f, {{"z", z, r.dz}});
      CHECK_MESSAGE(g.passed, g.message());
    }
  }
}

TEST_CASE("nt_logistic: closed form on a tiny batch - top-1 - and input checks") {
  // 2N = 2: only the positive pair, ℓ = softplus(−cos/τ) for both anchors.
  tensor<double> z(shape{2, 2}, {1.0, 0.0, 0.6, 0.8});
  const auto r = loss::nt_logistic<double>({.temperature = 0.5})(z);
  CHECK(r.value == doctest::Approx(std::log1p(std::exp(-0.6 / 0.5))).epsilon(1e-14));
  CHECK(r.top1_accuracy == 1.0);
  // Far from the positive: large logits stay finite.
  tensor<float> zf(shape{64, 8});
  random::fill_normal(zf.view(), random::key(5));
  const auto rf = loss::nt_logistic<float>({.temperature = 0.01})(zf);
  CHECK(std::isfinite(rf.value));
  for (float v : rf.dz.values()) CHECK(std::isfinite(v));
  CHECK_THROWS_AS(loss::nt_logistic<float>({.temperature = 0.0}), value_error);
  CHECK_THROWS_AS(loss::nt_logistic<float>({.negative_weight = -1.0}), value_error);
  CHECK_THROWS_AS((void)loss::nt_logistic<float>()(tensor<float>(shape{5, 2})), shape_error);
}
