// A whole SimCLR training step, model<..., cuda_t> against model<..., cpu_t> from the same state.
#include "parity.cuh"

#include <cmath>
#include <filesystem>

#include <simclr/augment/multi_crop.hpp>
#include <simclr/augment/policy.hpp>
#include <simclr/methods/moco.hpp>
#include <simclr/train/checkpoint.hpp>
#include <simclr/train/trainer.hpp>

#include "support/toy_data.hpp"

using namespace simclr;
using parity::random_host;

namespace {
template <class B>
auto make_model(const encoders::resnet_options& o, index_t out_dim) {
  auto f = encoders::resnet18<float, B>(o);
  const index_t width = f.output_dim();
  return model{std::move(f), head::mlp<float, B>::v1({.in = width, .out = out_dim}),
               loss::nt_xent<float, B>({.temperature = 0.5})};
}

/// One LARS step of the CPU and the CUDA model from identical state and views; compares the
/// step's metrics, then every parameter, gradient, running statistic and counter.
void check_training_step(const encoders::resnet_options& o, const shape& views_shape) {
  auto cpu = make_model<cpu_t>(o, 16);
  auto gpu = make_model<cuda_t>(o, 16);
  parity::copy_state<float>(cpu, gpu);
  const auto views = random_host(views_shape, 51);
  optim::lars<float> opt_cpu;
  optim::lars<float, cuda_t> opt_gpu;
  for (int step = 0; step < 2; ++step) {
    const auto mc = cpu.train_step(views, opt_cpu, 0.3);
    const auto mg = gpu.train_step(to_device(views), opt_gpu, 0.3);
    CAPTURE(step);
    // Tolerance: 5e-4 relative on the loss, 1e-4 on the entropy — float GEMMs in another order
    // through ~20 layers, BatchNorm on small batches and the first LARS step amplifying them: on
    // the CPU alone, layer outputs moved by up to three ulps move the second loss by up to 9e-5.
    CHECK(mg.loss == doctest::Approx(mc.loss).epsilon(5e-4));
    CHECK(mg.mean_entropy == doctest::Approx(mc.mean_entropy).epsilon(1e-4));
  }
  // The state after two LARS steps at lr 0.3 within 2e-2, not 2e-3: on the CPU alone, views and
  // parameters moved by one ulp move it by up to 2.8e-3 (ImageNet stem, stem weight gradient)
  // and 7.9e-3 (CIFAR stem, layer1.0.conv2 weight gradient: a discrete jump, as from a ReLU input
  // near 0 changing sign), and the GPU's float sums round differently in every layer. A wrong
  // kernel is off by far more.
  parity::check_state<float>(cpu, gpu, 2e-2);
  const auto x = random_host(views_shape, 52);
  parity::check_close(cpu.embed(x), gpu.embed(to_device(x)), 2e-3, "eval embedding");
}

/// The fit tests' options: batches of 8, seed 11, no progress output, into a fresh `dir`.
train::trainer_options fit_options(const std::filesystem::path& dir, index_t epochs,
                                   bool device_augment) {
  std::filesystem::remove_all(dir);
  return train::trainer_options{.epochs = epochs, .batch_size = 8, .seed = 11, .base_lr = 0.3,
                                .warmup_epochs = 1, .out_dir = dir,
                                .device_augment = device_augment,
                                .progress = train::trainer_options::progress_style::none,
                                .metadata = {}};
}

/// The fit tests' model: a width-4 ResNet-18 on 1 channel, MLP head, NT-Xent.
template <class B>
auto tiny_model(B) {
  return model{encoders::resnet18<float, B>({.base_width = 4, .in_channels = 1,
                                             .stem = encoders::stem::cifar, .seed = 1}),
               head::mlp<float, B>::v1({.in = 32, .out = 16, .batch_norm = false, .seed = 1}),
               loss::nt_xent<float, B>({.temperature = 0.5})};
}

/// The MoCo fit test's method: a width-2 ResNet-18 on 1 channel, an MLP head, a queue of 20.
template <class B>
auto tiny_moco(B, std::uint64_t seed) {
  return methods::moco{encoders::resnet18<float, B>({.base_width = 2, .in_channels = 1,
                                                     .stem = encoders::stem::cifar, .seed = seed}),
                       head::mlp<float, B>::v1({.in = 16, .hidden = 16, .out = 8, .seed = seed}),
                       {.momentum = 0.9, .queue_size = 20}};
}
}  // namespace

TEST_CASE("cuda training step equals the cpu: ResNet-18 (CIFAR stem, width 16), MLP head, NT-Xent, LARS") {
  check_training_step({.base_width = 16, .stem = encoders::stem::cifar, .seed = 3},
                      shape{8, 3, 16, 16});
}

