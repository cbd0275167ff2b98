// Tests of simclr::loss::nt_xent: PyTorch fixtures, finite differences, the closed-form oracles,
// numerical safety, input checks, thread-count independence and the distributed form.
#include <simclr/loss/nt_xent.hpp>

#include <cmath>
#include <numeric>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/concepts.hpp>
#include <simclr/parallel/thread_pool.hpp>
#include <simclr/random/fill.hpp>
#include <simclr/testing/gradcheck.hpp>
#include <support/loss_fixtures.hpp>

using namespace simclr;

static_assert(contrastive_loss<loss::nt_xent<float>, float, cpu_t>);
static_assert(contrastive_loss<loss::nt_xent<double>, double, cpu_t>);
static_assert(!contrastive_loss<loss::nt_xent<float>, double, cpu_t>);  // scalar types differ

namespace {

template <class T>
tensor<T> random_batch(index_t rows, index_t d, std::uint64_t seed) {
  tensor<T> z(shape{rows, d}, uninitialized);
  random::fill_normal(z.view(), random::key(seed));
  return z;
}

/// A straightforward double-precision NT-Xent value (no blocking, no symmetry).
double reference_value(const tensor<double>& z, double tau) {
  const index_t rows = z.extent(0), d = z.extent(1);
  std::vector<double> u(static_cast<std::size_t>(rows * d));
  for (index_t i = 0; i < rows; ++i) {
    double s = 0;
    for (index_t j = 0; j < d; ++j) s += z(i, j) * z(i, j);
    for (index_t j = 0; j < d; ++j) u[static_cast<std::size_t>(i * d + j)] = z(i, j) / std::sqrt(s);
  }
  auto dot = [&](index_t a, index_t b) {
    double s = 0;
    for (index_t j = 0; j < d; ++j)
      s += u[static_cast<std::size_t>(a * d + j)] * u[static_cast<std::size_t>(b * d + j)];
    return s / tau;
  };
  double total = 0;
  for (index_t i = 0; i < rows; ++i) {
    double mx = -INFINITY;
    for (index_t k = 0; k < rows; ++k)
      if (k != i) mx = std::max(mx, dot(i, k));
    double acc = 0;
    for (index_t k = 0; k < rows; ++k)
      if (k != i) acc += std::exp(dot(i, k) - mx);
    total += mx + std::log(acc) - dot(i, (i + rows / 2) % rows);
  }
  return total / static_cast<double>(rows);
}

bool all_finite(const tensor<float>& t) {
  for (float v : t.values())
    if (!std::isfinite(v)) return false;
  return true;
}

}  // namespace

TEST_CASE("nt_xent: value - dz - top-1 and entropy match PyTorch (float64 fixtures)") {
  const auto fx = test::read_fixture(SIMCLR_LOSS_FIXTURES, "nt_xent.json");
  REQUIRE(fx["cases"].size() >= 8);
  for (const auto& c : fx["cases"]) {
    const index_t n = c["n"], d = c["d"];
    const double tau = c["temperature"];
    CAPTURE(n);
    CAPTURE(d);
    CAPTURE(tau);
    const auto z = test::fixture_tensor(c["z"], shape{2 * n, d});
    const auto dz_ref = test::fixture_tensor(c["dz"], shape{2 * n, d});
    loss::nt_xent<double> l({.temperature = tau});
    const auto r = l(z);
    const double ref = c["loss"];
    CHECK(std::abs(r.value - ref) <= 1e-5 * std::abs(ref));
    CHECK(std::abs(r.value - ref) <= 1e-12 * std::max(1.0, std::abs(ref)));
    double dz_scale = 0;
    for (double v : dz_ref.values()) dz_scale = std::max(dz_scale, std::abs(v));
    CHECK(test::max_relative_error(r.dz, dz_ref, 1e-6 * dz_scale) <= 1e-5);
    CHECK(r.top1_accuracy == doctest::Approx(c["top1"].get<double>()).epsilon(1e-12));
    CHECK(r.mean_entropy == doctest::Approx(c["entropy"].get<double>()).epsilon(1e-9));
  }
}

TEST_CASE("nt_xent: analytic gradient agrees with finite differences in double") {
  struct config {
    index_t n, d;
    double tau;
  };
  // τ = 0.002 runs the general (row-max) algorithm, the others the symmetric one; 2N = 260 has
  // three blocks of the CPU kernel (checked on a subset of elements).
  for (const config c : {config{1, 3, 0.5}, config{3, 4, 0.5}, config{4, 2, 0.05},
                         config{5, 6, 0.1}, config{3, 3, 0.002}, config{130, 3, 0.2}}) {
    CAPTURE(c.n);
    CAPTURE(c.tau);
    auto z = random_batch<double>(2 * c.n, c.d, 11 + static_cast<std::uint64_t>(c.n));
    loss::nt_xent<double> l({.temperature = c.tau});
    const auto r = l(z);
    auto f = [&] { return l(z).value; };
    const auto g = testing::gradcheck(f, {{"z", z, r.dz}}, {.max_checks = 60});
    CHECK_MESSAGE(g.passed, g.message());
  }
}

