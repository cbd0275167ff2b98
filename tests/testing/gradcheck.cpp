#include <simclr/testing/gradcheck.hpp>

#include <cmath>

#include <doctest/doctest.h>

#include <simclr/ops/gemm.hpp>
#include <simclr/random/fill.hpp>

using namespace simclr;

TEST_CASE("gradcheck: accepts the true gradient of a matrix function") {
  // f(W, x) = Σ_i log(1 + exp((W x)_i)); ∂f/∂W = σ(Wx) xᵀ, ∂f/∂x = Wᵀ σ(Wx).
  tensor<double> w(shape{4, 3}), x(shape{3, 1});
  random::fill_normal(w.view(), random::key(1));
  random::fill_normal(x.view(), random::key(2));
  auto f = [&] {
    const auto y = ops::matmul(w, x);
    double s = 0;
    for (double v : y.values()) s += std::log1p(std::exp(v));
    return s;
  };
  const auto y = ops::matmul(w, x);
  tensor<double> sig(shape{4, 1});
  for (index_t i = 0; i < 4; ++i) sig(i, 0) = 1.0 / (1.0 + std::exp(-y(i, 0)));
  const auto dw = ops::matmul(sig, x, {.transpose_b = true});
  const auto dx = ops::matmul(w, sig, {.transpose_a = true});
  const auto r = testing::gradcheck(f, {{"w", w, dw}, {"x", x, dx}});
  CHECK_MESSAGE(r.passed, r.message());
  CHECK(r.checked == 15);
  CHECK(r.max_relative_error < 1e-7);
  // Inputs are restored after the check.
  const auto y2 = ops::matmul(w, x);
  CHECK(y2(0, 0) == y(0, 0));
}

TEST_CASE("gradcheck: rejects a wrong gradient and names the element") {
  tensor<double> x(shape{3}, {1.0, 2.0, 3.0});
  auto f = [&] { return x(0) * x(0) + 3.0 * x(1) + std::sin(x(2)); };
  tensor<double> good(shape{3}, {2.0, 3.0, std::cos(3.0)});
  CHECK(testing::gradcheck(f, {{"x", x, good}}).passed);
  tensor<double> bad = good;
  bad(1) = 3.01;
  const auto r = testing::gradcheck(f, {{"x", x, bad}});
  CHECK_FALSE(r.passed);
  CHECK(r.worst_input == "x");
  CHECK(r.worst_index == 1);
  CHECK(r.worst_numeric == doctest::Approx(3.0).epsilon(1e-8));
  CHECK(r.message().find("FAILED") != std::string::npos);
  CHECK(r.message().find("x[1]") != std::string::npos);
}

TEST_CASE("gradcheck: NaN gradients fail; shape mismatch throws; subsets are sampled") {
  tensor<double> x(shape{2}, {1.0, 2.0});
  auto f = [&] { return x(0) + x(1); };
  tensor<double> nan_grad(shape{2}, {1.0, std::nan("")});
  CHECK_FALSE(testing::gradcheck(f, {{"x", x, nan_grad}}).passed);
  tensor<double> wrong_shape(shape{3});
  CHECK_THROWS_WITH_AS((void)testing::gradcheck(f, {{"x", x, wrong_shape}}),
                       "simclr: gradcheck: gradient of 'x' has shape (3), expected (2)",
                       shape_error);
  tensor<double> big(shape{1000});
  tensor<double> ones(shape{1000});
  ones.fill(1.0);
  auto g = [&] {
    double s = 0;
    for (double v : big.values()) s += v;
    return s;
  };
  const auto r = testing::gradcheck(g, {{"big", big, ones}}, {.max_checks = 100});
  CHECK(r.passed);
  CHECK(r.checked == 100);
}

TEST_CASE("testing::dot") {
  const tensor<double> a(shape{2, 2}, {1, 2, 3, 4}), b(shape{2, 2}, {1, 1, 1, -1});
  CHECK(testing::dot(a, b) == 2.0);
  CHECK_THROWS_AS((void)testing::dot(a, tensor<double>(shape{4})), shape_error);
}
