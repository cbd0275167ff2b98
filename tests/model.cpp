// simclr::model and the concept contract: a user's encoder, optimizer and method, each written
// only to its concept, work in every entry point that accepts that concept (model, train::fit,
// checkpoints, io::save_weights), on the same footing as the library's own.
#include <simclr/model.hpp>

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/augment/policy.hpp>
#include <simclr/head/mlp.hpp>
#include <simclr/loss/nt_xent.hpp>
#include <simclr/nn/flatten.hpp>
#include <simclr/nn/linear.hpp>
#include <simclr/optim/sgd.hpp>
#include <simclr/train/checkpoint.hpp>
#include <simclr/train/trainer.hpp>

#include "support/run_dir.hpp"
#include "support/toy_data.hpp"

using namespace simclr;
namespace fs = std::filesystem;

namespace {

/// A user's encoder built from library layers: flatten, then one linear map to `out` features.
/// It states exactly what simclr::encoder asks for and nothing else.
struct user_encoder {
  using scalar_type = float;
  using backend_type = cpu_t;
  nn::flatten<float> flat;
  nn::linear<float> fc;

  user_encoder(index_t in, index_t out, std::uint64_t seed) : fc({in, out, true}) {
    fc.reset_parameters(random::derive(seed, 1));
  }
  tensor<float> forward(const tensor<float>& x, mode m) { return fc.forward(flat.forward(x, m), m); }
  tensor<float> backward(const tensor<float>& dh) { return flat.backward(fc.backward(dh)); }
  [[nodiscard]] index_t output_dim() const { return fc.options().out; }
  std::vector<parameter<float>> parameters() { return nn::parameters_of<float, cpu_t>(*this); }
  void visit_state(const nn::state_visitor<float, cpu_t>& f, const std::string& prefix) {
    fc.visit_state(f, nn::join_name(prefix, "fc"));
  }
};
static_assert(encoder<user_encoder>);

/// A user's optimizer: plain SGD with a step counter as its only state, checkpointable.
struct user_sgd {
  std::int64_t steps = 0;
  void bind(std::span<const parameter<float>>) {}
  void step(std::span<const parameter<float>> params, double lr) {
    for (const auto& p : params)
      for (index_t i = 0; i < p.value->numel(); ++i)
        p.value->data()[i] -= static_cast<float>(lr) * p.grad->data()[i];
    ++steps;
  }
  optim::optimizer_state<float, cpu_t> state() { return {&steps, {}}; }
};
static_assert(checkpointable_optimizer<user_sgd>);

/// A user's method that is not simclr::model: an encoder trained to pull the two views of an
/// image together with the mean squared distance (it would collapse; the test only needs the
/// loop to drive it) and counting the after_step calls fit makes.
struct user_method {
  using scalar_type = float;
  using backend_type = cpu_t;
  user_encoder f{100, 8, 3};
  std::vector<std::int64_t> after_steps;
  std::int64_t total = -1;

  step_metrics forward_backward(const tensor<float>& views) {
    zero_grad();
    const tensor<float> h = f.forward(views, mode::train);
    const index_t two_n = h.extent(0), n = two_n / 2, d = h.extent(1);
    tensor<float> dh(h.shape());
    double loss = 0;
    for (index_t i = 0; i < two_n; ++i)
      for (index_t k = 0; k < d; ++k) {
        const double diff = double(h(i, k)) - double(h((i + n) % two_n, k));
        loss += diff * diff / double(two_n);
        dh(i, k) = static_cast<float>(2.0 / double(n) * diff);
      }
    (void)f.backward(dh);
    return {.loss = loss};
  }
  void after_step(std::int64_t step, std::int64_t total_steps) {
    after_steps.push_back(step);
    total = total_steps;
  }
  std::vector<parameter<float>> parameters() { return f.parameters(); }
  void visit_state(const nn::state_visitor<float, cpu_t>& v, const std::string& prefix) {
    f.visit_state(v, nn::join_name(prefix, "f"));
  }
  void zero_grad() { nn::zero_grad_of<float, cpu_t>(*this); }
};
static_assert(trainable_model<user_method>);

train::trainer_options options(const fs::path& dir, index_t epochs) {
  // One warm-up epoch: a run of one epoch then has the same schedule as the first epoch of two.
  return {.epochs = epochs, .batch_size = 8, .seed = 3, .base_lr = 0.1, .warmup_epochs = 1,
          .out_dir = dir, .progress = train::trainer_options::progress_style::none, .metadata = {}};
}

}  // namespace

