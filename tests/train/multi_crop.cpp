// Multi-crop training: simclr::model's forward_backward(views, local_views) — gradients by finite
// differences in double through a ResNet, BatchNorm statistics as one module called twice, no
// crops = the two-view step — and train::fit with augment::multi_crop, resumed exactly.
#include <simclr/model.hpp>

#include <filesystem>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/augment/multi_crop.hpp>
#include <simclr/encoders/resnet.hpp>
#include <simclr/head/mlp.hpp>
#include <simclr/loss/nt_xent.hpp>
#include <simclr/optim/sgd.hpp>
#include <simclr/random/fill.hpp>
#include <simclr/testing/gradcheck.hpp>
#include <simclr/train/trainer.hpp>

#include "support/run_dir.hpp"
#include "support/toy_data.hpp"

namespace {

template <class T>
auto crop_net(std::uint64_t seed) {
  using namespace simclr;
  return model{encoders::resnet18<T>({.blocks = {1, 1, 1, 1}, .base_width = 2, .in_channels = 1,
                                      .stem = encoders::stem::cifar, .seed = seed}),
               head::mlp<T>::v1({.in = 16, .hidden = 6, .out = 5, .seed = seed}),
               loss::nt_xent<T>(loss::nt_xent_options{.temperature = 0.5})};
}

template <class T>
simclr::tensor<T> images_of(simclr::index_t rows, simclr::index_t side, std::uint64_t seed) {
  simclr::tensor<T> x(simclr::shape{rows, 1, side, side}, simclr::uninitialized);
  simclr::random::fill_normal(x.view(), simclr::random::key(seed));
  return x;
}

/// Every state entry (parameters, running statistics, counters) as doubles, in order.
template <class M>
std::vector<double> all_state(M& m) {
  using T = simclr::scalar_of<M>;
  std::vector<double> out;
  m.visit_state(
      [&](const simclr::nn::state_ref<T, simclr::cpu_t>& s) {
        if (s.count) out.push_back(static_cast<double>(s.count->data()[0]));
        else out.insert(out.end(), s.value->data(), s.value->data() + s.value->numel());
      },
      "");
  return out;
}

simclr::train::trainer_options crop_fit_options(const std::filesystem::path& dir,
                                                simclr::index_t epochs) {
  return {.epochs = epochs, .batch_size = 8, .seed = 9, .base_lr = 0.2, .warmup_epochs = 1,
          .out_dir = dir, .progress = simclr::train::progress_style::none, .metadata = {}};
}

}  // namespace

TEST_CASE("multi-crop model: gradients agree with finite differences in double") {
  using namespace simclr;
  static_assert(multi_crop_model<decltype(crop_net<float>(1))>);
  auto net = crop_net<double>(3);
  const auto views = images_of<double>(8, 8, 1);   // N = 4 images, two 8×8 global views
  const auto crops = images_of<double>(12, 5, 2);  // three 5×5 crops each
  const auto snapshot = net;
  const step_metrics m = net.forward_backward(views, crops);
  CHECK(std::isfinite(m.loss));
  std::vector<tensor<double>> grads;
  for (const auto& p : net.parameters()) grads.push_back(*p.grad);
  net = snapshot;
  const auto params = net.parameters();
  std::vector<testing::gradcheck_input> inputs;
  for (std::size_t k = 0; k < params.size(); ++k)
    inputs.push_back({params[k].name, *params[k].value, grads[k]});
  auto f = [&] {
    auto copy = net;  // training-mode BN: batch statistics; the running ones are left as they are
    return copy.forward_backward(views, crops).loss;
  };
  const auto g = testing::gradcheck(f, inputs, {.max_checks = 12});
  CHECK_MESSAGE(g.passed, g.message());
  CHECK(g.checked > 150);
}

