// Tests of <simclr/eval/linear.hpp>: the objective's value and gradient (gradcheck in double),
// fits on separable and overlapping Gaussian problems, standardisation, thread independence.
#include <simclr/eval/linear.hpp>

#include <cmath>

#include <doctest/doctest.h>

#include <simclr/random/stream.hpp>
#include <simclr/testing/gradcheck.hpp>

using namespace simclr;

namespace {

/// n points per class; class c has mean means[c] (D entries) and isotropic std `sigma`.
struct problem {
  tensor<float, cpu_t> x;
  tensor<std::int32_t, cpu_t> y;
};
problem gaussians(const std::vector<std::vector<float>>& means, index_t n, float sigma,
                  std::uint64_t seed) {
  const index_t k = static_cast<index_t>(means.size());
  const index_t d = static_cast<index_t>(means[0].size());
  problem p{tensor<float, cpu_t>(shape{n * k, d}), tensor<std::int32_t, cpu_t>(shape{n * k})};
  random::stream s{random::key(seed)};
  for (index_t i = 0; i < n * k; ++i) {
    const index_t c = i % k;
    p.y(i) = static_cast<std::int32_t>(c);
    for (index_t j = 0; j < d; ++j)
      p.x(i, j) = means[static_cast<std::size_t>(c)][static_cast<std::size_t>(j)] +
                  sigma * static_cast<float>(s.normal());
  }
  return p;
}

}  // namespace

TEST_CASE("logistic_objective: log K at θ = 0, and its gradient passes gradcheck in double") {
  const problem p = gaussians({{1, 0, 2}, {0, 1, -1}, {-1, -1, 0}}, 7, 1.0f, 3);
  const eval::feature_matrix x = eval::standardizer::fit(p.x).apply(p.x);
  const std::span<const std::int32_t> y(p.y.data(), 21);
  parallel::thread_pool pool(2);
  const eval::logistic_objective f(x, y, 3, 0.3, 5, pool);  // 5-row chunks: the reduction is tested
  REQUIRE(f.num_parameters() == 12);
  Eigen::VectorXd theta = Eigen::VectorXd::Zero(12), g;
  CHECK(f(theta, g) == doctest::Approx(std::log(3.0)).epsilon(1e-14));
  // At θ = 0, ∂L/∂b_c = 1/K − (fraction of class c) = 0 for balanced classes.
  CHECK(g.tail(3).norm() < 1e-15);

  tensor<double, cpu_t> value(shape{12}), grad(shape{12});
  random::stream s(random::key(9));
  for (index_t i = 0; i < 12; ++i) value(i) = s.normal();
  auto objective = [&] {
    Eigen::VectorXd t = Eigen::Map<const Eigen::VectorXd>(value.data(), 12), unused;
    return f(t, unused);
  };
  Eigen::VectorXd t = Eigen::Map<const Eigen::VectorXd>(value.data(), 12), gt;
  (void)f(t, gt);
  std::copy(gt.data(), gt.data() + 12, grad.data());
  const auto r = testing::gradcheck(objective, {{"theta", value, grad}});
  CHECK_MESSAGE(r.passed, r.message());
  // The penalty is on W only: with λ = 0.3, ∂/∂W picks up 0.3·W but ∂/∂b nothing.
  const eval::logistic_objective f0(x, y, 3, 0.0, 5, pool);
  Eigen::VectorXd g0;
  (void)f0(t, g0);
  CHECK((gt.head(9) - g0.head(9) - 0.3 * t.head(9)).norm() < 1e-12);
  CHECK((gt.tail(3) - g0.tail(3)).norm() < 1e-15);
}

TEST_CASE("linear_eval: separable clusters are classified perfectly, and the fit converges") {
  const problem train = gaussians({{4, 0}, {0, 4}, {-4, -4}}, 100, 0.5f, 1);
  const problem test = gaussians({{4, 0}, {0, 4}, {-4, -4}}, 100, 0.5f, 2);
  const eval::linear_eval_result r = eval::linear_eval(train.x, train.y, test.x, test.y, 3);
  CHECK(r.train_accuracy == 1.0);
  CHECK(r.test_accuracy == 1.0);
  CHECK_MESSAGE(r.model.converged, r.model.stop_reason);
  CHECK(r.model.weights.shape() == shape{2, 3});
  CHECK(r.model.bias.shape() == shape{3});
  CHECK(r.model.loss < 0.05);
}