TEST_CASE("nt_xent: the symmetric and the general algorithm agree with a plain reference") {
  const auto z = random_batch<double>(300, 9, 5);
  for (double tau : {0.5, 0.1, 0.05, 0.002}) {
    CAPTURE(tau);
    loss::nt_xent<double> l({.temperature = tau});
    const auto full = l(z);
    std::vector<index_t> all(300);
    std::iota(all.begin(), all.end(), index_t{0});
    const auto general = l.partial(z, all);
    const double ref = reference_value(z, tau);
    CHECK(full.value == doctest::Approx(ref).epsilon(1e-12));
    CHECK(general.value == doctest::Approx(ref).epsilon(1e-12));
    CHECK(test::max_relative_error(full.dz, general.d_gathered, 1e-8) <= 1e-9);
  }
}

TEST_CASE("nt_xent: all-equal embeddings give log(2N - 1) and raise the collapse flag") {
  for (index_t n : {1, 3, 64, 200}) {
    tensor<double> z(shape{2 * n, 4});
    for (index_t i = 0; i < 2 * n; ++i)
      for (index_t j = 0; j < 4; ++j) z(i, j) = 0.5 + static_cast<double>(j);
    for (double tau : {0.5, 0.1}) {
      loss::nt_xent<double> l({.temperature = tau});
      const auto r = l(z);
      CHECK(r.value == doctest::Approx(std::log(2.0 * static_cast<double>(n) - 1.0)).epsilon(1e-12));
      CHECK(r.collapse_value == doctest::Approx(std::log(2.0 * static_cast<double>(n) - 1.0)));
      if (n == 1) {  // 2N = 2 has no negatives: L = 0 for every batch, no collapse to flag
        CHECK_FALSE(r.near_collapse);
        continue;
      }
      CHECK(r.near_collapse);
      CHECK(r.top1_accuracy == 0.0);  // ties: the positive is not strictly the arg-max
      CHECK(r.mean_entropy == doctest::Approx(std::log(2.0 * static_cast<double>(n) - 1.0)));
      for (double v : r.dz.values()) CHECK(std::abs(v) < 1e-12);
    }
  }
  // A well-separated batch is far from collapse and has top-1 = 1.
  tensor<double> z(shape{8, 4});
  for (index_t i = 0; i < 4; ++i) {
    z(i, i) = 1.0;
    z(i + 4, i) = 1.0;
    z(i + 4, (i + 1) % 4) = 0.1;
  }
  const auto r = loss::nt_xent<double>({.temperature = 0.1})(z);
  CHECK_FALSE(r.near_collapse);
  CHECK(r.top1_accuracy == 1.0);
  CHECK(r.mean_entropy < 0.01);
}

TEST_CASE("nt_xent: scale invariance - and dz_i is orthogonal to z_i") {
  auto z = random_batch<double>(40, 7, 3);
  loss::nt_xent<double> l({.temperature = 0.2});
  const auto r0 = l(z);
  auto scaled = z;
  for (index_t i = 0; i < 40; ++i)
    for (index_t j = 0; j < 7; ++j) scaled(i, j) *= 0.01 + 0.37 * static_cast<double>(i);
  const auto r1 = l(scaled);
  CHECK(r1.value == doctest::Approx(r0.value).epsilon(1e-12));
  for (index_t i = 0; i < 40; ++i) {
    double dot = 0, nz = 0, ng = 0, dot_scaled = 0;
    for (index_t j = 0; j < 7; ++j) {
      dot += r0.dz(i, j) * z(i, j);
      nz += z(i, j) * z(i, j);
      ng += r0.dz(i, j) * r0.dz(i, j);
      dot_scaled += r1.dz(i, j) * scaled(i, j);
    }
    CHECK(std::abs(dot) <= 1e-12 * std::sqrt(nz * ng));
    CHECK(std::abs(dot_scaled) <= 1e-10 * std::sqrt(nz * ng));
    // dz scales as 1/c.
    const double c = 0.01 + 0.37 * static_cast<double>(i);
    CHECK(r1.dz(i, 0) * c == doctest::Approx(r0.dz(i, 0)).epsilon(1e-9));
  }
}

