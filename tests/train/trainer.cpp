// The training loop: exact resume, thread-count independence, NaN handling, logs and checkpoints.
#include <simclr/train/trainer.hpp>
#include <simclr/train/checkpoint.hpp>
#include <simclr/train/knn_monitor.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include <doctest/doctest.h>

#include <simclr/augment/policy.hpp>
#include <simclr/encoders/resnet.hpp>
#include <simclr/head/mlp.hpp>
#include <simclr/loss/nt_xent.hpp>
#include <simclr/optim/sgd.hpp>

#include "support/run_dir.hpp"
#include "support/toy_data.hpp"

using namespace simclr;
namespace fs = std::filesystem;

namespace {
auto make_model(std::uint64_t seed = 1) {
  return model{encoders::resnet18<float>({.base_width = 4, .in_channels = 1,
                                          .stem = encoders::stem::cifar, .seed = seed}),
               head::mlp<float>::v1({.in = 32, .out = 16, .batch_norm = false, .seed = seed}),
               loss::nt_xent<float>({.temperature = 0.5})};
}
optim::sgd<float> make_sgd() {
  return optim::sgd<float>({.momentum = 0.9, .nesterov = true, .weight_decay = 5e-4});
}
train::trainer_options options(const fs::path& dir, index_t epochs) {
  return {.epochs = epochs, .batch_size = 8, .seed = 11, .base_lr = 0.3, .warmup_epochs = 1,
          .out_dir = dir, .progress = train::trainer_options::progress_style::none, .metadata = {}};
}
}  // namespace

TEST_CASE("fit: two epochs straight equal one epoch, resume, one more epoch (bit-identical)") {
  const test::toy_images data(32, 12, 4, 5);
  const auto policy = augment::fashion_mnist_policy(10);

  auto a = make_model();
  auto opt_a = make_sgd();
  const auto ra = train::fit(a, opt_a, data, policy, options(test::fresh_dir("trainer-straight"), 2));
  CHECK(ra.steps.size() == 8);
  CHECK(ra.epochs_done == 2);

  const fs::path dir = test::fresh_dir("trainer-resumed");
  {
    auto b = make_model();
    auto opt_b = make_sgd();
    const auto rb = train::fit(b, opt_b, data, policy, options(dir, 1));
    CHECK(rb.last_checkpoint == dir / "checkpoint.safetensors");
  }
  auto c = make_model(99);  // different init: everything must come from the checkpoint
  auto opt_c = make_sgd();
  const auto rc = train::fit(c, opt_c, data, policy, options(dir, 2), dir / "checkpoint.safetensors");
  CHECK(rc.steps.size() == 4);
  CHECK(rc.steps.front().step == 4);
  const auto sa = test::flat_state(a), sc = test::flat_state(c);
  REQUIRE(sa.size() == sc.size());
  CHECK(std::memcmp(sa.data(), sc.data(), sa.size() * sizeof(float)) == 0);
  // The log has one line per step of both runs.
  std::ifstream log(dir / "train.jsonl");
  std::string line, last;
  int lines = 0;
  while (std::getline(log, line)) {
    ++lines;
    last = line;
  }
  CHECK(lines == 8);
  CHECK(last.find("\"step\":7") != std::string::npos);
}

