// Tests of the losses without negatives, Barlow Twins and VICReg: PyTorch fixtures of the
// papers' code, finite differences in double, closed-form cases, float = double, thread-count
// independence, the concept and the option checks.
#include <simclr/loss/barlow_twins.hpp>
#include <simclr/loss/vicreg.hpp>

#include <cmath>
#include <string>

#include <doctest/doctest.h>

#include <simclr/concepts.hpp>
#include <simclr/parallel/thread_pool.hpp>
#include <simclr/random/fill.hpp>
#include <simclr/testing/gradcheck.hpp>
#include <support/loss_fixtures.hpp>

static_assert(simclr::contrastive_loss<simclr::loss::barlow_twins<float>, float, simclr::cpu_t>);
static_assert(simclr::contrastive_loss<simclr::loss::vicreg<double>, double, simclr::cpu_t>);
static_assert(!simclr::contrastive_loss<simclr::loss::vicreg<float>, double, simclr::cpu_t>);

namespace {

using simclr::index_t;
using simclr::shape;
using simclr::tensor;

/// A (2N, D) batch whose second view is correlated with the first (0.7·x + 0.3·noise), scaled.
template <class T>
tensor<T> paired_views(index_t n, index_t d, std::uint64_t seed, double scale = 1.0) {
  tensor<T> z(shape{2 * n, d}, simclr::uninitialized);
  simclr::random::fill_normal(z.view(), simclr::random::key(seed));
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < d; ++j) {
      z(i, j) = static_cast<T>(scale * static_cast<double>(z(i, j)));
      z(i + n, j) = static_cast<T>(0.7 * static_cast<double>(z(i, j)) +
                                   0.3 * scale * static_cast<double>(z(i + n, j)));
    }
  return z;
}

double dz_scale_of(const tensor<double>& dz) {
  double s = 0;
  for (double v : dz.values()) s = std::max(s, std::abs(v));
  return s;
}

}  // namespace

TEST_CASE("barlow_twins and vicreg: values, terms and dz match the papers' code in PyTorch") {
  using namespace simclr;
  const auto fx = test::read_fixture(SIMCLR_LOSS_FIXTURES, "redundancy.json");
  int barlow = 0, vic = 0;
  for (const auto& c : fx["cases"]) {
    const index_t n = c["n"], d = c["d"];
    const std::string kind = c["loss_kind"];
    CAPTURE(kind);
    CAPTURE(n);
    CAPTURE(d);
    const auto z = test::fixture_tensor(c["z"], shape{2 * n, d});
    const auto dz_ref = test::fixture_tensor(c["dz"], shape{2 * n, d});
    const double ref = c["loss"];
    if (kind == "barlow_twins") {
      ++barlow;
      const loss::barlow_twins<double> l({.lambda = c["lambda"], .epsilon = c["epsilon"]});
      const auto r = l(z);
      CHECK(r.value == doctest::Approx(ref).epsilon(1e-12));
      CHECK(r.on_diagonal == doctest::Approx(c["on_diagonal"].get<double>()).epsilon(1e-12));
      CHECK(r.off_diagonal == doctest::Approx(c["off_diagonal"].get<double>()).epsilon(1e-12));
      CHECK(r.mean_diagonal == doctest::Approx(c["mean_diagonal"].get<double>()).epsilon(1e-12));
      CHECK(test::max_relative_error(r.dz, dz_ref, 1e-6 * dz_scale_of(dz_ref)) <= 1e-8);
    } else {
      ++vic;
      const loss::vicreg<double> l({.invariance_weight = c["invariance_weight"],
                                    .variance_weight = c["variance_weight"],
                                    .covariance_weight = c["covariance_weight"],
                                    .variance_target = c["variance_target"],
                                    .epsilon = c["epsilon"]});
      const auto r = l(z);
      CHECK(r.value == doctest::Approx(ref).epsilon(1e-12));
      CHECK(r.invariance == doctest::Approx(c["invariance"].get<double>()).epsilon(1e-12));
      CHECK(r.variance == doctest::Approx(c["variance"].get<double>()).epsilon(1e-12));
      CHECK(r.covariance == doctest::Approx(c["covariance"].get<double>()).epsilon(1e-12));
      CHECK(test::max_relative_error(r.dz, dz_ref, 1e-6 * dz_scale_of(dz_ref)) <= 1e-8);
    }
  }
  CHECK(barlow >= 4);
  CHECK(vic >= 4);
}

