// Tests of DCL and DCLW (nt_xent_options::decoupled, positive_weight_sigma): PyTorch fixtures of
// the paper's reference code, finite differences on both CPU algorithms, the collapse value, the
// distributed form, thread-count independence and the option checks.
#include <simclr/loss/nt_xent.hpp>

#include <cmath>
#include <numeric>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/parallel/thread_pool.hpp>
#include <simclr/random/fill.hpp>
#include <simclr/testing/gradcheck.hpp>
#include <support/loss_fixtures.hpp>

namespace {

simclr::loss::nt_xent_options dcl_options(double tau, double sigma) {
  return {.temperature = tau, .decoupled = true, .positive_weight_sigma = sigma};
}

}  // namespace

TEST_CASE("dcl: value - dz - top-1 and entropy match the paper's code in PyTorch (float64)") {
  using namespace simclr;
  const auto fx = test::read_fixture(SIMCLR_LOSS_FIXTURES, "dcl.json");
  REQUIRE(fx["cases"].size() >= 10);
  int weighted = 0;
  for (const auto& c : fx["cases"]) {
    const index_t n = c["n"], d = c["d"];
    const double tau = c["temperature"], sigma = c["sigma"];
    CAPTURE(n);
    CAPTURE(tau);
    CAPTURE(sigma);
    weighted += sigma > 0.0 ? 1 : 0;
    const auto z = test::fixture_tensor(c["z"], shape{2 * n, d});
    const auto dz_ref = test::fixture_tensor(c["dz"], shape{2 * n, d});
    loss::nt_xent<double> l(dcl_options(tau, sigma));
    const auto full = l(z);
    std::vector<index_t> all(static_cast<std::size_t>(2 * n));
    std::iota(all.begin(), all.end(), index_t{0});
    const auto general = l.partial(z, all);  // the anchor-subset algorithm on every row
    const double ref = c["loss"];
    double dz_scale = 0;
    for (double v : dz_ref.values()) dz_scale = std::max(dz_scale, std::abs(v));
    CHECK(std::abs(full.value - ref) <= 1e-12 * std::max(1.0, std::abs(ref)));
    CHECK(std::abs(general.value - ref) <= 1e-12 * std::max(1.0, std::abs(ref)));
    CHECK(test::max_relative_error(full.dz, dz_ref, 1e-6 * dz_scale) <= 1e-8);
    CHECK(test::max_relative_error(general.d_gathered, dz_ref, 1e-6 * dz_scale) <= 1e-8);
    CHECK(full.top1_accuracy == doctest::Approx(c["top1"].get<double>()).epsilon(1e-12));
    CHECK(full.mean_entropy == doctest::Approx(c["entropy"].get<double>()).epsilon(1e-9));
  }
  CHECK(weighted >= 4);
}

TEST_CASE("dcl: analytic gradients agree with finite differences in double") {
  using namespace simclr;
  struct config {
    index_t n, d;
    double tau, sigma;
    bool decoupled;
  };
  // τ = 0.002 runs the general algorithm, the others the symmetric one; 2N = 260 has three
  // blocks; the last two weight the positives without decoupling (the options compose).
  for (const config c : {config{2, 3, 0.5, 0.0, true}, config{5, 6, 0.1, 0.0, true},
                         config{3, 3, 0.002, 0.0, true}, config{130, 3, 0.2, 0.0, true},
                         config{2, 3, 0.5, 0.5, true}, config{5, 6, 0.1, 0.5, true},
                         config{4, 4, 0.002, 0.3, true}, config{130, 3, 0.2, 0.5, true},
                         config{5, 6, 0.2, 0.5, false}, config{4, 4, 0.002, 0.5, false}}) {
    CAPTURE(c.n);
    CAPTURE(c.tau);
    CAPTURE(c.sigma);
    CAPTURE(c.decoupled);
    auto z = simclr::test::random_rows<double>(2 * c.n, c.d, 40 + static_cast<std::uint64_t>(c.n));
    loss::nt_xent<double> l({.temperature = c.tau,
                             .decoupled = c.decoupled,
                             .positive_weight_sigma = c.sigma});
    const auto r = l(z);
    auto f = [&] { return l(z).value; };
    const auto g = testing::gradcheck(f, {{"z", z, r.dz}}, {.max_checks = 60});
    CHECK_MESSAGE(g.passed, g.message());
    // And the distributed form on a subset of anchors (its own weight-gradient counts).
    std::vector<index_t> some;
    for (index_t i = 0; i < 2 * c.n; i += 3) some.push_back(i);
    const auto p = l.partial(z, some);
    auto fp = [&] { return l.partial(z, some).value; };
    const auto gp = testing::gradcheck(fp, {{"gathered", z, p.d_gathered}}, {.max_checks = 60});
    CHECK_MESSAGE(gp.passed, gp.message());
  }
}

