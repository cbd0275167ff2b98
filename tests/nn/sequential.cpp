// sequential, the layer concept, state names and init helpers.
#include <simclr/nn/sequential.hpp>
#include <simclr/nn/layer.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/nn/init.hpp>
#include <simclr/nn/kernels.hpp>
#include <simclr/nn/batch_norm.hpp>
#include <simclr/nn/linear.hpp>
#include <simclr/nn/relu.hpp>

#include <doctest/doctest.h>

#include "support/layer_check.hpp"

using namespace simclr;

namespace {
/// A user-written layer: y = a·x with a learnable scalar a.
struct scale_layer {
  using scalar_type = double;
  using backend_type = cpu_t;
  tensor<double> a{shape{1}, {2.0}}, da{shape{1}};
  tensor<double> x_;
  tensor<double> forward(const tensor<double>& x, mode) {
    x_ = x;
    tensor<double> y = x;
    for (double& v : y.values()) v *= a(0);
    return y;
  }
  tensor<double> backward(const tensor<double>& dy) {
    tensor<double> dx = dy;
    for (index_t i = 0; i < dy.numel(); ++i) {
      da(0) += dy.data()[i] * x_.data()[i];
      dx.data()[i] *= a(0);
    }
    return dx;
  }
  void visit_state(const nn::state_visitor<double, cpu_t>& f, const std::string& prefix) {
    f({nn::join_name(prefix, "a"), nn::state_kind::parameter, parameter_role::weight, &a, &da,
       nullptr});
  }
};
struct not_a_layer {
  using scalar_type = double;
  using backend_type = cpu_t;
  tensor<double> forward(const tensor<double>& x, mode);
};
}  // namespace

TEST_CASE("layer concept: built-in and user layers") {
  static_assert(nn::layer<nn::linear<float>>);
  static_assert(nn::layer<nn::batch_norm<double>>);
  static_assert(nn::layer<nn::sequential<float>>);
  static_assert(nn::layer<scale_layer>);
  static_assert(!nn::layer<not_a_layer>);
  CHECK(nn::window2d{1, 1, 5, 5, 3, 3, 2, 1}.out_plane() == 9);
}

TEST_CASE("sequential: an MLP head with BN, names as torch.nn.Sequential, gradients") {
  nn::sequential<double> mlp;
  mlp.push_back(nn::linear<double>({4, 6})).reset_parameters(random::key(1));
  mlp.push_back(nn::batch_norm<double>({6}));
  mlp.push_back(nn::relu<double>{});
  mlp.push_back(nn::linear<double>({6, 3})).reset_parameters(random::key(2));
  mlp.push_back(scale_layer{}, "scale");
  std::vector<std::string> names;
  mlp.visit_state([&](const nn::state_ref<double, cpu_t>& s) { names.push_back(s.name); },
                  "head");
  CHECK(names.front() == "head.0.weight");
  CHECK(names.back() == "head.scale.a");
  CHECK(names.size() == 2 + 5 + 2 + 1);
  CHECK(nn::parameters_of<double, cpu_t>(mlp).size() == 7);
  CHECK(mlp.at<nn::linear<double>>(3).options().out == 3);
  CHECK_THROWS_AS((void)mlp.at<nn::relu<double>>(0), error);
  auto x = test::randn(shape{5, 4}, 3);
  const auto r = test::check_layer(mlp, x);
  CHECK_MESSAGE(r.passed, r.message());
}

TEST_CASE("init: names give stable, distinct keys") {
  static_assert(nn::init::name_id("conv1.weight") == nn::init::name_id("conv1.weight"));
  CHECK(nn::init::name_id("conv1.weight") != nn::init::name_id("conv2.weight"));
  CHECK(nn::join_name("", "w") == "w");
  CHECK(nn::join_name("a.b", "w") == "a.b.w");
  tensor<double> w(shape{1000, 10});
  nn::init::uniform_fan_in(w, 25, random::key(1));
  double lo = 1, hi = -1;
  for (double v : w.values()) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  CHECK(lo >= -0.2);
  CHECK(hi <= 0.2);
  CHECK(hi > 0.19);
}