TEST_CASE("multi-crop model: the loss is multi_crop_pairs of each group's own forward pass") {
  using namespace simclr;
  auto net = crop_net<double>(5);
  auto f = net.encoder();
  auto g = net.head();
  const auto views = images_of<double>(6, 8, 3);
  const auto crops = images_of<double>(6, 4, 4);
  const step_metrics m = net.forward_backward(views, crops);
  const auto zg = g.forward(f.forward(views, mode::train), mode::train);
  const auto zl = g.forward(f.forward(crops, mode::train), mode::train);
  const auto expected = loss::multi_crop_pairs(net.loss(), zg, zl);
  CHECK(m.loss == doctest::Approx(expected.value).epsilon(1e-13));
  CHECK(m.top1_accuracy == doctest::Approx(expected.top1_accuracy).epsilon(1e-13));
  // BatchNorm's running statistics and counters moved as one module called on the global
  // views, then on the crops.
  CHECK(all_state(net.encoder()) == all_state(f));
}

TEST_CASE("multi-crop model: no crops is the two-view step, bit for bit") {
  using namespace simclr;
  auto a = crop_net<float>(7);
  auto b = crop_net<float>(7);
  const auto views = images_of<float>(8, 8, 5);
  const step_metrics ma = a.forward_backward(views);
  const step_metrics mb = b.forward_backward(views, tensor<float>());
  CHECK(ma.loss == mb.loss);
  const auto pa = a.parameters(), pb = b.parameters();
  for (std::size_t k = 0; k < pa.size(); ++k)
    CHECK(std::equal(pa[k].grad->data(), pa[k].grad->data() + pa[k].grad->numel(),
                     pb[k].grad->data()));
  CHECK(all_state(a) == all_state(b));
}

TEST_CASE("multi-crop model: crops that do not match the global views are a shape_error") {
  using namespace simclr;
  auto net = crop_net<float>(1);
  const auto views = images_of<float>(8, 8, 1);
  CHECK_THROWS_WITH_AS((void)net.forward_backward(views, images_of<float>(6, 4, 2)),
                       doctest::Contains("the local crops have shape (6, 1, 4, 4), expected (m·4"),
                       shape_error);
  CHECK_THROWS_WITH_AS(
      (void)net.forward_backward(views, tensor<float>(shape{8, 3, 4, 4})),
      doctest::Contains("the local crops have shape (8, 3, 4, 4)"), shape_error);
}

TEST_CASE("multi-crop fit: trains on global views and crops, and resumes exactly") {
  using namespace simclr;
  const test::toy_images data(32, 12, 4, 5);
  const augment::multi_crop small(augment::fashion_mnist_policy(12), augment::fashion_mnist_policy(8), 2);
  auto a = crop_net<float>(1);
  optim::sgd<float> sgd_a({.momentum = 0.9});
  const auto ra = train::fit(a, sgd_a, data, small, crop_fit_options(test::fresh_dir("crops-straight"), 3));
  REQUIRE(ra.steps.size() == 12);
  for (const auto& s : ra.steps) {
    CHECK(std::isfinite(s.loss));
    CHECK(s.top1 >= 0.0);
  }
  CHECK(ra.steps.back().loss < ra.steps.front().loss);

  const std::filesystem::path dir = test::fresh_dir("crops-resumed");
  auto b = crop_net<float>(1);
  optim::sgd<float> sgd_b({.momentum = 0.9});
  auto first = crop_fit_options(dir, 3);
  first.stop_after_epochs = 1;
  CHECK(train::fit(b, sgd_b, data, small, first).steps.size() == 4);
  auto c = crop_net<float>(42);  // a different initialisation: everything comes from the checkpoint
  optim::sgd<float> sgd_c({.momentum = 0.9});
  const auto rc = train::fit(c, sgd_c, data, small, crop_fit_options(dir, 3),
                             dir / "checkpoint.safetensors");
  REQUIRE(rc.steps.size() == 8);
  CHECK(test::flat_state(c) == test::flat_state(a));
  for (std::size_t i = 0; i < rc.steps.size(); ++i) CHECK(rc.steps[i].loss == ra.steps[i + 4].loss);
}
