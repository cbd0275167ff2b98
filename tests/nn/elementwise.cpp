// relu, flatten and residual_add: the layers without parameters.
#include <simclr/nn/flatten.hpp>
#include <simclr/nn/relu.hpp>
#include <simclr/nn/residual_add.hpp>
#include <simclr/nn/cpu/elementwise.hpp>

#include <doctest/doctest.h>

#include "support/layer_check.hpp"

using namespace simclr;

TEST_CASE("relu: values and gradient") {
  nn::relu<double> r;
  const tensor<double> x(shape{4}, {-1, 0, 2, -3});
  const auto y = r.forward(x, mode::train);
  CHECK(y(0) == 0.0);
  CHECK(y(2) == 2.0);
  const auto dx = r.backward(tensor<double>(shape{4}, {1, 1, 1, 1}));
  CHECK(dx(0) == 0.0);
  CHECK(dx(1) == 0.0);  // the gradient at 0 is 0, as in PyTorch
  CHECK(dx(2) == 1.0);
  auto x2 = test::randn(shape{3, 4, 5}, 8);
  const auto res = test::check_layer(r, x2);
  CHECK_MESSAGE(res.passed, res.message());
}

TEST_CASE("flatten: shapes in and out") {
  nn::flatten<float> f;
  const tensor<float> x(shape{2, 3, 4, 5});
  const auto y = f.forward(x, mode::train);
  CHECK(y.shape() == shape{2, 60});
  CHECK(f.backward(y).shape() == shape{2, 3, 4, 5});
}

TEST_CASE("residual_add: sum and shape check") {
  const tensor<float> a(shape{2, 2}, {1, 2, 3, 4}), b(shape{2, 2}, {10, 20, 30, 40});
  const auto y = nn::residual_add(a, b);
  CHECK(y(1, 1) == 44.f);
  tensor<float> c = a;
  nn::residual_add_inplace(c, b);
  CHECK(c(0, 1) == 22.f);
  CHECK_THROWS_AS((void)nn::residual_add(a, tensor<float>(shape{4})), shape_error);
}
