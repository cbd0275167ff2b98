// Tests of simclr::loss::info_nce (MoCo's InfoNCE against a queue): PyTorch fixtures of MoCo's
// code, finite differences in double, the empty queue, float = double, threads, input checks.
#include <simclr/loss/info_nce.hpp>

#include <cmath>

#include <doctest/doctest.h>

#include <simclr/parallel/thread_pool.hpp>
#include <simclr/random/fill.hpp>
#include <simclr/testing/gradcheck.hpp>
#include <support/loss_fixtures.hpp>

namespace {

using simclr::index_t;
using simclr::shape;
using simclr::tensor;

/// Unit rows (what a MoCo queue holds).
template <class T>
tensor<T> unit_rows(tensor<T> z) {
  for (index_t i = 0; i < z.extent(0); ++i) {
    double s = 0;
    for (index_t j = 0; j < z.extent(1); ++j) s += double(z(i, j)) * double(z(i, j));
    for (index_t j = 0; j < z.extent(1); ++j) z(i, j) = static_cast<T>(double(z(i, j)) / std::sqrt(s));
  }
  return z;
}

}  // namespace

TEST_CASE("info_nce: value - dq - top-1 and entropy match MoCo's code in PyTorch (float64)") {
  using namespace simclr;
  const auto fx = test::read_fixture(SIMCLR_LOSS_FIXTURES, "info_nce.json");
  REQUIRE(fx["cases"].size() >= 5);
  for (const auto& c : fx["cases"]) {
    const index_t m = c["m"], d = c["d"], kq = c["negatives"];
    CAPTURE(m);
    CAPTURE(kq);
    const auto q = test::fixture_tensor(c["q"], shape{m, d});
    const auto k = test::fixture_tensor(c["k"], shape{m, d});
    // The queue with one spare row past the negatives used (it must be ignored).
    tensor<double> queue(shape{kq + 1, d});
    const auto used = test::fixture_tensor(c["queue"], shape{kq, d});
    std::copy(used.data(), used.data() + used.numel(), queue.data());
    for (index_t j = 0; j < d; ++j) queue(kq, j) = 5.0;
    const loss::info_nce<double> l({.temperature = c["temperature"]});
    const auto r = l(q, k, queue, kq);
    const auto dq_ref = test::fixture_tensor(c["dq"], shape{m, d});
    double scale = 0;
    for (double v : dq_ref.values()) scale = std::max(scale, std::abs(v));
    CHECK(r.value == doctest::Approx(c["loss"].get<double>()).epsilon(1e-12));
    CHECK(test::max_relative_error(r.dq, dq_ref, 1e-6 * std::max(scale, 1e-300)) <= 1e-8);
    CHECK(r.top1_accuracy == doctest::Approx(c["top1"].get<double>()).epsilon(1e-12));
    CHECK(r.mean_entropy == doctest::Approx(c["entropy"].get<double>()).epsilon(1e-9));
    // The keys come back as unit rows.
    for (index_t i = 0; i < m; ++i) {
      double s = 0;
      for (index_t j = 0; j < d; ++j) s += r.keys(i, j) * r.keys(i, j);
      CHECK(s == doctest::Approx(1.0).epsilon(1e-12));
    }
  }
}

TEST_CASE("info_nce: dq agrees with finite differences in double; an empty queue gives 0") {
  using namespace simclr;
  for (const double tau : {0.2, 0.05, 1.0}) {
    CAPTURE(tau);
    auto q = simclr::test::random_rows<double>(6, 5, 1), k = simclr::test::random_rows<double>(6, 5, 2);
    const auto queue = unit_rows(simclr::test::random_rows<double>(40, 5, 3));
    const loss::info_nce<double> l({.temperature = tau});
    const auto r = l(q, k, queue, 37);
    auto f = [&] { return l(q, k, queue, 37).value; };
    const auto g = testing::gradcheck(f, {{"q", q, r.dq}});
    CHECK_MESSAGE(g.passed, g.message());
  }
  // An empty queue: the positive is the only candidate, L = 0 and no gradient.
  const auto q = simclr::test::random_rows<double>(4, 3, 4), k = simclr::test::random_rows<double>(4, 3, 5);
  const auto r = loss::info_nce<double>()(q, k, tensor<double>(shape{8, 3}), 0);
  CHECK(r.value == doctest::Approx(0.0).epsilon(1e-15));
  CHECK(r.top1_accuracy == 1.0);
  for (double v : r.dq.values()) CHECK(std::abs(v) < 1e-15);
}

TEST_CASE("info_nce: float agrees with double - results do not depend on threads") {
  using namespace simclr;
  const auto qd = simclr::test::random_rows<double>(256, 64, 6), kd = simclr::test::random_rows<double>(256, 64, 7);
  const auto queued = unit_rows(simclr::test::random_rows<double>(1024, 64, 8));
  tensor<float> qf(qd.shape()), kf(kd.shape()), queuef(queued.shape());
  for (index_t i = 0; i < qd.numel(); ++i) {
    qf.data()[i] = static_cast<float>(qd.data()[i]);
    kf.data()[i] = static_cast<float>(kd.data()[i]);
  }
  for (index_t i = 0; i < queued.numel(); ++i) queuef.data()[i] = static_cast<float>(queued.data()[i]);
  const auto rd = loss::info_nce<double>()(qd, kd, queued, 1000);
  const loss::info_nce<float> lf;
  parallel::set_num_threads(1);
  const auto r1 = lf(qf, kf, queuef, 1000);
  parallel::set_num_threads(2);
  const auto r2 = lf(qf, kf, queuef, 1000);
  CHECK(r1.value == doctest::Approx(rd.value).epsilon(1e-5));
  CHECK(test::float_error(r1.dq, rd.dq) <= 1e-4);
  CHECK(r1.value == r2.value);
  CHECK(std::equal(r1.dq.values().begin(), r1.dq.values().end(), r2.dq.values().begin()));
}

TEST_CASE("info_nce: bad shapes, counts and rows are reported clearly") {
  using namespace simclr;
  const loss::info_nce<float> l;
  const tensor<float> q(shape{4, 3}), k(shape{4, 3}), queue(shape{8, 3});
  auto ok = simclr::test::random_rows<float>(4, 3, 9);
  CHECK_THROWS_WITH_AS((void)l(ok, tensor<float>(shape{4, 2}), queue, 2),
                       doctest::Contains("the keys have shape"), shape_error);
  CHECK_THROWS_WITH_AS((void)l(ok, ok, tensor<float>(shape{8, 2}), 2),
                       doctest::Contains("the queue has shape"), shape_error);
  CHECK_THROWS_WITH_AS((void)l(ok, ok, queue, 9), doctest::Contains("9 negatives requested"),
                       shape_error);
  CHECK_THROWS_WITH_AS((void)l(q, ok, queue, 2), doctest::Contains("info_nce (queries): row 0"),
                       value_error);
  CHECK_THROWS_WITH_AS(loss::info_nce<float>({.temperature = 0.0}),
                       doctest::Contains("temperature is 0"), value_error);
  (void)k;
}