TEST_CASE("barlow_twins: analytic gradient agrees with finite differences in double") {
  using namespace simclr;
  struct config {
    index_t n, d;
    double lambda;
  };
  for (const config c : {config{2, 3, 0.0051}, config{6, 5, 0.1}, config{20, 12, 0.0051},
                         config{3, 70, 0.02}}) {
    CAPTURE(c.n);
    CAPTURE(c.d);
    auto z = paired_views<double>(c.n, c.d, 50 + static_cast<std::uint64_t>(c.d));
    const loss::barlow_twins<double> l({.lambda = c.lambda});
    const auto r = l(z);
    auto f = [&] { return l(z).value; };
    const auto g = testing::gradcheck(f, {{"z", z, r.dz}}, {.max_checks = 80});
    CHECK_MESSAGE(g.passed, g.message());
  }
}

TEST_CASE("vicreg: analytic gradient agrees with finite differences in double") {
  using namespace simclr;
  struct config {
    index_t n, d;
    double scale, gamma;
  };
  // Scale 0.4: every hinge active; 3: none; 1: some of each (checked below).
  for (const config c : {config{2, 3, 1.0, 1.0}, config{6, 5, 0.4, 1.0}, config{20, 12, 1.0, 1.0},
                         config{8, 6, 3.0, 1.0}, config{3, 70, 1.0, 0.8}}) {
    CAPTURE(c.n);
    CAPTURE(c.d);
    CAPTURE(c.scale);
    auto z = paired_views<double>(c.n, c.d, 60 + static_cast<std::uint64_t>(c.d), c.scale);
    const loss::vicreg<double> l({.variance_target = c.gamma});
    const auto r = l(z);
    auto f = [&] { return l(z).value; };
    const auto g = testing::gradcheck(f, {{"z", z, r.dz}}, {.max_checks = 80});
    CHECK_MESSAGE(g.passed, g.message());
    if (c.scale == 0.4) CHECK(r.variance > 0.3);
    if (c.scale == 3.0) CHECK(r.variance == 0.0);
  }
}

TEST_CASE("barlow_twins and vicreg: closed-form cases") {
  using namespace simclr;
  // Identical views with decorrelated features: ±1 patterns of a Hadamard matrix (N = D = 4,
  // zero-mean columns with variance 1, orthogonal). C = I·1/(1 + ε): Barlow Twins is D·(ε/(1+ε))²
  // with no off-diagonal term; VICReg has no invariance, no covariance, and std = √(4/3 + ε) > 1.
  const double h[4][4] = {{1, 1, 1, 1}, {1, -1, 1, -1}, {1, 1, -1, -1}, {1, -1, -1, 1}};
  tensor<double> z(shape{8, 3});
  for (index_t i = 0; i < 4; ++i)
    for (index_t j = 0; j < 3; ++j) z(i, j) = z(i + 4, j) = h[i][j + 1];
  const auto bt = loss::barlow_twins<double>()(z);
  const double eps = 1e-5, diag = 1.0 / (1.0 + eps);
  CHECK(bt.value == doctest::Approx(3.0 * (1.0 - diag) * (1.0 - diag)).epsilon(1e-9));
  CHECK(bt.off_diagonal == doctest::Approx(0.0).epsilon(1e-20));
  CHECK(bt.mean_diagonal == doctest::Approx(diag).epsilon(1e-14));
  const auto vr = loss::vicreg<double>()(z);
  CHECK(vr.invariance == 0.0);
  CHECK(vr.variance == 0.0);
  CHECK(vr.covariance == doctest::Approx(0.0).epsilon(1e-20));
  CHECK(vr.value == doctest::Approx(0.0).epsilon(1e-20));
  // Collapse: every embedding equal. Barlow Twins: C = 0, L = D; VICReg: the variance term is
  // γ − √ε per feature and nothing else.
  tensor<double> flat(shape{8, 3});
  for (index_t i = 0; i < 8; ++i)
    for (index_t j = 0; j < 3; ++j) flat(i, j) = 0.25 * static_cast<double>(j);
  CHECK(loss::barlow_twins<double>()(flat).value == doctest::Approx(3.0));
  const auto collapsed = loss::vicreg<double>()(flat);
  CHECK(collapsed.variance == doctest::Approx(1.0 - std::sqrt(1e-4)));
  CHECK(collapsed.value == doctest::Approx(25.0 * (1.0 - std::sqrt(1e-4))));
}

