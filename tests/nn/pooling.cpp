// max_pool2d and global_avg_pool (one file for the two pooling headers and their kernels).
#include <simclr/nn/global_avg_pool.hpp>
#include <simclr/nn/max_pool2d.hpp>
#include <simclr/nn/cpu/pooling.hpp>

#include <doctest/doctest.h>

#include "support/layer_check.hpp"

using namespace simclr;

TEST_CASE("max_pool2d: known values, padding never wins") {
  nn::max_pool2d<double> pool({.kernel_size = 2, .stride = 2, .padding = 0});
  const tensor<double> x(shape{1, 1, 4, 4},
                         {1, 5, 2, 0, 3, 4, 8, 1, -1, -2, -3, -4, -5, -6, -7, -9});
  const auto y = pool.forward(x, mode::train);
  CHECK(y.shape() == shape{1, 1, 2, 2});
  CHECK(y(0, 0, 0, 0) == 5.0);
  CHECK(y(0, 0, 0, 1) == 8.0);
  CHECK(y(0, 0, 1, 0) == -1.0);
  CHECK(y(0, 0, 1, 1) == -3.0);
  const auto dx = pool.backward(tensor<double>(shape{1, 1, 2, 2}, {1, 2, 3, 4}));
  CHECK(dx(0, 0, 0, 1) == 1.0);
  CHECK(dx(0, 0, 1, 2) == 2.0);
  CHECK(dx(0, 0, 2, 0) == 3.0);
  CHECK(dx(0, 0, 2, 2) == 4.0);
  CHECK(dx(0, 0, 0, 0) == 0.0);

  nn::max_pool2d<double> stem;  // 3×3/2, padding 1: all-negative input still gives real values
  const tensor<double> neg(shape{1, 1, 2, 2}, {-4, -3, -2, -1});
  const auto s = stem.forward(neg, mode::eval);
  CHECK(s.shape() == shape{1, 1, 1, 1});
  CHECK(s(0, 0, 0, 0) == -1.0);
}

TEST_CASE("max_pool2d: gradients by finite differences (overlapping windows)") {
  nn::max_pool2d<double> pool;  // 3×3, stride 2, padding 1
  auto x = test::randn(shape{2, 3, 7, 7}, 21);
  const auto r = test::check_layer(pool, x);
  CHECK_MESSAGE(r.passed, r.message());
}

TEST_CASE("global_avg_pool: means, gradient, shapes") {
  nn::global_avg_pool<double> gap;
  const tensor<double> x(shape{1, 2, 2, 2}, {1, 2, 3, 4, 10, 20, 30, 40});
  const auto y = gap.forward(x, mode::train);
  CHECK(y.shape() == shape{1, 2});
  CHECK(y(0, 0) == 2.5);
  CHECK(y(0, 1) == 25.0);
  auto x2 = test::randn(shape{3, 4, 3, 5}, 2);
  const auto r = test::check_layer(gap, x2);
  CHECK_MESSAGE(r.passed, r.message());
  CHECK_THROWS_AS((void)gap.forward(tensor<double>(shape{2, 3}), mode::train), shape_error);
}
