// Tests of simclr::methods::moco: the concept, the gradient of the online network by finite
// differences, the FIFO queue, the key network's momentum, training, checkpoint and exact
// resume (queue included) through fit.
#include <simclr/methods/moco.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/augment/multi_crop.hpp>
#include <simclr/augment/policy.hpp>
#include <simclr/encoders/resnet.hpp>
#include <simclr/head/mlp.hpp>
#include <simclr/optim/sgd.hpp>
#include <simclr/random/fill.hpp>
#include <simclr/testing/gradcheck.hpp>
#include <simclr/train/trainer.hpp>

#include "support/run_dir.hpp"
#include "support/toy_data.hpp"

namespace {

template <class T>
using moco_mlp = simclr::methods::moco<simclr::head::mlp<T>, simclr::head::mlp<T>>;

/// A small MoCo whose encoder is itself an MLP: inputs of width 6, h of width 5, keys of width 4.
template <class T>
moco_mlp<T> small_moco(simclr::methods::moco_options o = {.queue_size = 10}) {
  using simclr::head::mlp;
  return {mlp<T>::v1({.in = 6, .hidden = 8, .out = 5, .seed = 1}),
          mlp<T>::v1({.in = 5, .hidden = 8, .out = 4, .seed = 2}), o};
}

auto moco_resnet(std::uint64_t seed) {
  using namespace simclr;
  return methods::moco{encoders::resnet18<float>({.base_width = 2, .in_channels = 1,
                                                  .stem = encoders::stem::cifar, .seed = seed}),
                       head::mlp<float>::v1({.in = 16, .hidden = 16, .out = 8, .seed = seed}),
                       {.momentum = 0.9, .queue_size = 20}};
}

simclr::train::trainer_options moco_fit_options(const std::filesystem::path& dir,
                                                simclr::index_t epochs) {
  return {.epochs = epochs, .batch_size = 8, .seed = 3, .base_lr = 0.1, .warmup_epochs = 1,
          .out_dir = dir, .progress = simclr::train::progress_style::none, .metadata = {}};
}

/// A 3-epoch run straight through (`a`, `straight`) and the same run stopped after epoch 1 and
/// resumed from its checkpoint by a network of another initialisation (`c`, `resumed`).
struct moco_runs {
  decltype(moco_resnet(1)) a, c;
  simclr::train::fit_result straight, resumed;
};
template <class Policy>
moco_runs fit_straight_and_resumed(const Policy& policy, const std::string& name) {
  using namespace simclr;
  const test::toy_images data(32, 12, 4, 5);
  moco_runs r{moco_resnet(1), moco_resnet(42), {}, {}};  // c: networks and queue come from the checkpoint
  optim::sgd<float> sgd_a({.momentum = 0.9});
  r.straight = train::fit(r.a, sgd_a, data, policy, moco_fit_options(test::fresh_dir(name + "-straight"), 3));
  const std::filesystem::path dir = test::fresh_dir(name + "-resumed");
  auto b = moco_resnet(1);
  optim::sgd<float> sgd_b({.momentum = 0.9});
  auto first_slice = moco_fit_options(dir, 3);
  first_slice.stop_after_epochs = 1;
  CHECK(train::fit(b, sgd_b, data, policy, first_slice).steps.size() == 4);
  optim::sgd<float> sgd_c({.momentum = 0.9});
  r.resumed = train::fit(r.c, sgd_c, data, policy, moco_fit_options(dir, 3),
                         dir / "checkpoint.safetensors");
  return r;
}

/// The online gradients of one step (`step(net)`, a forward_backward) against finite
/// differences of its loss; each evaluation runs on a copy, so the queue and the running
/// statistics stay as they were.
template <class Net, class Step>
simclr::testing::gradcheck_result online_gradcheck(Net& net, Step step) {
  const auto snapshot = net;
  (void)step(net);
  std::vector<simclr::tensor<double>> grads;
  for (const auto& p : net.parameters()) grads.push_back(*p.grad);
  net = snapshot;
  const auto params = net.parameters();
  std::vector<simclr::testing::gradcheck_input> inputs;
  for (std::size_t k = 0; k < params.size(); ++k)
    inputs.push_back({params[k].name, *params[k].value, grads[k]});
  return simclr::testing::gradcheck(
      [&] {
        auto copy = net;
        return step(copy).loss;
      },
      inputs);
}

}  // namespace

