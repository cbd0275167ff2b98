// Tests of simclr::methods::byol: the concept, the gradient of the whole online network by
// finite differences, the target's momentum update, training, checkpoint and resume through fit.
#include <simclr/methods/byol.hpp>

#include <filesystem>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/augment/policy.hpp>
#include <simclr/encoders/resnet.hpp>
#include <simclr/head/mlp.hpp>
#include <simclr/optim/sgd.hpp>
#include <simclr/random/fill.hpp>
#include <simclr/testing/gradcheck.hpp>
#include <simclr/train/checkpoint.hpp>
#include <simclr/train/trainer.hpp>

#include "support/run_dir.hpp"
#include "support/toy_data.hpp"

using namespace simclr;
namespace fs = std::filesystem;

namespace {

template <class T>
using mlp_t = head::mlp<T>;
template <class T>
using mlp_byol = methods::byol<mlp_t<T>, mlp_t<T>, mlp_t<T>>;

/// A small BYOL whose encoder is itself an MLP (an encoder takes any (B, ...) batch): inputs of
/// width 6, h of width 5, projections and predictions of width 4, BN everywhere but the ends.
template <class T>
mlp_byol<T> small_byol(double base_momentum = 0.996) {
  return {mlp_t<T>::v1({.in = 6, .hidden = 8, .out = 5, .seed = 1}),
          mlp_t<T>::v1({.in = 5, .hidden = 8, .out = 4, .seed = 2}),
          mlp_t<T>::v1({.in = 4, .hidden = 8, .out = 4, .seed = 3}),
          {.base_momentum = base_momentum}};
}

auto tiny_resnet(std::uint64_t seed) {
  return encoders::resnet18<float>(
      {.base_width = 2, .in_channels = 1, .stem = encoders::stem::cifar, .seed = seed});
}
auto resnet_byol(std::uint64_t seed) {
  return methods::byol{tiny_resnet(seed),
                       head::mlp<float>::v1({.in = 16, .hidden = 16, .out = 8, .seed = seed}),
                       head::mlp<float>::v1({.in = 8, .hidden = 16, .out = 8, .seed = seed + 1}),
                       {.base_momentum = 0.99}};
}

train::trainer_options options(const fs::path& dir, index_t epochs) {
  return {.epochs = epochs, .batch_size = 8, .seed = 3, .base_lr = 0.1, .warmup_epochs = 1,
          .out_dir = dir, .progress = train::trainer_options::progress_style::none, .metadata = {}};
}

}  // namespace

TEST_CASE("byol: a trainable_model whose optimizer sees the online parameters only") {
  static_assert(trainable_model<mlp_byol<float>>);
  static_assert(trainable_model<mlp_byol<double>>);
  static_assert(prediction_loss<loss::normalized_mse<float>, float, cpu_t>);
  static_assert(!prediction_loss<loss::normalized_mse<float>, double, cpu_t>);
  auto net = small_byol<float>();
  const auto params = net.parameters();
  index_t online = 0, target = 0;
  for (const auto& p : params) {
    CHECK(p.name.rfind("target.", 0) == std::string::npos);
    ++online;
  }
  net.visit_state(
      [&](const nn::state_ref<float, cpu_t>& s) {
        if (s.name.rfind("target.", 0) == 0) {
          CHECK(s.kind != nn::state_kind::parameter);
          ++target;
        }
      },
      "");
  CHECK(online == net.encoder().parameters().size() + net.projector().parameters().size() +
                      net.predictor().parameters().size());
  CHECK(target > 0);
  // Widths that do not chain are named.
  CHECK_THROWS_WITH_AS((mlp_byol<float>{mlp_t<float>::v1({.in = 6, .out = 5}),
                                         mlp_t<float>::v1({.in = 7, .out = 4}),
                                         mlp_t<float>::v1({.in = 4, .out = 4})}),
                       doctest::Contains("the projector takes 7 features but the encoder gives 5"),
                       value_error);
  CHECK_THROWS_WITH_AS((mlp_byol<float>{mlp_t<float>::v1({.in = 6, .out = 5}),
                                         mlp_t<float>::v1({.in = 5, .out = 4}),
                                         mlp_t<float>::v1({.in = 4, .out = 3})}),
                       doctest::Contains("the predictor maps 4 → 3"), value_error);
  CHECK_THROWS_AS((mlp_byol<float>{mlp_t<float>::v1({.in = 6, .out = 5}),
                                   mlp_t<float>::v1({.in = 5, .out = 4}),
                                   mlp_t<float>::v1({.in = 4, .out = 4}),
                                   {.base_momentum = 1.5}}),
                  value_error);
  CHECK_THROWS_AS(net.forward_backward(tensor<float>(shape{3, 6})), shape_error);
}

