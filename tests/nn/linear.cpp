#include <simclr/nn/linear.hpp>

#include <doctest/doctest.h>

#include "support/layer_check.hpp"

using namespace simclr;

TEST_CASE("linear: y = x Wt + b with PyTorch's weight layout") {
  nn::linear<double> fc({.in = 3, .out = 2});
  fc.weight() = tensor<double>(shape{2, 3}, {1, 0, -1, 2, 1, 0});
  fc.bias() = tensor<double>(shape{2}, {0.5, -1});
  const tensor<double> x(shape{2, 3}, {1, 2, 3, 4, 5, 6});
  const auto y = fc.forward(x, mode::eval);
  CHECK(y(0, 0) == -1.5);
  CHECK(y(0, 1) == 3.0);
  CHECK(y(1, 0) == -1.5);
  CHECK(y(1, 1) == 12.0);
}

TEST_CASE("linear: gradients by finite differences, with and without bias") {
  for (bool bias : {true, false}) {
    nn::linear<double> fc({.in = 5, .out = 4, .bias = bias});
    fc.reset_parameters(random::key(1));
    auto x = test::randn(shape{6, 5}, 2);
    const auto r = test::check_layer(fc, x);
    CHECK_MESSAGE(r.passed, r.message());
  }
}

TEST_CASE("linear: gradients accumulate until zeroed; init bounds; shape errors") {
  nn::linear<double> fc({.in = 100, .out = 50});
  fc.reset_parameters(random::key(3));
  for (double w : fc.weight().values()) CHECK(std::abs(w) <= 0.1);
  const auto x = test::randn(shape{2, 100}, 4);
  tensor<double> dy(shape{2, 50});
  dy.fill(1.0);
  (void)fc.forward(x, mode::train);
  (void)fc.backward(dy);
  const double g1 = fc.bias_grad()(0);
  (void)fc.backward(dy);
  CHECK(fc.bias_grad()(0) == 2 * g1);
  nn::zero_grad_of<double, cpu_t>(fc);
  CHECK(fc.bias_grad()(0) == 0.0);
  CHECK_THROWS_WITH_AS((void)fc.forward(tensor<double>(shape{2, 99}), mode::train),
                       "simclr: linear: input has shape (2, 99), expected (N, 100)", shape_error);
}