TEST_CASE("cuda training step equals the cpu: a two-stage ResNet with the ImageNet stem (max pool)") {
  check_training_step({.blocks = {1, 1}, .base_width = 8, .stem = encoders::stem::imagenet,
                       .seed = 4},
                      shape{6, 3, 32, 32});
}

TEST_CASE("cuda training step equals the cpu: h pooled from every stage") {
  check_training_step({.blocks = {1, 1, 1}, .base_width = 8, .stem = encoders::stem::cifar,
                       .pooling = encoders::pooling::every_stage, .seed = 5},
                      shape{8, 3, 16, 16});
}

TEST_CASE("cuda training step equals the cpu: every stage over 2 x 2 cells, some overlapping") {
  check_training_step({.blocks = {1, 1, 1}, .base_width = 8, .stem = encoders::stem::cifar,
                       .pooling = encoders::pooling::every_stage, .pool_grid = 2,
                       .seed = 6},
                      shape{8, 3, 18, 18});
}

TEST_CASE("cuda multi-crop step equals the cpu: global views and small crops, NT-Xent") {
  auto cpu = tiny_model(cpu_t{});
  auto gpu = tiny_model(cuda_t{});
  parity::copy_state<float>(cpu, gpu);
  const auto views = random_host(shape{8, 1, 12, 12}, 61);  // 2N = 8 global views
  const auto crops = random_host(shape{8, 1, 8, 8}, 62);    // 2 small crops of each of N = 4
  optim::sgd<float> opt_cpu({.momentum = 0.9});
  optim::sgd<float, cuda_t> opt_gpu({.momentum = 0.9});
  for (int step = 0; step < 2; ++step) {
    CAPTURE(step);
    const auto mc = cpu.forward_backward(views, crops);
    const auto mg = gpu.forward_backward(to_device(views), to_device(crops));
    CHECK(mg.loss == doctest::Approx(mc.loss).epsilon(5e-4));
    // Top-1 over 40 anchors: a near-tie may flip one anchor under another float order.
    CHECK(std::abs(mg.top1_accuracy - mc.top1_accuracy) <= 1.0 / 40 + 1e-9);
    const auto pc = cpu.parameters();
    const auto pg = gpu.parameters();
    opt_cpu.step(std::span<const parameter<float>>(pc), 0.1);
    opt_gpu.step(std::span<const parameter<float, cuda_t>>(pg), 0.1);
  }
  parity::check_state<float>(cpu, gpu, 2e-2);  // as the two-step LARS test: see there
}

TEST_CASE("cuda model errors: a bad batch is a shape_error, an impossible one a cuda_error") {
  auto gpu = make_model<cuda_t>({.blocks = {1}, .base_width = 4, .stem = encoders::stem::cifar}, 8);
  optim::sgd<float, cuda_t> opt;
  CHECK_THROWS_AS((void)gpu.train_step(tensor<float, cuda_t>(shape{3, 3, 8, 8}), opt, 0.1),
                  shape_error);
  CHECK_THROWS_AS((void)gpu.train_step(tensor<float, cuda_t>(shape{4, 1, 8, 8}), opt, 0.1),
                  shape_error);
  // 2¹⁶ views of 3×512×512 need 200 GiB for the input alone: out of memory, as cuda_error.
  using device_tensor = tensor<float, cuda_t>;
  CHECK_THROWS_AS(device_tensor(shape{index_t{1} << 16, 3, 512, 512}), cuda_error);
  // The device and the cache stay usable afterwards.
  memory<cuda_t>::release_cache();
  CHECK(memory<cuda_t>::cached_bytes() == 0);
  const auto ok = to_host(to_device(tensor<float>(shape{2}, {1.f, 2.f})));
  CHECK(ok(1) == 2.f);
}

TEST_CASE("cuda caching allocator reuses freed blocks") {
  memory<cuda_t>::release_cache();
  void* first = nullptr;
  {
    tensor<float, cuda_t> t(shape{1000, 1000});
    first = t.data();
  }
  CHECK(memory<cuda_t>::cached_bytes() >= 4'000'000);
  tensor<float, cuda_t> again(shape{1000, 1000}, uninitialized);
  CHECK(again.data() == first);
  CHECK(memory<cuda_t>::cached_bytes() == 0);
}

