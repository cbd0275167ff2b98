#include <simclr/nn/batch_norm.hpp>

#include <algorithm>
#include <cmath>

#include <doctest/doctest.h>

#include <simclr/nn/relu.hpp>

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

TEST_CASE("batch_norm: the fused epilogue gives what BN, + residual and ReLU give separately") {
  const auto x = test::randn<float>(shape{4, 3, 5, 5}, 11);
  const auto r = test::randn<float>(x.shape(), 12);
  const auto dy = test::randn<float>(x.shape(), 13);
  const auto init = [](nn::batch_norm<float>& bn) {
    random::fill_normal(bn.gamma().view(), random::key(14));
    random::fill_normal(bn.beta().view(), random::key(15));
  };
  const auto relu = [](tensor<float> t) {
    for (float& v : t.values()) v = v > 0.f ? v : 0.f;
    return t;
  };
  const auto same = [](const tensor<float>& a, const tensor<float>& b) {
    REQUIRE(a.shape() == b.shape());
    return std::equal(a.data(), a.data() + a.numel(), b.data());
  };
  // Gradients: the same terms, summed in another order (the masked plane is a fresh buffer).
  const auto close = [](const tensor<float>& a, const tensor<float>& b) {
    REQUIRE(a.shape() == b.shape());
    for (index_t i = 0; i < a.numel(); ++i)
      if (std::abs(a.data()[i] - b.data()[i]) > 1e-5f * (1.0f + std::abs(b.data()[i])))
        return false;
    return true;
  };
  SUBCASE("bn → relu") {
    nn::batch_norm<float> fused({.channels = 3}), plain({.channels = 3});
    init(fused);
    init(plain);
    const auto y = fused.forward(tensor<float>(x), mode::train, {.relu = true});
    const auto y_ref = relu(plain.forward(x, mode::train));
    CHECK(same(y, y_ref));
    CHECK_THROWS_AS((void)fused.backward(dy), error);  // the ReLU's output is needed
    const auto dx = fused.backward(dy, y);
    const auto dx_ref = plain.backward(nn::relu_grad(y_ref, dy));
    CHECK(close(dx, dx_ref));
    CHECK(close(fused.gamma_grad(), plain.gamma_grad()));
    CHECK(close(fused.beta_grad(), plain.beta_grad()));
    CHECK(same(fused.forward(tensor<float>(x), mode::eval, {.relu = true}),
               relu(plain.forward(x, mode::eval))));
  }
  SUBCASE("bn → + residual → relu") {
    nn::batch_norm<float> fused({.channels = 3}), plain({.channels = 3});
    init(fused);
    init(plain);
    const auto y = fused.forward(tensor<float>(x), mode::train, {.residual = &r, .relu = true});
    auto sum = plain.forward(x, mode::train);
    for (index_t i = 0; i < sum.numel(); ++i) sum.data()[i] += r.data()[i];
    const auto y_ref = relu(sum);
    CHECK(same(y, y_ref));
    // The shortcut shares the masked gradient: the caller masks once, backward takes it.
    const auto masked = nn::relu_grad(y, dy);
    CHECK_THROWS_AS((void)fused.backward(dy, y), error);
    CHECK(same(fused.backward(masked), plain.backward(masked)));
  }
  SUBCASE("a residual of another shape is refused") {
    nn::batch_norm<float> bn({.channels = 3});
    const auto other = test::randn<float>(shape{4, 3, 5, 4}, 16);
    CHECK_THROWS_AS((void)bn.forward(tensor<float>(x), mode::train, {.residual = &other}),
                    shape_error);
  }
}

TEST_CASE("batch_norm: statistics stay accurate far from zero (one read of x, planes combined)") {
  // Values 1e4 + N(0, 1): E[x²] − E[x]² would lose every digit in float; the per-plane
  // combination keeps the variance to float precision.
  auto x = test::randn<float>(shape{8, 2, 7, 7}, 17);
  for (float& v : x.values()) v += 1e4f;
  nn::batch_norm<float> bn({.channels = 2, .momentum = 1.0});
  (void)bn.forward(x, mode::train);
  for (index_t ch = 0; ch < 2; ++ch) {
    double s = 0, ss = 0;
    const index_t count = 8 * 49;
    for (index_t i = 0; i < 8; ++i)
      for (index_t q = 0; q < 49; ++q) s += x.data()[(i * 2 + ch) * 49 + q];
    const double m = s / double(count);
    for (index_t i = 0; i < 8; ++i)
      for (index_t q = 0; q < 49; ++q) {
        const double d = x.data()[(i * 2 + ch) * 49 + q] - m;
        ss += d * d;
      }
    const double unbiased = ss / double(count - 1);
    CHECK(bn.running_mean()(ch) == doctest::Approx(m).epsilon(1e-7));
    CHECK(bn.running_var()(ch) == doctest::Approx(unbiased).epsilon(1e-5));
  }
}

#include "support/nn_fixtures.hpp"

TEST_CASE("batch_norm: two training steps and evaluation match PyTorch's BatchNorm2d") {
  const auto f = io::read_safetensors(test::nn_fixture("batch_norm.safetensors"));
  nn::batch_norm<double> bn({.channels = 3});
  f.copy_to("weight", bn.gamma().view());
  f.copy_to("bias", bn.beta().view());
  const auto x1 = f.get<double>("x1"), x2 = f.get<double>("x2");
  const auto y1 = bn.forward(x1, mode::train);
  CHECK(test::max_scaled_error(y1, f.get<double>("y1")) < 1e-12);
  const auto y2 = bn.forward(x2, mode::train);
  CHECK(test::max_scaled_error(y2, f.get<double>("y2")) < 1e-12);
  CHECK(test::max_scaled_error(bn.running_mean(), f.get<double>("running_mean")) < 1e-12);
  CHECK(test::max_scaled_error(bn.running_var(), f.get<double>("running_var")) < 1e-12);
  CHECK(bn.num_batches_tracked() == f.get<std::int64_t>("num_batches_tracked")());
  const auto dx = bn.backward(f.get<double>("r"));
  CHECK(test::max_scaled_error(dx, f.get<double>("dx2")) < 1e-10);
  CHECK(test::max_scaled_error(bn.gamma_grad(), f.get<double>("dweight")) < 1e-10);
  CHECK(test::max_scaled_error(bn.beta_grad(), f.get<double>("dbias")) < 1e-10);
  const auto e = bn.forward(x1, mode::eval);
  CHECK(test::max_scaled_error(e, f.get<double>("eval_y1")) < 1e-12);
}