TEST_CASE("fit: after a kill, resume logs every step once and removes the stale checkpoint temporary") {
  const test::toy_images data(32, 12, 4, 5);
  const auto policy = augment::fashion_mnist_policy(10);
  const fs::path dir = test::fresh_dir("trainer-killed");
  {
    auto b = make_model();
    auto opt_b = make_sgd();
    (void)train::fit(b, opt_b, data, policy, options(dir, 1));  // steps 0–3, checkpoint at 4
  }
  // What a kill -9 in epoch 2 leaves: two more steps logged, a line cut short, and the
  // temporary file of a checkpoint being written by a process that no longer exists.
  {
    std::ofstream log(dir / "train.jsonl", std::ios::app);
    log << "{\"epoch\":1,\"step\":4,\"loss\":9}\n{\"epoch\":1,\"step\":5,\"loss\":9}\n"
        << "{\"epoch\":1,\"step\":6,\"lr";
  }
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  REQUIRE(child > 0);
  REQUIRE(::waitpid(child, nullptr, 0) == child);  // its pid now names no process
  const fs::path stale = dir / (".checkpoint.safetensors.tmp-" + std::to_string(child) + "-0");
  const fs::path live = dir / (".checkpoint.safetensors.tmp-" + std::to_string(::getpid()) + "-7");
  std::ofstream(stale) << "partial";
  std::ofstream(live) << "in progress";
  auto c = make_model(99);
  auto opt_c = make_sgd();
  (void)train::fit(c, opt_c, data, policy, options(dir, 2), dir / "checkpoint.safetensors");
  CHECK_FALSE(fs::exists(stale));
  CHECK(fs::exists(live));  // a running writer's file is left alone
  std::ifstream log(dir / "train.jsonl");
  std::string line;
  std::vector<std::int64_t> steps;
  while (std::getline(log, line)) {
    CHECK(line.find("\"loss\":9}") == std::string::npos);  // the killed run's steps are gone
    steps.push_back(train::detail::logged_step(line));
  }
  CHECK(steps == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
}

TEST_CASE("fit: a step log that cannot be written (a full disk) is an io_error naming it") {
  if (!fs::exists("/dev/full")) {
    MESSAGE("skipped: no /dev/full on this machine");
    return;
  }
  const test::toy_images data(16, 12, 2, 7);
  const auto policy = augment::fashion_mnist_policy(10);
  const fs::path dir = test::fresh_dir("trainer-full");
  fs::create_directories(dir);
  fs::create_symlink("/dev/full", dir / "train.jsonl");  // every write fails with ENOSPC
  auto net = make_model();
  auto opt = make_sgd();
  try {
    (void)train::fit(net, opt, data, policy, options(dir, 1));
    FAIL("no io_error");
  } catch (const io_error& e) {
    CHECK(e.path() == (dir / "train.jsonl").string());
    CHECK(std::string(e.what()).find("cannot write the step log (disk full?) at step 0") !=
          std::string::npos);
    CHECK(std::string(e.what()).find("no checkpoint was written yet") != std::string::npos);
  }
}

TEST_CASE("fit: bit-identical weights for 1 and 2 threads") {
  const test::toy_images data(24, 12, 3, 6);
  const auto policy = augment::fashion_mnist_policy(10);
  auto run = [&](std::size_t threads) {
    parallel::set_num_threads(threads);
    auto net = make_model();
    auto opt = make_sgd();
    auto o = options(test::fresh_dir("trainer-threads" + std::to_string(threads)), 1);
    o.loader_threads = threads;
    (void)train::fit(net, opt, data, policy, o);
    return test::flat_state(net);
  };
  const auto one = run(1), two = run(2);
  parallel::set_num_threads(2);
  REQUIRE(one.size() == two.size());
  CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
}

namespace {
/// NT-Xent that reports NaN from its third call on, to test how training stops.
struct failing_loss {
  loss::nt_xent<float> inner{loss::nt_xent_options{}};
  int calls = 0;
  loss::nt_xent_result<float, cpu_t> operator()(const tensor<float>& z) {
    auto r = inner(z);
    if (++calls >= 3) r.value = std::nan("");
    return r;
  }
};
}  // namespace

TEST_CASE("fit: a NaN loss stops training, names the step and keeps the last checkpoint") {
  const test::toy_images data(16, 12, 2, 7);
  const auto policy = augment::fashion_mnist_policy(10);
  model net{encoders::resnet18<float>({.base_width = 2, .in_channels = 1, .stem = encoders::stem::cifar}),
            head::mlp<float>::v1({.in = 16, .out = 8}), failing_loss{}};
  auto opt = make_sgd();
  const fs::path dir = test::fresh_dir("trainer-nan");
  CHECK_THROWS_WITH_AS(train::fit(net, opt, data, policy, options(dir, 3)),
                       doctest::Contains("training diverged"), value_error);
  try {
    (void)train::fit(net, opt, data, policy, options(test::fresh_dir("trainer-nan2"), 3));
  } catch (const value_error& e) {
    CHECK(std::string(e.what()).find("no checkpoint was written yet") != std::string::npos);
  }
  // The checkpoint of the one complete epoch (2 steps) is intact and loadable.
  auto fresh = make_sgd();
  const auto info = train::load_checkpoint(dir / "checkpoint.safetensors", net, fresh);
  CHECK(info.epoch == 1);
  CHECK(info.step == 2);
}

TEST_CASE("checkpoint: a foreign or incomplete file is refused with the reason") {
  auto net = make_model();
  auto opt = make_sgd();
  const fs::path dir = test::fresh_dir("trainer-ckpt");
  fs::create_directories(dir);
  train::save_checkpoint(dir / "a.safetensors", net, opt, {.epoch = 3, .step = 30, .seed = 2, .extra = {}});
  const auto info = train::load_checkpoint(dir / "a.safetensors", net, opt);
  CHECK(info.epoch == 3);
  CHECK(info.seed == 2);
  auto other = model{encoders::resnet18<float>({.base_width = 8, .in_channels = 1,
                                                .stem = encoders::stem::cifar}),
                     head::mlp<float>::v1({.in = 64, .out = 16}), loss::nt_xent<float>{}};
  CHECK_THROWS_AS(train::load_checkpoint(dir / "a.safetensors", other, opt), error);
  io::write_safetensors(dir / "b.safetensors", {});
  CHECK_THROWS_WITH_AS(train::load_checkpoint(dir / "b.safetensors", net, opt),
                       doctest::Contains("metadata field \"format\" is missing"), io_error);
}

TEST_CASE("model: a head whose width differs from the encoder's is reported with both widths") {
  CHECK_THROWS_WITH_AS(
      (model{encoders::resnet18<float>({.base_width = 4}), head::mlp<float>::v1({.in = 512}),
             loss::nt_xent<float>{}}),
      "simclr: model: the head takes 512 features but the encoder gives 32 — make the head's "
      "input width the encoder's output_dim()",
      value_error);
}

TEST_CASE("fit: device_augment with a CPU model is refused before training") {
  const test::toy_images data(16, 12, 2, 1);
  auto net = make_model();
  auto opt = make_sgd();
  auto o = options(test::fresh_dir("trainer-device-augment-cpu"), 1);
  o.device_augment = true;
  CHECK_THROWS_WITH_AS(train::fit(net, opt, data, augment::fashion_mnist_policy(10), o),
                       doctest::Contains("device_augment needs a device model"), value_error);
}

TEST_CASE("fit: stop_after_epochs ends the call early; a negative one is refused") {
  const test::toy_images data(16, 12, 2, 1);
  auto net = make_model();
  auto opt = make_sgd();
  auto o = options(test::fresh_dir("trainer-stop-after"), 3);
  o.stop_after_epochs = 1;
  const auto r = train::fit(net, opt, data, augment::fashion_mnist_policy(10), o);
  CHECK(r.epochs_done == 1);
  CHECK(r.steps.back().epoch == 0);
  o.stop_after_epochs = -1;
  CHECK_THROWS_WITH_AS(train::fit(net, opt, data, augment::fashion_mnist_policy(10), o),
                       doctest::Contains("stop_after_epochs is -1"), value_error);
}

namespace {
/// The toy images as a labelled data::dataset (what the kNN monitor takes).
data::dataset toy_dataset(const test::toy_images& toy, index_t first, index_t count) {
  const auto& first_image = toy.image(0);
  const index_t side = first_image.extent(0);
  data::dataset d;
  d.images = tensor<std::uint8_t, cpu_t>(shape{count, side, side, 1});
  d.labels = tensor<std::int32_t, cpu_t>(shape{count});
  d.num_classes = 4;
  for (index_t i = 0; i < count; ++i) {
    const auto& img = toy.image(first + i);
    std::copy(img.data(), img.data() + img.numel(), d.images.data() + i * side * side);
    d.labels.data()[i] = toy.labels[static_cast<std::size_t>(first + i)];
  }
  return d;
}
}  // namespace

TEST_CASE("fit: the online monitor runs every k steps, is logged, and leaves training unchanged") {
  const test::toy_images data(32, 12, 4, 5);
  const auto policy = augment::fashion_mnist_policy(10);
  auto plain = make_model();
  auto opt_plain = make_sgd();
  (void)train::fit(plain, opt_plain, data, policy, options(test::fresh_dir("monitor-off"), 2));

  auto watched = make_model();
  auto opt_watched = make_sgd();
  const train::knn_monitor knn(watched.encoder(), toy_dataset(data, 0, 20), toy_dataset(data, 20, 12),
                               {.k = 5});
  int calls = 0;
  const fs::path dir = test::fresh_dir("monitor-on");
  auto o = options(dir, 2);
  o.monitor_every = 3;
  o.monitor = [&] {
    ++calls;
    return knn();
  };
  const auto r = train::fit(watched, opt_watched, data, policy, o);
  REQUIRE(r.steps.size() == 8);
  CHECK(calls == 2);  // after steps 3 and 6 (1-based)
  for (std::size_t i = 0; i < r.steps.size(); ++i) {
    CAPTURE(i);
    CHECK(r.steps[i].monitor.has_value() == (i == 2 || i == 5));
    if (r.steps[i].monitor) CHECK((*r.steps[i].monitor >= 0.0 && *r.steps[i].monitor <= 1.0));
  }
  // Measuring changes nothing: the weights equal those of the run without a monitor.
  const auto sa = test::flat_state(plain), sb = test::flat_state(watched);
  REQUIRE(sa.size() == sb.size());
  CHECK(std::memcmp(sa.data(), sb.data(), sa.size() * sizeof(float)) == 0);
  // The log carries the values on those steps' lines, and they are the encoder's at that step:
  // measured again after the last step, the monitor gives the last line's value.
  std::ifstream log(dir / "train.jsonl");
  std::string line;
  int with_monitor = 0;
  while (std::getline(log, line)) with_monitor += line.find("\"monitor\":") != std::string::npos;
  CHECK(with_monitor == 2);
  o.monitor_every = 8;
  auto again = make_model();
  auto opt_again = make_sgd();
  const train::knn_monitor knn_again(again.encoder(), toy_dataset(data, 0, 20),
                                     toy_dataset(data, 20, 12), {.k = 5});
  o.monitor = [&] { return knn_again(); };
  o.out_dir = test::fresh_dir("monitor-last");
  const auto last = train::fit(again, opt_again, data, policy, o);
  REQUIRE(last.steps.back().monitor.has_value());
  CHECK(*last.steps.back().monitor == knn_again());
}

TEST_CASE("fit and knn_monitor: a monitor without a function, a negative period, empty sets") {
  const test::toy_images data(32, 12, 4, 5);
  const auto policy = augment::fashion_mnist_policy(10);
  auto net = make_model();
  auto opt = make_sgd();
  auto o = options(test::fresh_dir("monitor-bad"), 1);
  o.monitor_every = 2;
  CHECK_THROWS_WITH_AS((void)train::fit(net, opt, data, policy, o),
                       doctest::Contains("no monitor is set"), value_error);
  o.monitor_every = -1;
  o.monitor = [] { return 0.0; };
  CHECK_THROWS_WITH_AS((void)train::fit(net, opt, data, policy, o),
                       doctest::Contains("monitor_every is -1"), value_error);
  using monitor_type = train::knn_monitor<std::remove_reference_t<decltype(net.encoder())>>;
  CHECK_THROWS_WITH_AS(monitor_type(net.encoder(), toy_dataset(data, 0, 4), data::dataset{}),
                       doctest::Contains("at least one each"), value_error);
}