TEST_CASE("moco: a trainable_model whose optimizer sees the online parameters only") {
  using namespace simclr;
  static_assert(trainable_model<moco_mlp<float>>);
  static_assert(trainable_model<moco_mlp<double>>);
  auto net = small_moco<float>();
  for (const auto& p : net.parameters()) CHECK(p.name.rfind("key.", 0) == std::string::npos);
  CHECK(net.parameters().size() ==
        net.encoder().parameters().size() + net.head().parameters().size());
  int queue_entries = 0;
  net.visit_state(
      [&](const nn::state_ref<float, cpu_t>& s) {
        if (s.name.rfind("key.", 0) == 0) CHECK(s.kind != nn::state_kind::parameter);
        if (s.name.rfind("queue", 0) == 0) ++queue_entries;
      },
      "");
  CHECK(queue_entries == 3);  // queue, queue.position, queue.filled
  using mlp = head::mlp<float>;
  CHECK_THROWS_WITH_AS((moco_mlp<float>{mlp::v1({.in = 6, .out = 5}), mlp::v1({.in = 7, .out = 4})}),
                       doctest::Contains("the head takes 7 features but the encoder gives 5"),
                       value_error);
  CHECK_THROWS_AS((moco_mlp<float>{mlp::v1({.in = 6, .out = 5}), mlp::v1({.in = 5, .out = 4}),
                                   {.momentum = 1.5}}),
                  value_error);
  CHECK_THROWS_AS((moco_mlp<float>{mlp::v1({.in = 6, .out = 5}), mlp::v1({.in = 5, .out = 4}),
                                   {.queue_size = 0}}),
                  value_error);
  CHECK_THROWS_AS(net.forward_backward(tensor<float>(shape{3, 6})), shape_error);
}

TEST_CASE("moco: the queue is a FIFO of the keys' unit rows; the first step has no negatives") {
  using namespace simclr;
  for (const bool symmetric : {true, false}) {
    CAPTURE(symmetric);
    auto net = small_moco<double>({.queue_size = 10, .symmetric = symmetric});
    const index_t per_step = symmetric ? 8 : 4;  // 2N or N keys from a batch of 2N = 8 views
    std::vector<tensor<double>> batches;
    for (std::uint64_t s = 0; s < 3; ++s) {
      tensor<double> views(shape{8, 6});
      random::fill_normal(views.view(), random::key(10 + s));
      batches.push_back(views);
    }
    const auto first = net.forward_backward(batches[0]);
    CHECK(first.loss == doctest::Approx(0.0).epsilon(1e-15));  // an empty queue
    CHECK(net.queued() == per_step);
    CHECK(net.queue_position() == per_step % 10);
    (void)net.forward_backward(batches[1]);
    CHECK(net.queued() == std::min<index_t>(10, 2 * per_step));
    CHECK(net.queue_position() == (2 * per_step) % 10);
    // The newest keys are the key network's output for the third batch: recompute them.
    (void)net.forward_backward(batches[2]);
    // (MoCo v2: the key network saw view 2 alone, rows 4..7 — BN's batch statistics differ.)
    tensor<double> key_input(shape{symmetric ? 8 : 4, 6});
    for (index_t i = 0; i < key_input.extent(0); ++i)
      for (index_t j = 0; j < 6; ++j) key_input(i, j) = batches[2](i + (symmetric ? 0 : 4), j);
    auto k = net.key_head().forward(net.key_encoder().forward(key_input, mode::train), mode::train);
    CHECK(net.queued() == 10);
    // Row (position − 1) mod 10 holds the last key enqueued, normalised: symmetric, the keys
    // are swapped, so the last one is view 1 of the last image (row 3); MoCo v2, the last of
    // the four view-2 keys (row 3 of the key batch).
    const index_t last_slot = (net.queue_position() + 9) % 10;
    const index_t last_row = 3;
    double norm = 0;
    for (index_t j = 0; j < 4; ++j) norm += k(last_row, j) * k(last_row, j);
    for (index_t j = 0; j < 4; ++j)
      CHECK(net.queue()(last_slot, j) == doctest::Approx(k(last_row, j) / std::sqrt(norm)).epsilon(1e-12));
  }
}