TEST_CASE("cuda train::fit and checkpoints: a device model trains on host batches and round-trips") {
  namespace fs = std::filesystem;
  const test::toy_images data(16, 12, 2, 7);
  const auto policy = augment::fashion_mnist_policy(10);
  auto cpu = tiny_model(cpu_t{});
  auto gpu = tiny_model(cuda_t{});
  optim::sgd<float> opt_cpu({.momentum = 0.9});
  optim::sgd<float, cuda_t> opt_gpu({.momentum = 0.9});
  const fs::path dir_cpu = fs::temp_directory_path() / "simclr-cuda-fit-cpu";
  const fs::path dir_gpu = fs::temp_directory_path() / "simclr-cuda-fit-gpu";
  const auto rc = train::fit(cpu, opt_cpu, data, policy, fit_options(dir_cpu, 1, false));
  const auto rg = train::fit(gpu, opt_gpu, data, policy, fit_options(dir_gpu, 1, false));
  REQUIRE(rc.steps.size() == rg.steps.size());
  for (std::size_t i = 0; i < rc.steps.size(); ++i)
    CHECK(rg.steps[i].loss == doctest::Approx(rc.steps[i].loss).epsilon(1e-4));
  parity::check_state<float>(cpu, gpu, 2e-3);

  // The device checkpoint loads into a fresh device model: the same state, exactly.
  auto fresh = tiny_model(cuda_t{});
  optim::sgd<float, cuda_t> fresh_opt({.momentum = 0.9});
  const auto info = train::load_checkpoint(rg.last_checkpoint, fresh, fresh_opt);
  CHECK(info.epoch == 1);
  CHECK(fresh_opt.steps() == opt_gpu.steps());
  std::vector<tensor<float>> trained;
  gpu.visit_state([&](const nn::state_ref<float, cuda_t>& s) {
    if (s.value != nullptr) trained.push_back(to_host(*s.value));
  }, "");
  std::size_t k = 0;
  fresh.visit_state([&](const nn::state_ref<float, cuda_t>& s) {
    if (s.value != nullptr) parity::check_close(trained.at(k++), *s.value, 0.0, s.name);
  }, "");
  CHECK(k == trained.size());
}

TEST_CASE("cuda train::fit with device_augment: views made on the device train like the CPU's") {
  namespace fs = std::filesystem;
  const test::toy_images data(16, 12, 2, 7);
  const auto policy = augment::fashion_mnist_policy(10);
  auto cpu = tiny_model(cpu_t{});
  auto gpu = tiny_model(cuda_t{});
  optim::sgd<float> opt_cpu({.momentum = 0.9});
  optim::sgd<float, cuda_t> opt_gpu({.momentum = 0.9});
  const auto rc = train::fit(cpu, opt_cpu, data, policy,
                             fit_options(fs::temp_directory_path() / "simclr-cuda-aug-cpu", 2, false));
  const auto rg = train::fit(gpu, opt_gpu, data, policy,
                             fit_options(fs::temp_directory_path() / "simclr-cuda-aug-gpu", 2, true));
  REQUIRE(rc.steps.size() == 4);
  REQUIRE(rg.steps.size() == rc.steps.size());
  for (std::size_t i = 0; i < rc.steps.size(); ++i)
    CHECK(rg.steps[i].loss == doctest::Approx(rc.steps[i].loss).epsilon(1e-4));
  parity::check_state<float>(cpu, gpu, 2e-3);
}

TEST_CASE("cuda train::fit with MoCo and multi-crop: trains like the CPU, the queue resumes exactly") {
  namespace fs = std::filesystem;
  const test::toy_images data(16, 12, 2, 7);
  const augment::multi_crop policy(augment::fashion_mnist_policy(12),
                                   augment::fashion_mnist_policy(8), 2);
  auto cpu = tiny_moco(cpu_t{}, 1);
  auto gpu = tiny_moco(cuda_t{}, 1);
  optim::sgd<float> opt_cpu({.momentum = 0.9});
  optim::sgd<float, cuda_t> opt_gpu({.momentum = 0.9});
  const auto rc = train::fit(cpu, opt_cpu, data, policy,
                             fit_options(fs::temp_directory_path() / "simclr-cuda-moco-cpu", 2, false));
  const fs::path dir = fs::temp_directory_path() / "simclr-cuda-moco-gpu";
  const auto whole = fit_options(dir, 2, false);  // (a fresh dir)
  auto first = whole;
  first.stop_after_epochs = 1;
  const auto rg = train::fit(gpu, opt_gpu, data, policy, first);
  REQUIRE(rc.steps.size() == 4);
  REQUIRE(rg.steps.size() == 2);
  // Resumed by a network of another initialisation: networks, queue and counters come from
  // the device checkpoint.
  auto resumed = tiny_moco(cuda_t{}, 42);
  optim::sgd<float, cuda_t> opt_resumed({.momentum = 0.9});
  const auto rr = train::fit(resumed, opt_resumed, data, policy, whole,
                             dir / "checkpoint.safetensors");
  REQUIRE(rr.steps.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(rg.steps[i].loss == doctest::Approx(rc.steps[i].loss).epsilon(1e-4));
    CHECK(rr.steps[i].loss == doctest::Approx(rc.steps[i + 2].loss).epsilon(1e-4));
  }
  CHECK(resumed.queued() == cpu.queued());
  CHECK(resumed.queue_position() == cpu.queue_position());
  parity::check_state<float>(cpu, resumed, 2e-3);  // online, key network, queue, counters
}