TEST_CASE("dcl: decoupling changes NT-Xent and the weights change DCL") {
  using namespace simclr;
  const auto z = simclr::test::random_rows<double>(16, 5, 3);
  const double plain = loss::nt_xent<double>({.temperature = 0.2})(z).value;
  const double dcl = loss::nt_xent<double>(dcl_options(0.2, 0.0))(z).value;
  const double dclw = loss::nt_xent<double>(dcl_options(0.2, 0.5))(z).value;
  // log Σ without the positive is smaller, so ℓ drops: DCL < NT-Xent.
  CHECK(dcl < plain - 1e-3);
  CHECK(std::abs(dclw - dcl) > 1e-6);
}

TEST_CASE("dcl: all-equal embeddings give log(2N - 2) and raise the collapse flag") {
  using namespace simclr;
  for (index_t n : {2, 3, 64, 200}) {
    tensor<double> z(shape{2 * n, 4});
    for (index_t i = 0; i < 2 * n; ++i)
      for (index_t j = 0; j < 4; ++j) z(i, j) = 0.5 + static_cast<double>(j);
    for (double sigma : {0.0, 0.5}) {
      CAPTURE(n);
      CAPTURE(sigma);
      const auto r = loss::nt_xent<double>(dcl_options(0.1, sigma))(z);
      const double collapse = std::log(2.0 * static_cast<double>(n) - 2.0);
      CHECK(r.value == doctest::Approx(collapse).epsilon(1e-12));
      CHECK(r.collapse_value == doctest::Approx(collapse));
      CHECK(r.near_collapse);
      CHECK(r.mean_entropy == doctest::Approx(collapse));
      for (double v : r.dz.values()) CHECK(std::abs(v) < 1e-10);
    }
  }
}

TEST_CASE("dcl: float agrees with double on both algorithms") {
  using namespace simclr;
  const auto zd = simclr::test::random_rows<double>(600, 32, 22);
  tensor<float> zf(zd.shape());
  for (index_t i = 0; i < zd.numel(); ++i) zf.data()[i] = static_cast<float>(zd.data()[i]);
  for (double tau : {0.5, 0.1, 0.02}) {  // 0.02: the general algorithm in float
    for (double sigma : {0.0, 0.5}) {
      CAPTURE(tau);
      CAPTURE(sigma);
      const auto rd = loss::nt_xent<double>(dcl_options(tau, sigma))(zd);
      const auto rf = loss::nt_xent<float>(dcl_options(tau, sigma))(zf);
      CHECK(rf.value == doctest::Approx(rd.value).epsilon(1e-5));
      CHECK(test::float_error(rf.dz, rd.dz) <= 1e-4);
    }
  }
}

TEST_CASE("dcl: k workers with the gathered batch equal one worker on the whole batch") {
  using namespace simclr;
  const index_t n = 12, rows = 2 * n, d = 5;
  const auto z = simclr::test::random_rows<double>(rows, d, 31);
  for (double sigma : {0.0, 0.5}) {
    loss::nt_xent<double> single(dcl_options(0.2, sigma));
    const auto whole = single(z);
    for (index_t k : {2, 3, 4}) {
      CAPTURE(sigma);
      CAPTURE(k);
      double value = 0;
      tensor<double> summed(z.shape());
      for (index_t w = 0; w < k; ++w) {
        std::vector<index_t> owned;
        for (index_t i = w * n / k; i < (w + 1) * n / k; ++i) {
          owned.push_back(i);
          owned.push_back(i + n);
        }
        const auto part = single.partial(z, owned);
        value += part.value;
        for (index_t e = 0; e < z.numel(); ++e) summed.data()[e] += part.d_gathered.data()[e];
      }
      CHECK(value == doctest::Approx(whole.value).epsilon(1e-13));
      CHECK(test::max_relative_error(summed, whole.dz, 1e-10) <= 1e-10);
    }
  }
}

TEST_CASE("dcl: results are bit-identical with 1 and 2 threads") {
  using namespace simclr;
  const auto z = simclr::test::random_rows<float>(520, 24, 8);
  loss::nt_xent<float> l(dcl_options(0.1, 0.5));
  parallel::set_num_threads(1);
  const auto r1 = l(z);
  parallel::set_num_threads(2);
  const auto r2 = l(z);
  CHECK(r1.value == r2.value);
  CHECK(std::equal(r1.dz.values().begin(), r1.dz.values().end(), r2.dz.values().begin()));
}

TEST_CASE("dcl: bad options and batches are reported clearly") {
  using namespace simclr;
  CHECK_THROWS_WITH_AS(loss::nt_xent<float>(dcl_options(0.5, -1.0)),
                       doctest::Contains("positive_weight_sigma is -1"), value_error);
  CHECK_THROWS_WITH_AS(loss::nt_xent<float>(dcl_options(0.5, INFINITY)),
                       doctest::Contains("positive_weight_sigma"), value_error);
  const auto pair = simclr::test::random_rows<float>(2, 3, 1);
  loss::nt_xent<float> l(dcl_options(0.5, 0.0));
  CHECK_THROWS_WITH_AS((void)l(pair), doctest::Contains("expected 2N ≥ 4"), shape_error);
  CHECK_THROWS_WITH_AS((void)l.partial(pair, std::vector<index_t>{0}),
                       doctest::Contains("expected 2N ≥ 4"), shape_error);
}
