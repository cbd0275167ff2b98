// The learning test (CTest label "slow"): a few epochs of SimCLR on a Fashion-MNIST subset with
// a small encoder must lower the loss and raise linear-evaluation accuracy clearly above the
// same encoder randomly initialised (kNN: no collapse). Skips (with a message) when Debian's dataset-fashion-mnist is absent.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include <doctest/doctest.h>

#include <simclr/augment/policy.hpp>
#include <simclr/data/idx.hpp>
#include <simclr/encoders/resnet.hpp>
#include <simclr/eval/represent.hpp>
#include <simclr/eval/knn.hpp>
#include <simclr/eval/linear.hpp>
#include <simclr/head/mlp.hpp>
#include <simclr/loss/nt_xent.hpp>
#include <simclr/model.hpp>
#include <simclr/optim/sgd.hpp>
#include <simclr/train/trainer.hpp>

using namespace simclr;

namespace {
struct scores {
  double linear, knn;
};
template <class Encoder>
scores evaluate(Encoder& f, const data::dataset& train, const data::dataset& test) {
  const auto a = eval::represent(f, train), b = eval::represent(f, test);
  return {eval::linear_eval(a, train.labels, b, test.labels, 10, {.l2 = 1e-4}).test_accuracy,
          eval::knn_classify(a, train.labels, b, test.labels, 10, {.k = 50}).accuracy};
}
}  // namespace

TEST_CASE("learning: SimCLR on a Fashion-MNIST subset beats the random encoder") {
  const std::filesystem::path dir = data::fashion_mnist_default_dir;
  if (!std::filesystem::exists(dir)) {
    MESSAGE("skipped: " << dir << " is missing (install Debian's dataset-fashion-mnist)");
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const auto train_full = data::fashion_mnist(dir, data::split::train);
  const auto test_full = data::fashion_mnist(dir, data::split::test);
  const auto pretrain = data::random_subset(train_full, 4096, 1);
  const auto labelled = data::random_subset(train_full, 2000, 2);
  const auto test = data::random_subset(test_full, 2000, 3);
  auto encoder = [](std::uint64_t seed) {
    return encoders::resnet18<float>(
        {.base_width = 8, .in_channels = 1, .stem = encoders::stem::cifar, .seed = seed});
  };
  auto untrained = encoder(7);
  const scores before = evaluate(untrained, labelled, test);

  model net{encoder(7), head::mlp<float>::v1({.in = 64, .out = 64, .batch_norm = false}),
            loss::nt_xent<float>({.temperature = 0.5})};
  optim::sgd<float> sgd({.momentum = 0.9, .nesterov = true, .weight_decay = 5e-4});
  const auto fit = train::fit(net, sgd, pretrain, augment::fashion_mnist_policy(28),
                              {.epochs = 6, .batch_size = 256, .seed = 5, .warmup_epochs = 1,
                               .out_dir = std::filesystem::temp_directory_path() / "simclr-learning",
                               .progress = train::trainer_options::progress_style::none, .metadata = {}});
  const scores after = evaluate(net.encoder(), labelled, test);
  MESSAGE("random encoder: linear " << 100 * before.linear << "%, kNN " << 100 * before.knn
                                    << "%; after " << fit.steps.size() << " SimCLR steps: linear "
                                    << 100 * after.linear << "%, kNN " << 100 * after.knn
                                    << "%; first loss " << fit.steps.front().loss << ", last "
                                    << fit.steps.back().loss << "; "
                                    << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
                                    << " s");
  CHECK(fit.steps.back().loss < fit.steps.front().loss - 0.3);
  // Deterministic for a given build, but 96 steps of SGD on BatchNorm nets are chaotic: a change
  // in the last bit of one pixel moves the step-2 gradient norm by 5e-3, so any change of
  // summation order (a new kernel) lands on another trajectory. Measured over trainer seeds
  // 5, 6, 8 and two kernel versions: linear +7.3…+10.6 points, kNN −1.2…+5.3. Linear
  // evaluation is the criterion; kNN this early only has to stay clear of a collapse.
  CHECK(after.linear > before.linear + 0.04);
  CHECK(after.knn > before.knn - 0.03);
}
