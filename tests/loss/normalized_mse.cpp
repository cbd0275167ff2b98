// Tests of simclr::loss::normalized_mse (BYOL's loss): PyTorch fixtures, finite differences,
// closed forms and input checks.
#include <simclr/loss/normalized_mse.hpp>

#include <cmath>

#include <doctest/doctest.h>

#include <simclr/random/fill.hpp>
#include <simclr/testing/gradcheck.hpp>
#include <support/loss_fixtures.hpp>

using namespace simclr;

TEST_CASE("normalized_mse: value, dp and mean cosine match PyTorch (float64 fixtures)") {
  const auto fx = test::read_fixture(SIMCLR_LOSS_FIXTURES, "byol.json");
  int seen = 0;
  for (const auto& c : fx["cases"]) {
    ++seen;
    const index_t n = c["n"], d = c["d"];
    const auto p = test::fixture_tensor(c["p"], shape{2 * n, d});
    const auto t = test::fixture_tensor(c["t"], shape{2 * n, d});
    const auto dp_ref = test::fixture_tensor(c["dp"], shape{2 * n, d});
    const loss::normalized_mse<double> l({.swap_halves = c["swap_halves"].get<bool>()});
    const auto r = l(p, t);
    CHECK(r.value == doctest::Approx(c["loss"].get<double>()).epsilon(1e-12));
    CHECK(r.mean_cosine == doctest::Approx(c["mean_cosine"].get<double>()).epsilon(1e-12));
    CHECK(test::max_relative_error(r.dp, dp_ref, 1e-9) <= 1e-9);
  }
  CHECK(seen == 5);
}

TEST_CASE("normalized_mse: analytic gradient agrees with finite differences in double") {
  for (const bool swap : {true, false}) {
    tensor<double> p(shape{10, 6}), t(shape{10, 6});
    random::fill_normal(p.view(), random::key(11));
    random::fill_normal(t.view(), random::key(12));
    const loss::normalized_mse<double> l({.swap_halves = swap});
    const auto r = l(p, t);
    auto f = [&] { return l(p, t).value; };
    const auto g = testing::gradcheck(f, {{"p", p, r.dp}});
    CHECK_MESSAGE(g.passed, g.message());
  }
}

TEST_CASE("normalized_mse: closed forms, scale invariance, float and input checks") {
  // 2N = 2, swapped: p_0 meets t_1 and p_1 meets t_0; value = (1/N)·Σ (2 − 2 cos).
  tensor<double> p(shape{2, 2}, {1.0, 0.0, 0.0, 3.0});
  tensor<double> t(shape{2, 2}, {0.0, 2.0, 0.6, 0.8});
  const auto r = loss::normalized_mse<double>()(p, t);
  const double c0 = 0.6, c1 = 1.0;  // cos(p_0, t_1), cos(p_1, t_0)
  CHECK(r.value == doctest::Approx((2 - 2 * c0) + (2 - 2 * c1)).epsilon(1e-14));
  CHECK(r.mean_cosine == doctest::Approx((c0 + c1) / 2).epsilon(1e-14));
  // Row 1 already points along its target: no gradient.
  CHECK(std::abs(r.dp(1, 0)) < 1e-15);
  CHECK(std::abs(r.dp(1, 1)) < 1e-15);
  // Row-wise: identical rows give 0, opposite rows 4 (the range's ends).
  const auto same = loss::normalized_mse<double>({.swap_halves = false})(p, p);
  CHECK(same.value == doctest::Approx(0.0));
  tensor<double> minus_p(shape{2, 2}, {-1.0, 0.0, 0.0, -3.0});
  CHECK(loss::normalized_mse<double>({.swap_halves = false})(p, minus_p).value ==
        doctest::Approx(4.0));
  // Scaling a prediction row changes neither value nor direction of learning; dp scales by 1/s.
  tensor<double> p2(shape{2, 2}, {10.0, 0.0, 0.0, 3.0});
  const auto r2 = loss::normalized_mse<double>()(p2, t);
  CHECK(r2.value == doctest::Approx(r.value).epsilon(1e-14));
  CHECK(r2.dp(0, 1) == doctest::Approx(r.dp(0, 1) / 10.0).epsilon(1e-12));
  // float agrees with double.
  tensor<float> pf(shape{64, 16}), tf(shape{64, 16});
  random::fill_normal(pf.view(), random::key(5));
  random::fill_normal(tf.view(), random::key(6));
  const auto rf = loss::normalized_mse<float>()(pf, tf);
  auto to_double = [](const tensor<float>& x) {
    tensor<double> y(x.shape(), uninitialized);
    for (index_t i = 0; i < x.numel(); ++i) y.data()[i] = x.data()[i];
    return y;
  };
  const auto rd = loss::normalized_mse<double>()(to_double(pf), to_double(tf));
  CHECK(rf.value == doctest::Approx(rd.value).epsilon(1e-5));
  CHECK(test::max_relative_error(rf.dp, rd.dp, 1e-3) <= 1e-4);
  // Bad input: odd rows, mismatched shapes, a zero row, a NaN, ε ≤ 0.
  CHECK_THROWS_AS(
      (void)loss::normalized_mse<float>()(tensor<float>(shape{3, 2}), tensor<float>(shape{3, 2})),
      shape_error);
  CHECK_THROWS_AS((void)loss::normalized_mse<double>()(p, tensor<double>(shape{2, 3})),
                  shape_error);
  tensor<double> zero_row(shape{2, 2}, {1.0, 0.0, 0.0, 0.0});
  CHECK_THROWS_WITH_AS((void)loss::normalized_mse<double>()(p, zero_row),
                       doctest::Contains("normalized_mse (targets): row 1"), value_error);
  CHECK_NOTHROW((void)loss::normalized_mse<double>({.allow_small_rows = true})(p, zero_row));
  tensor<double> nan_row(shape{2, 2}, {std::nan(""), 0.0, 0.0, 1.0});
  CHECK_THROWS_WITH_AS((void)loss::normalized_mse<double>()(nan_row, t),
                       doctest::Contains("normalized_mse (predictions): row 0"), value_error);
  CHECK_THROWS_AS(loss::normalized_mse<float>({.norm_epsilon = 0.0}), value_error);
}