TEST_CASE("nt_xent: no NaN or Inf at tau 0.01 with nearly identical embeddings") {
  for (index_t rows : {4, 64, 520}) {
    CAPTURE(rows);
    auto noise = random_batch<float>(rows, 16, 9);
    tensor<float> z(shape{rows, 16});
    for (index_t i = 0; i < rows; ++i)
      for (index_t j = 0; j < 16; ++j) z(i, j) = 1.0f + 1e-4f * noise(i, j);
    for (double tau : {0.01, 0.05, 0.5}) {
      loss::nt_xent<float> l({.temperature = tau});
      const auto r = l(z);
      CHECK(std::isfinite(r.value));
      CHECK(all_finite(r.dz));
      CHECK(r.value == doctest::Approx(std::log(static_cast<double>(rows) - 1.0)).epsilon(0.05));
    }
    // Far-apart embeddings at τ = 0.01: logits span ±100, exp would overflow unshifted.
    auto spread = random_batch<float>(rows, 16, 10);
    const auto r = loss::nt_xent<float>({.temperature = 0.01})(spread);
    CHECK(std::isfinite(r.value));
    CHECK(all_finite(r.dz));
    tensor<double> spread_d(shape{rows, 16});
    for (index_t i = 0; i < spread.numel(); ++i) spread_d.data()[i] = spread.data()[i];
    CHECK(r.value == doctest::Approx(reference_value(spread_d, 0.01)).epsilon(1e-4));
  }
}

TEST_CASE("nt_xent: float agrees with double on both algorithms") {
  const auto zd = random_batch<double>(600, 32, 21);
  tensor<float> zf(zd.shape());
  for (index_t i = 0; i < zd.numel(); ++i) zf.data()[i] = static_cast<float>(zd.data()[i]);
  for (double tau : {0.5, 0.1, 0.02}) {  // 0.02 < 2/80: the general algorithm in float
    CAPTURE(tau);
    const auto rd = loss::nt_xent<double>({.temperature = tau})(zd);
    const auto rf = loss::nt_xent<float>({.temperature = tau})(zf);
    CHECK(rf.value == doctest::Approx(rd.value).epsilon(1e-5));
    double scale = 0, err = 0;
    for (index_t i = 0; i < zd.numel(); ++i) {
      scale = std::max(scale, std::abs(rd.dz.data()[i]));
      err = std::max(err, std::abs(static_cast<double>(rf.dz.data()[i]) - rd.dz.data()[i]));
    }
    CHECK(err <= 1e-4 * scale);
  }
}

TEST_CASE("nt_xent: the TF reference scale doubles the value and the gradient") {
  const auto z = random_batch<double>(12, 5, 4);
  const auto r1 = loss::nt_xent<double>({.temperature = 0.3})(z);
  const auto r2 = loss::nt_xent<double>({.temperature = 0.3, .scale = loss::nt_xent_scale::tf_reference})(z);
  CHECK(r2.value == doctest::Approx(2.0 * r1.value).epsilon(1e-14));
  CHECK(r2.collapse_value == doctest::Approx(2.0 * r1.collapse_value));
  for (index_t i = 0; i < z.numel(); ++i) CHECK(r2.dz.data()[i] == 2.0 * r1.dz.data()[i]);
}

TEST_CASE("nt_xent: bad inputs are reported clearly") {
  loss::nt_xent<float> l;
  CHECK(l.options().temperature == 0.5);
  CHECK_THROWS_WITH_AS((void)l(tensor<float>(shape{3, 4})),
                       doctest::Contains("3 rows, expected an even number"), shape_error);
  CHECK_THROWS_AS((void)l(tensor<float>(shape{8})), shape_error);
  CHECK_THROWS_AS((void)l(tensor<float>(shape{0, 4})), shape_error);
  CHECK_THROWS_WITH_AS(loss::nt_xent<float>({.temperature = 0.0}),
                       doctest::Contains("temperature is 0"), value_error);
  CHECK_THROWS_AS(loss::nt_xent<float>({.temperature = -0.1}), value_error);
  CHECK_THROWS_AS(loss::nt_xent<float>({.temperature = NAN}), value_error);
  auto z = random_batch<float>(6, 3, 1);
  z(4, 1) = NAN;
  CHECK_THROWS_WITH_AS((void)l(z), doctest::Contains("row 4 of z holds a NaN"), value_error);
  z(4, 1) = INFINITY;
  CHECK_THROWS_AS((void)l(z), value_error);
  z(4, 1) = 0.5f;
  for (index_t j = 0; j < 3; ++j) z(2, j) = 0.0f;
  CHECK_THROWS_WITH_AS((void)l(z), doctest::Contains("row 2 of z has norm 0"), value_error);
  // Allowed, a zero row is divided by ε (F.normalize) and the result stays finite.
  auto zd = random_batch<double>(6, 3, 1);
  for (index_t j = 0; j < 3; ++j) zd(2, j) = 0.0;
  loss::nt_xent<double> lenient({.temperature = 0.5, .norm_epsilon = 1e-3, .allow_small_rows = true});
  const auto r = lenient(zd);
  CHECK(std::isfinite(r.value));
  zd(2, 0) = 1e-4;  // below ε: u = z/ε, still differentiable
  const auto r2 = lenient(zd);
  auto f = [&] { return lenient(zd).value; };
  const auto g = testing::gradcheck(f, {{"z", zd, r2.dz}}, {.step = 1e-8});
  CHECK_MESSAGE(g.passed, g.message());
}