TEST_CASE("moco: the online gradients agree with finite differences in double (queue fixed)") {
  using namespace simclr;
  auto net = small_moco<double>({.queue_size = 64, .symmetric = true});
  tensor<double> views(shape{8, 6});
  for (std::uint64_t s = 0; s < 6; ++s) {  // fill part of the queue
    random::fill_normal(views.view(), random::key(20 + s));
    (void)net.forward_backward(views);
  }
  random::fill_normal(views.view(), random::key(40));
  const auto g = online_gradcheck(net, [&](auto& m) { return m.forward_backward(views); });
  CHECK_MESSAGE(g.passed, g.message());
  CHECK(g.checked > 100);
}

TEST_CASE("moco: trains through fit on images, checkpoints the queue and resumes exactly") {
  using namespace simclr;
  auto [a, c, ra, rc] = fit_straight_and_resumed(augment::fashion_mnist_policy(10), "moco");
  REQUIRE(ra.steps.size() == 12);
  for (const auto& s : ra.steps) CHECK(std::isfinite(s.loss));
  CHECK(ra.steps.front().loss == doctest::Approx(0.0).epsilon(1e-6));  // empty queue at step 0
  CHECK(ra.steps.back().loss > 0.5);
  CHECK(a.queued() == 20);  // full: 12 steps × 16 keys through a ring of 20
  CHECK(rc.steps.size() == 8);
  CHECK(test::flat_state(c) == test::flat_state(a));  // online, key network and the queue
  CHECK(c.queue_position() == a.queue_position());
  CHECK(c.queued() == a.queued());
  for (std::size_t i = 0; i < rc.steps.size(); ++i)
    CHECK(rc.steps[i].loss == ra.steps[i + 4].loss);
}

TEST_CASE("moco multi-crop: the online gradients agree with finite differences in double") {
  using namespace simclr;
  for (const bool symmetric : {true, false}) {
    CAPTURE(symmetric);
    auto net = small_moco<double>({.queue_size = 64, .symmetric = symmetric});
    tensor<double> views(shape{8, 6}), crops(shape{12, 6});  // N = 4 images, 3 crops each
    for (std::uint64_t s = 0; s < 6; ++s) {  // fill part of the queue
      random::fill_normal(views.view(), random::key(20 + s));
      (void)net.forward_backward(views);
    }
    random::fill_normal(views.view(), random::key(40));
    random::fill_normal(crops.view(), random::key(41));
    const auto g = online_gradcheck(net, [&](auto& m) { return m.forward_backward(views, crops); });
    CHECK_MESSAGE(g.passed, g.message());
    CHECK(g.checked > 100);
  }
}

TEST_CASE("moco multi-crop: no crops is the two-view step; the global keys alone enter the queue") {
  using namespace simclr;
  auto a = small_moco<float>({.queue_size = 40});
  auto b = small_moco<float>({.queue_size = 40});
  auto c = small_moco<float>({.queue_size = 40});
  tensor<float> views(shape{8, 6}), crops(shape{8, 6});
  for (std::uint64_t s = 0; s < 3; ++s) {
    random::fill_normal(views.view(), random::key(50 + s));
    random::fill_normal(crops.view(), random::key(60 + s));
    const auto ma = a.forward_backward(views);
    const auto mb = b.forward_backward(views, tensor<float>(shape{0, 6}));
    const auto mc = c.forward_backward(views, crops);
    CHECK(ma.loss == mb.loss);
    if (s > 0) CHECK(mc.loss != ma.loss);  // the crops are queries too (a non-empty queue)
  }
  CHECK(test::flat_state(a) == test::flat_state(b));
  // The key network never sees a crop, and only its keys are queued: the same queue.
  CHECK(c.queued() == a.queued());
  CHECK(c.queue_position() == a.queue_position());
  CHECK(std::equal(c.queue().data(), c.queue().data() + c.queue().numel(), a.queue().data()));
  CHECK_THROWS_WITH_AS((void)a.forward_backward(views, tensor<float>(shape{6, 6})),
                       doctest::Contains("the local crops have shape (6, 6), expected (m·4"),
                       shape_error);
}

