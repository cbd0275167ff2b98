// Tests of simclr::loss::margin_triplet: PyTorch fixtures, finite differences, semi-hard mining.
#include <simclr/loss/margin_triplet.hpp>

#include <cmath>

#include <doctest/doctest.h>

#include <simclr/concepts.hpp>
#include <simclr/random/fill.hpp>
#include <simclr/testing/gradcheck.hpp>
#include <support/loss_fixtures.hpp>

using namespace simclr;

static_assert(contrastive_loss<loss::margin_triplet<float>, float, cpu_t>);
static_assert(contrastive_loss<loss::margin_triplet<double>, double, cpu_t>);

TEST_CASE("margin_triplet: value and dz match PyTorch with and without semi-hard mining") {
  const auto fx = test::read_fixture(SIMCLR_LOSS_FIXTURES, "pairwise.json");
  int seen = 0;
  for (const auto& c : fx["cases"]) {
    if (c["loss_kind"] != "margin_triplet") continue;
    ++seen;
    const index_t n = c["n"], d = c["d"];
    const auto z = test::fixture_tensor(c["z"], shape{2 * n, d});
    const auto dz_ref = test::fixture_tensor(c["dz"], shape{2 * n, d});
    const loss::margin_triplet<double> l({.margin = c["margin"], .semi_hard = c["semi_hard"]});
    const auto r = l(z);
    CHECK(r.value == doctest::Approx(c["loss"].get<double>()).epsilon(1e-12));
    CHECK(test::max_relative_error(r.dz, dz_ref, 1e-9) <= 1e-9);
  }
  CHECK(seen == 4);
}

TEST_CASE("margin_triplet: analytic gradient agrees with finite differences in double") {
  for (bool semi_hard : {false, true}) {
    for (double m : {0.2, 0.5, 1.5}) {
      tensor<double> z(shape{12, 5});
      random::fill_normal(z.view(), random::key(8));
      const loss::margin_triplet<double> l({.margin = m, .semi_hard = semi_hard});
      const auto r = l(z);
      CHECK(r.value > 0.0);
      auto f = [&] { return l(z).value; };
      const auto g = testing::gradcheck(f, {{"z", z, r.dz}}, {.step = 1e-7});
      CHECK_MESSAGE(g.passed, g.message());
    }
  }
}

namespace {
/// Brute-force margin triplet value: cosines, then the negatives each anchor uses.
double brute_force(const tensor<double>& z, double m, bool semi_hard) {
  const index_t rows = z.extent(0), d = z.extent(1);
  auto cosine = [&](index_t a, index_t b) {
    double ab = 0, aa = 0, bb = 0;
    for (index_t j = 0; j < d; ++j) {
      ab += z(a, j) * z(b, j);
      aa += z(a, j) * z(a, j);
      bb += z(b, j) * z(b, j);
    }
    return ab / std::sqrt(aa * bb);
  };
  double total = 0;
  for (index_t i = 0; i < rows; ++i) {
    const index_t p = (i + rows / 2) % rows;
    const double cp = cosine(i, p);
    if (!semi_hard) {
      double sum = 0;
      for (index_t k = 0; k < rows; ++k)
        if (k != i && k != p) sum += std::max(cosine(i, k) - cp + m, 0.0);
      total += sum / static_cast<double>(rows - 2);
    } else {
      double below = -INFINITY, lowest = INFINITY;
      for (index_t k = 0; k < rows; ++k) {
        if (k == i || k == p) continue;
        const double ck = cosine(i, k);
        if (ck < cp) below = std::max(below, ck);
        lowest = std::min(lowest, ck);
      }
      total += std::max((std::isfinite(below) ? below : lowest) - cp + m, 0.0);
    }
  }
  return total / static_cast<double>(rows);
}
}  // namespace

TEST_CASE("margin_triplet: semi-hard picks the most similar negative below the positive") {
  tensor<double> z(shape{10, 3});
  random::fill_normal(z.view(), random::key(12));
  for (double m : {0.1, 0.5}) {
    const double semi = loss::margin_triplet<double>({.margin = m, .semi_hard = true})(z).value;
    const double all = loss::margin_triplet<double>({.margin = m, .semi_hard = false})(z).value;
    CHECK(semi == doctest::Approx(brute_force(z, m, true)).epsilon(1e-13));
    CHECK(all == doctest::Approx(brute_force(z, m, false)).epsilon(1e-13));
    CHECK(semi != doctest::Approx(all));
  }
  // An anchor whose every negative is more similar than its positive falls back to the least
  // similar negative: anchor 0 = (1, 0), positive (row 2) at cosine 0, negatives at 0.9, 0.8.
  tensor<double> hard(shape{4, 2}, {1.0, 0.0, 0.9, std::sqrt(1 - 0.81), 0.0, 1.0, 0.8, 0.6});
  CHECK(loss::margin_triplet<double>({.margin = 0.5, .semi_hard = true})(hard).value ==
        doctest::Approx(brute_force(hard, 0.5, true)).epsilon(1e-13));
  CHECK_THROWS_AS(loss::margin_triplet<float>({.margin = -0.1}), value_error);
  // No negatives at 2N = 2: the loss is 0.
  tensor<float> two(shape{2, 3}, {1, 0, 0, 0, 1, 0});
  CHECK(loss::margin_triplet<float>()(two).value == 0.0);
}