TEST_CASE("linear_eval: two overlapping Gaussians reach the Bayes accuracy Φ(1) ≈ 0.841") {
  // Means ±1 on the first axis, σ = 1, plus two pure-noise features: the Bayes rule is the sign
  // of the first feature, accuracy Φ(1) = 0.8413; 4000 test points give a standard error 0.006.
  const problem train = gaussians({{1, 0, 0}, {-1, 0, 0}}, 2000, 1.0f, 5);
  const problem test = gaussians({{1, 0, 0}, {-1, 0, 0}}, 2000, 1.0f, 6);
  const eval::linear_eval_result r = eval::linear_eval(train.x, train.y, test.x, test.y, 2);
  CHECK(r.test_accuracy > 0.82);
  CHECK(r.test_accuracy < 0.86);
  CHECK_MESSAGE(r.model.converged, r.model.stop_reason);
  // The noise features get small weights compared with the informative one.
  const double informative = std::abs(r.model.weights(0, 0) - r.model.weights(0, 1));
  CHECK(std::abs(r.model.weights(1, 0) - r.model.weights(1, 1)) < 0.1 * informative);
  CHECK(std::abs(r.model.weights(2, 0) - r.model.weights(2, 1)) < 0.1 * informative);
}

TEST_CASE("standardizer: train mean/std applied to any split, constant features become 0") {
  const tensor<float, cpu_t> x(shape{4, 2}, {1, 5, 3, 5, 5, 5, 7, 5});
  const eval::standardizer s = eval::standardizer::fit(x);
  CHECK(s.mean[0] == 4.0);
  CHECK(s.std[0] == doctest::Approx(std::sqrt(5.0)));
  CHECK(s.std[1] == 1.0);
  const tensor<float, cpu_t> other(shape{1, 2}, {4, 6});
  const eval::feature_matrix z = s.apply(other);
  CHECK(z(0, 0) == 0.0f);
  CHECK(z(0, 1) == 1.0f);
  CHECK_THROWS_AS((void)s.apply(tensor<float, cpu_t>(shape{1, 3})), shape_error);
}

TEST_CASE("fit_logistic_regression: identical weights for 1 and 3 threads") {
  const problem p = gaussians({{1, 0, 0, 1}, {0, 1, 0, 0}, {0, 0, 1, -1}}, 200, 1.0f, 8);
  eval::logistic_options opt;
  opt.chunk_rows = 37;
  parallel::thread_pool one(1), three(3);
  const eval::logistic_model a = eval::fit_logistic_regression(p.x, p.y, 3, opt, one);
  const eval::logistic_model b = eval::fit_logistic_regression(p.x, p.y, 3, opt, three);
  CHECK(a.iterations == b.iterations);
  CHECK(a.loss == b.loss);
  CHECK(std::equal(a.weights.data(), a.weights.data() + a.weights.numel(), b.weights.data()));
  CHECK(std::equal(a.bias.data(), a.bias.data() + a.bias.numel(), b.bias.data()));
}

TEST_CASE("linear_eval: bad labels, shapes and options are reported") {
  const problem p = gaussians({{1, 0}, {0, 1}}, 5, 1.0f, 1);
  tensor<std::int32_t, cpu_t> bad = p.y;
  bad(3) = 2;
  CHECK_THROWS_WITH_AS((void)eval::fit_logistic_regression(p.x, bad, 2),
                       doctest::Contains("label 3 is 2, expected 0..1"), value_error);
  CHECK_THROWS_AS((void)eval::fit_logistic_regression(p.x, tensor<std::int32_t, cpu_t>(shape{3}), 2),
                  shape_error);
  CHECK_THROWS_AS((void)eval::linear_eval(p.x, p.y, tensor<float, cpu_t>(shape{2, 3}),
                                          tensor<std::int32_t, cpu_t>(shape{2}), 2),
                  shape_error);
  eval::logistic_options opt;
  opt.max_iterations = 0;
  CHECK_THROWS_AS((void)eval::fit_logistic_regression(p.x, p.y, 2, opt), value_error);
  CHECK_THROWS_AS((void)eval::fit_logistic_regression(p.x, p.y, 1), value_error);
}