TEST_CASE("barlow_twins and vicreg: float agrees with double - results do not depend on threads") {
  using namespace simclr;
  const auto zd = paired_views<double>(256, 128, 7);
  tensor<float> zf(zd.shape());
  for (index_t i = 0; i < zd.numel(); ++i) zf.data()[i] = static_cast<float>(zd.data()[i]);
  auto compare = [&](const auto& rd, const auto& rf) {
    CHECK(rf.value == doctest::Approx(rd.value).epsilon(1e-4));
    CHECK(test::float_error(rf.dz, rd.dz) <= 1e-4);
  };
  compare(loss::barlow_twins<double>()(zd), loss::barlow_twins<float>()(zf));
  compare(loss::vicreg<double>()(zd), loss::vicreg<float>()(zf));
  parallel::set_num_threads(1);
  const auto b1 = loss::barlow_twins<float>()(zf);
  const auto v1 = loss::vicreg<float>()(zf);
  parallel::set_num_threads(2);
  const auto b2 = loss::barlow_twins<float>()(zf);
  const auto v2 = loss::vicreg<float>()(zf);
  CHECK(b1.value == b2.value);
  CHECK(v1.value == v2.value);
  CHECK(std::equal(b1.dz.values().begin(), b1.dz.values().end(), b2.dz.values().begin()));
  CHECK(std::equal(v1.dz.values().begin(), v1.dz.values().end(), v2.dz.values().begin()));
}

TEST_CASE("barlow_twins and vicreg: bad options and batches are reported clearly") {
  using namespace simclr;
  CHECK_THROWS_WITH_AS(loss::barlow_twins<float>({.lambda = -1.0}),
                       doctest::Contains("lambda is -1"), value_error);
  CHECK_THROWS_WITH_AS(loss::barlow_twins<float>({.epsilon = 0.0}),
                       doctest::Contains("epsilon is 0"), value_error);
  CHECK_THROWS_WITH_AS(loss::vicreg<float>({.covariance_weight = NAN}),
                       doctest::Contains("covariance_weight"), value_error);
  CHECK_THROWS_WITH_AS(loss::vicreg<float>({.variance_target = 0.0}),
                       doctest::Contains("variance_target is 0"), value_error);
  const tensor<float> one_image(shape{2, 4});
  CHECK_THROWS_WITH_AS((void)loss::barlow_twins<float>()(one_image),
                       doctest::Contains("expected 2N ≥ 4"), shape_error);
  CHECK_THROWS_WITH_AS((void)loss::vicreg<float>()(one_image), doctest::Contains("expected 2N ≥ 4"),
                       shape_error);
  tensor<float> bad = paired_views<float>(4, 3, 1);
  bad(5, 1) = NAN;
  CHECK_THROWS_WITH_AS((void)loss::barlow_twins<float>()(bad), doctest::Contains("NaN"), value_error);
  bad(5, 1) = INFINITY;
  CHECK_THROWS_WITH_AS((void)loss::vicreg<float>()(bad), doctest::Contains("NaN or an infinity"),
                       value_error);
  const tensor<float> odd(shape{5, 4});
  CHECK_THROWS_AS((void)loss::vicreg<float>()(odd), shape_error);
}