TEST_CASE("model: the concept ladder — module under encoder, head and trainable_model") {
  using net_t = model<user_encoder, head::mlp<float>, loss::nt_xent<float>>;
  static_assert(module<user_encoder> && module<head::mlp<float>>);
  static_assert(trainable_model<net_t>);
  static_assert(trainable_model<user_method>);
  static_assert(!trainable_model<user_encoder>);  // no forward_backward
  static_assert(checkpointable_optimizer<optim::sgd<float>>);
  static_assert(checkpointable_optimizer<optim::sgd<double>, double>);
  static_assert(!checkpointable_optimizer<optim::sgd<float>, double>);
  static_assert(same_scalar_as<net_t, user_encoder> && same_backend_as<net_t, head::mlp<float>>);
}

TEST_CASE("model: train_step is forward_backward, then the optimizer's step") {
  const auto make = [] {
    return model{user_encoder(100, 8, 1),
                 head::mlp<float>::v1({.in = 8, .hidden = 8, .out = 4, .batch_norm = false, .seed = 1}),
                 loss::nt_xent<float>({.temperature = 0.5})};
  };
  auto a = make(), b = make();
  tensor<float> views(shape{8, 1, 10, 10});
  for (index_t i = 0; i < views.numel(); ++i) views.data()[i] = float((i * 37) % 101) / 101.0f;
  user_sgd oa, ob;
  const step_metrics ma = a.train_step(views, oa, 0.1);
  const step_metrics mb = b.forward_backward(views);
  const auto pb = b.parameters();
  ob.step(std::span<const parameter<float>>(pb), 0.1);
  CHECK(ma.loss == mb.loss);
  CHECK(ma.top1_accuracy == mb.top1_accuracy);
  CHECK(test::flat_state(a) == test::flat_state(b));
  CHECK(ma.loss > 0);
  // The embedding path in evaluation mode: h then z.
  CHECK(a.embed(views).shape() == shape{8, 4});
  CHECK(a.represent(views).shape() == shape{8, 8});
}

TEST_CASE("model: a user encoder and a user optimizer train, checkpoint and resume through fit") {
  const test::toy_images data(32, 10, 4, 5);
  const auto policy = augment::fashion_mnist_policy(10);
  const auto make = [](std::uint64_t seed) {
    return model{user_encoder(100, 8, seed),
                 head::mlp<float>::v1({.in = 8, .hidden = 8, .out = 4, .batch_norm = false, .seed = seed}),
                 loss::nt_xent<float>({.temperature = 0.5})};
  };
  auto a = make(1);
  user_sgd opt_a;
  const auto ra = train::fit(a, opt_a, data, policy, options(test::fresh_dir("model-straight"), 2));
  CHECK(ra.steps.size() == 8);
  CHECK(opt_a.steps == 8);

  const fs::path dir = test::fresh_dir("model-resumed");
  auto b = make(1);
  user_sgd opt_b;
  (void)train::fit(b, opt_b, data, policy, options(dir, 1));
  auto c = make(99);  // different init: everything must come from the checkpoint
  user_sgd opt_c;
  const auto rc = train::fit(c, opt_c, data, policy, options(dir, 2), dir / "checkpoint.safetensors");
  CHECK(rc.steps.size() == 4);
  CHECK(opt_c.steps == 8);
  CHECK(test::flat_state(c) == test::flat_state(a));
}

TEST_CASE("model: a method that is not simclr::model runs through fit, with after_step each step") {
  const test::toy_images data(32, 10, 4, 5);
  const auto policy = augment::fashion_mnist_policy(10);
  user_method m;
  optim::sgd<float> sgd({.momentum = 0.9});
  const auto before = test::flat_state(m);
  const auto r = train::fit(m, sgd, data, policy, options(test::fresh_dir("model-method"), 2));
  REQUIRE(r.steps.size() == 8);
  CHECK(m.after_steps == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(m.total == 8);
  CHECK(test::flat_state(m) != before);
  // Its checkpoint restores into a fresh instance with the library's optimizer state.
  user_method fresh;
  optim::sgd<float> sgd2({.momentum = 0.9});
  const auto info =
      train::load_checkpoint(fs::temp_directory_path() / "simclr-model-method/checkpoint.safetensors",
                             fresh, sgd2);
  CHECK(info.step == 8);
  CHECK(test::flat_state(fresh) == test::flat_state(m));
}