TEST_CASE("nt_xent: results are bit-identical with 1 and 2 threads") {
  const auto z = random_batch<float>(1100, 24, 8);
  std::vector<index_t> some(300);
  std::iota(some.begin(), some.end(), index_t{400});
  auto run = [&](std::size_t threads, double tau) {
    parallel::set_num_threads(threads);
    loss::nt_xent<float> l({.temperature = tau});
    auto r = l(z);
    auto p = l.partial(z, some);
    return std::pair(std::move(r), std::move(p));
  };
  for (double tau : {0.1, 0.01}) {
    CAPTURE(tau);
    const auto [a1, p1] = run(1, tau);
    const auto [a2, p2] = run(2, tau);
    CHECK(a1.value == a2.value);
    CHECK(a1.mean_entropy == a2.mean_entropy);
    CHECK(p1.value == p2.value);
    CHECK(std::equal(a1.dz.values().begin(), a1.dz.values().end(), a2.dz.values().begin()));
    CHECK(std::equal(p1.d_gathered.values().begin(), p1.d_gathered.values().end(),
                     p2.d_gathered.values().begin()));
  }
  parallel::set_num_threads(2);
}

TEST_CASE("nt_xent: k workers with the gathered batch equal one worker on the whole batch") {
  const index_t n = 12, rows = 2 * n, d = 5;
  const auto z = random_batch<double>(rows, d, 30);
  loss::nt_xent<double> single({.temperature = 0.2});
  const auto whole = single(z);
  for (index_t k : {1, 2, 3, 4}) {
    CAPTURE(k);
    // Worker w owns images [w·n/k, (w+1)·n/k): their view-1 rows and their view-2 rows.
    double value = 0, entropy = 0;
    index_t correct = 0, anchors = 0;
    tensor<double> summed(z.shape());  // the all-reduce of the gathered gradients
    std::vector<std::vector<index_t>> owned(static_cast<std::size_t>(k));
    for (index_t w = 0; w < k; ++w) {
      auto& rows_w = owned[static_cast<std::size_t>(w)];
      for (index_t i = w * n / k; i < (w + 1) * n / k; ++i) {
        rows_w.push_back(i);
        rows_w.push_back(i + n);
      }
      loss::nt_xent<double> worker({.temperature = 0.2});
      const auto part = worker.partial(z, rows_w);  // z here is the gathered global batch
      value += part.value;
      entropy += part.entropy_sum;
      correct += part.top1_correct;
      anchors += part.anchors;
      for (index_t e = 0; e < z.numel(); ++e) summed.data()[e] += part.d_gathered.data()[e];
      if (k > 1) {
        // Without the all-reduce, a worker's own rows miss the other workers' terms.
        double diff = 0;
        for (index_t i : rows_w)
          for (index_t j = 0; j < d; ++j)
            diff = std::max(diff, std::abs(part.d_gathered(i, j) - whole.dz(i, j)));
        CHECK(diff > 1e-6);
      }
    }
    CHECK(anchors == rows);
    CHECK(value == doctest::Approx(whole.value).epsilon(1e-13));
    CHECK(entropy / static_cast<double>(rows) == doctest::Approx(whole.mean_entropy).epsilon(1e-12));
    CHECK(static_cast<double>(correct) / static_cast<double>(rows) == whole.top1_accuracy);
    CHECK(test::max_relative_error(summed, whole.dz, 1e-10) <= 1e-10);
  }
}

TEST_CASE("nt_xent: partial rejects bad anchor lists and handles an empty one") {
  const auto z = random_batch<double>(8, 3, 2);
  loss::nt_xent<double> l;
  const std::vector<index_t> dup{1, 2, 1}, out_of_range{0, 8};
  CHECK_THROWS_WITH_AS((void)l.partial(z, dup), doctest::Contains("listed twice"), value_error);
  CHECK_THROWS_WITH_AS((void)l.partial(z, out_of_range), doctest::Contains("outside the gathered"),
                       value_error);
  const auto r = l.partial(z, std::vector<index_t>{});
  CHECK(r.value == 0.0);
  CHECK(r.anchors == 0);
  for (double v : r.d_gathered.values()) CHECK(v == 0.0);
}
