#include <simclr/nn/batch_norm.hpp>

#include <doctest/doctest.h>

#include "support/layer_check.hpp"

using namespace simclr;

TEST_CASE("batch_norm: training normalises per channel and updates running statistics") {
  nn::batch_norm<double> bn({.channels = 1});
  const tensor<double> x(shape{4, 1}, {1, 2, 3, 4});
  const auto y = bn.forward(x, mode::train);
  // mean 2.5, biased var 1.25
  const double is = 1.0 / std::sqrt(1.25 + 1e-5);
  CHECK(y(0, 0) == doctest::Approx(-1.5 * is));
  CHECK(y(3, 0) == doctest::Approx(1.5 * is));
  // running = 0.9·init + 0.1·batch, with the unbiased variance 1.25·4/3
  CHECK(bn.running_mean()(0) == doctest::Approx(0.25));
  CHECK(bn.running_var()(0) == doctest::Approx(0.9 + 0.1 * 1.25 * 4 / 3));
  CHECK(bn.num_batches_tracked() == 1);
  // Evaluation uses the running statistics.
  const auto e = bn.forward(x, mode::eval);
  CHECK(e(0, 0) == doctest::Approx((1 - 0.25) / std::sqrt(bn.running_var()(0) + 1e-5)));
  CHECK(bn.num_batches_tracked() == 1);
}

TEST_CASE("batch_norm: gradients by finite differences for (N, C) and (N, C, H, W)") {
  {
    nn::batch_norm<double> bn({.channels = 3});
    random::fill_normal(bn.gamma().view(), random::key(1));
    random::fill_normal(bn.beta().view(), random::key(2));
    auto x = test::randn(shape{5, 3}, 3);
    const auto r = test::check_layer(bn, x);
    CHECK_MESSAGE(r.passed, r.message());
  }
  {
    nn::batch_norm<double> bn({.channels = 2});
    random::fill_normal(bn.gamma().view(), random::key(4));
    auto x = test::randn(shape{3, 2, 3, 2}, 5);
    const auto r = test::check_layer(bn, x);
    CHECK_MESSAGE(r.passed, r.message());
  }
}

TEST_CASE("batch_norm: zero_init, roles and names, bad input") {
  nn::batch_norm<float> bn({.channels = 4, .zero_init = true});
  for (float g : bn.gamma().values()) CHECK(g == 0.f);
  std::vector<std::string> names;
  std::vector<parameter_role> roles;
  bn.visit_state(
      [&](const nn::state_ref<float, cpu_t>& s) {
        names.push_back(s.name);
        roles.push_back(s.role);
      },
      "bn1");
  CHECK(names == std::vector<std::string>{"bn1.weight", "bn1.bias", "bn1.running_mean",
                                          "bn1.running_var", "bn1.num_batches_tracked"});
  CHECK(roles[0] == parameter_role::norm_scale);
  CHECK(roles[1] == parameter_role::norm_shift);
  CHECK_THROWS_AS((void)bn.forward(tensor<float>(shape{1, 4}), mode::train), value_error);
  CHECK_THROWS_AS((void)bn.forward(tensor<float>(shape{2, 3, 4, 4}), mode::train), shape_error);
  CHECK_THROWS_AS(nn::batch_norm<float>({.channels = 2, .momentum = 1.5}), value_error);
}