TEST_CASE("byol: the online gradients agree with finite differences in double (target fixed)") {
  auto net = small_byol<double>();
  // A target that differs from the online network (as after some training).
  net.target_encoder().visit_state(
      [&](const nn::state_ref<double, cpu_t>& s) {
        if (s.kind == nn::state_kind::parameter)
          random::fill_normal(s.value->view(), random::key(s.value->numel()), 0.0, 0.5);
      },
      "");
  tensor<double> views(shape{8, 6});
  random::fill_normal(views.view(), random::key(7));
  (void)net.forward_backward(views);
  std::vector<tensor<double>> grads;
  std::vector<testing::gradcheck_input> inputs;
  const auto params = net.parameters();
  for (const auto& p : params) grads.push_back(*p.grad);  // forward_backward overwrites them
  for (std::size_t k = 0; k < params.size(); ++k)
    inputs.push_back({params[k].name, *params[k].value, grads[k]});
  auto f = [&] { return net.forward_backward(views).loss; };
  const auto g = testing::gradcheck(f, inputs);
  CHECK_MESSAGE(g.passed, g.message());
  CHECK(g.checked > 200);
}

TEST_CASE("byol: after_step moves the target by the cosine momentum schedule") {
  auto net = small_byol<float>(0.9);
  tensor<float> views(shape{8, 6});
  random::fill_normal(views.view(), random::key(1));
  optim::sgd<float> sgd(optim::sgd_options{});
  const auto target_before = test::flat_state(net.target_encoder());
  (void)net.forward_backward(views);
  const auto params = net.encoder().parameters();
  sgd.step(std::span<const parameter<float, cpu_t>>(params), 0.5);
  // Step 0 of 10: τ = base = 0.9 for every parameter.
  const auto online = test::flat_state(net.encoder());
  net.after_step(0, 10);
  const auto target_after = test::flat_state(net.target_encoder());
  REQUIRE(target_after.size() == online.size());
  // Parameters: exactly τ·old + (1 − τ)·online (running statistics also moved in the
  // target's own forward pass, so only parameters are compared).
  bool moved = false;
  std::size_t k = 0;
  net.encoder().visit_state(
      [&](const nn::state_ref<float, cpu_t>& s) {
        if (s.value == nullptr) return;  // a counter (flat_state skips them too)
        const std::size_t n = static_cast<std::size_t>(s.value->numel());
        if (s.kind == nn::state_kind::parameter)
          for (std::size_t j = k; j < k + n; ++j) {
            CHECK(target_after[j] == doctest::Approx(0.9 * target_before[j] + 0.1 * online[j]).epsilon(1e-6));
            moved = moved || target_after[j] != target_before[j];
          }
        k += n;
      },
      "");
  CHECK(moved);
  // At the last step τ = 1: the target stays where it is.
  const auto frozen = test::flat_state(net.target_encoder());
  net.after_step(10, 10);
  CHECK(test::flat_state(net.target_encoder()) == frozen);
}

TEST_CASE("byol: trains through fit on images, checkpoints both networks and resumes exactly") {
  const test::toy_images data(32, 10, 4, 5);
  const auto policy = augment::fashion_mnist_policy(10);
  auto a = resnet_byol(1);
  optim::sgd<float> sgd_a({.momentum = 0.9});
  const auto target0 = test::flat_state(a.target_encoder());
  const auto ra = train::fit(a, sgd_a, data, policy, options(test::fresh_dir("byol-straight"), 2));
  REQUIRE(ra.steps.size() == 8);
  for (const auto& s : ra.steps) CHECK(std::isfinite(s.loss));
  CHECK(ra.steps.front().loss >= 0.0);
  CHECK(ra.steps.front().loss <= 8.0);
  CHECK(test::flat_state(a.target_encoder()) != target0);  // the target followed

  const fs::path dir = test::fresh_dir("byol-resumed");
  auto b = resnet_byol(1);
  optim::sgd<float> sgd_b({.momentum = 0.9});
  auto first_slice = options(dir, 2);
  first_slice.stop_after_epochs = 1;  // a job cut in two: the momentum schedule spans 2 epochs
  CHECK(train::fit(b, sgd_b, data, policy, first_slice).steps.size() == 4);
  auto c = resnet_byol(42);  // different init: online and target must come from the checkpoint
  optim::sgd<float> sgd_c({.momentum = 0.9});
  const auto rc = train::fit(c, sgd_c, data, policy, options(dir, 2), dir / "checkpoint.safetensors");
  CHECK(rc.steps.size() == 4);
  CHECK(test::flat_state(c) == test::flat_state(a));
  CHECK(test::flat_state(c.target_encoder()) == test::flat_state(a.target_encoder()));
}