TEST_CASE("moco multi-crop: trains through fit with augment::multi_crop and resumes exactly") {
  using namespace simclr;
  static_assert(multi_crop_model<decltype(moco_resnet(1))>);
  const augment::multi_crop small(augment::fashion_mnist_policy(12), augment::fashion_mnist_policy(8), 2);
  auto [a, c, ra, rc] = fit_straight_and_resumed(small, "moco-crops");
  REQUIRE(ra.steps.size() == 12);
  for (const auto& s : ra.steps) CHECK(std::isfinite(s.loss));
  CHECK(ra.steps.back().loss > 0.5);
  REQUIRE(rc.steps.size() == 8);
  CHECK(test::flat_state(c) == test::flat_state(a));
  for (std::size_t i = 0; i < rc.steps.size(); ++i) CHECK(rc.steps[i].loss == ra.steps[i + 4].loss);
}

TEST_CASE("moco multi-crop: crop j of image i is a query against image i's global keys") {
  using namespace simclr;
  for (const bool symmetric : {true, false}) {
    CAPTURE(symmetric);
    // The MLPs have BatchNorm: the reference feeds each network the batches the step does.
    auto net = small_moco<double>({.queue_size = 30, .symmetric = symmetric});
    const index_t n = 4, m = 2, d = 4;
    tensor<double> views(shape{2 * n, 6}), crops(shape{m * n, 6});
    for (std::uint64_t s = 0; s < 3; ++s) {
      random::fill_normal(views.view(), random::key(70 + s));
      (void)net.forward_backward(views);
    }
    random::fill_normal(views.view(), random::key(80));
    random::fill_normal(crops.view(), random::key(81));
    tensor<double> first(shape{n, 6}), second(shape{n, 6});
    std::copy_n(views.data(), n * 6, first.data());
    std::copy_n(views.data() + n * 6, n * 6, second.data());
    // The reference, row by row, from the networks and the queue before the step.
    auto f = net.encoder();
    auto g = net.head();
    auto kf = net.key_encoder();
    auto kg = net.key_head();
    const tensor<double> queue = net.queue();
    const index_t filled = net.queued();
    const auto row = [&](const tensor<double>& t, index_t r) {
      return std::vector<double>(t.data() + r * d, t.data() + (r + 1) * d);
    };
    const tensor<double> qc = g.forward(f.forward(crops, mode::train), mode::train);
    std::vector<std::pair<std::vector<double>, std::vector<double>>> rows;  // (query, key)
    if (symmetric) {  // both views queries and keys; each query's key the other view's
      const tensor<double> qv = g.forward(f.forward(views, mode::train), mode::train);
      const tensor<double> kv = kg.forward(kf.forward(views, mode::train), mode::train);
      for (index_t i = 0; i < n; ++i) rows.push_back({row(qv, i), row(kv, n + i)});
      for (index_t i = 0; i < n; ++i) rows.push_back({row(qv, n + i), row(kv, i)});
      for (index_t v = 0; v < 2; ++v)
        for (index_t j = 0; j < m; ++j)
          for (index_t i = 0; i < n; ++i) rows.push_back({row(qc, j * n + i), row(kv, v * n + i)});
    } else {  // MoCo v2: view 1 the queries, view 2 the keys; the crops against view 2's
      const tensor<double> q1 = g.forward(f.forward(first, mode::train), mode::train);
      const tensor<double> k2 = kg.forward(kf.forward(second, mode::train), mode::train);
      for (index_t i = 0; i < n; ++i) rows.push_back({row(q1, i), row(k2, i)});
      for (index_t j = 0; j < m; ++j)
        for (index_t i = 0; i < n; ++i) rows.push_back({row(qc, j * n + i), row(k2, i)});
    }
    tensor<double> q(shape{static_cast<index_t>(rows.size()), d}), k(q.shape());
    for (std::size_t r = 0; r < rows.size(); ++r)
      for (index_t c = 0; c < d; ++c) {
        q(static_cast<index_t>(r), c) = rows[r].first[static_cast<std::size_t>(c)];
        k(static_cast<index_t>(r), c) = rows[r].second[static_cast<std::size_t>(c)];
      }
    const auto want = loss::info_nce<double>({.temperature = net.options().temperature})(q, k, queue, filled);
    const auto got = net.forward_backward(views, crops);
    CHECK(got.loss == doctest::Approx(want.value).epsilon(1e-12));
    CHECK(got.top1_accuracy == doctest::Approx(want.top1_accuracy).epsilon(1e-12));
  }
}
