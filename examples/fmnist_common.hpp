// What the Fashion-MNIST examples share: the recipe's encoder, raw pixels, the two evaluation
// protocols and the loss curve read back from train.jsonl.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <simclr/augment/policy.hpp>
#include <simclr/data/idx.hpp>
#include <simclr/encoders/resnet.hpp>
#include <simclr/eval/knn.hpp>
#include <simclr/eval/linear.hpp>
#include <simclr/eval/represent.hpp>
#include <simclr/tensor.hpp>

namespace fmnist {

using namespace simclr;
using clock_type = std::chrono::steady_clock;

inline double since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// The recipes' ResNet-18 encoder (CIFAR stem unless told otherwise, one input channel, h of
/// 8·width features).
inline encoders::resnet<encoders::basic_block, float> make_encoder(
    index_t width, std::uint64_t seed, encoders::stem stem = encoders::stem::cifar,
    encoders::pooling pooling = encoders::pooling::last_stage, index_t pool_grid = 1) {
  return encoders::resnet18<float>({.base_width = width,
                                    .in_channels = 1,
                                    .stem = stem,
                                    .pooling = pooling,
                                    .pool_grid = pool_grid,
                                    .seed = seed});
}

/// The recipes' augmentations: random resized crop to 28 px (scale crop_min–1), horizontal
/// flip 0.5, brightness and contrast jitter 0.4 with probability 0.8.
inline auto policy(double crop_min) { return augment::fashion_mnist_policy(28, {crop_min, 1.0}); }

/// The examples' data: the full training split, the test split, the (seeded) subset that
/// pre-training sees and the labelled subset the evaluations train on (0: all of them).
struct splits {
  data::dataset train_full, test, pretrain, labelled;
};
inline splits load(const std::string& dir, index_t subset, index_t eval_train, std::uint64_t seed) {
  splits s{data::fashion_mnist(dir, data::split::train), data::fashion_mnist(dir, data::split::test),
           {}, {}};
  const index_t n = s.train_full.size();
  s.pretrain = subset > 0 && subset < n ? data::random_subset(s.train_full, subset, seed) : s.train_full;
  s.labelled = eval_train > 0 && eval_train < n ? data::random_subset(s.train_full, eval_train, seed + 1)
                                                : s.train_full;
  return s;
}

/// (N, 784) raw pixels in [0, 1].
inline tensor<float> pixels(const data::dataset& d) {
  const index_t n = d.size(), dim = d.height() * d.width() * d.channels();
  tensor<float> x(shape{n, dim}, uninitialized);
  for (index_t i = 0; i < n * dim; ++i) x.data()[i] = float(d.images.data()[i]) / 255.0f;
  return x;
}

/// Test accuracies of the two protocols (docs/training.md): L-BFGS logistic regression on
/// standardised features (L2 1e-4) and a weighted kNN (k = 200, τ = 0.1).
struct scores {
  double linear = 0, knn = 0;
};
inline scores evaluate(const tensor<float>& train_x, const data::dataset& train,
                       const tensor<float>& test_x, const data::dataset& test) {
  scores s;
  s.linear = eval::linear_eval(train_x, train.labels, test_x, test.labels, 10, {.l2 = 1e-4})
                 .test_accuracy;
  s.knn = eval::knn_classify(train_x, train.labels, test_x, test.labels, 10,
                             {.k = 200, .temperature = 0.1})
              .accuracy;
  return s;
}

/// The (step, value) pairs of `key` in out/train.jsonl (all runs, resumed ones included): every
/// step's "loss", or the online monitor's "monitor" on the steps it ran.
inline std::pair<std::vector<double>, std::vector<double>> logged(const std::filesystem::path& log,
                                                                  const std::string& key) {
  std::vector<double> steps, values;
  std::ifstream in(log);
  std::string line;
  const std::string quoted = "\"" + key + "\":";
  while (std::getline(in, line)) {
    const auto p = line.find(quoted), s = line.find("\"step\":");
    if (p == std::string::npos || s == std::string::npos) continue;
    steps.push_back(std::stod(line.substr(s + 7)));
    values.push_back(std::stod(line.substr(p + quoted.size())));
  }
  return {steps, values};
}

/// Evaluates the trained `encoder`, a randomly initialised encoder of the same width and raw
/// pixels with both protocols and prints the table (`label`: how the first row is named).
template <class Encoder>
scores compare_to_baselines(const std::string& label, Encoder& encoder, index_t width,
                            std::uint64_t seed, const data::dataset& labelled,
                            const data::dataset& test) {
  const auto t0 = clock_type::now();
  const scores trained = evaluate(eval::represent(encoder, labelled), labelled,
                                  eval::represent(encoder, test), test);
  auto random_encoder = make_encoder(width, seed + 12345);
  const scores random_init = evaluate(eval::represent(random_encoder, labelled), labelled,
                                      eval::represent(random_encoder, test), test);
  const scores raw = evaluate(pixels(labelled), labelled, pixels(test), test);
  const index_t h_dim = 8 * width;
  std::printf("evaluation took %.1f s\n\n", since(t0));
  std::printf("  representation               linear eval   kNN (k=200)\n");
  std::printf("  %-12s encoder (h, %3td-d) %6.2f%%       %6.2f%%\n", label.c_str(), h_dim,
              100 * trained.linear, 100 * trained.knn);
  std::printf("  random encoder (h, %3td-d)     %6.2f%%       %6.2f%%\n", h_dim,
              100 * random_init.linear, 100 * random_init.knn);
  std::printf("  raw pixels (784-d)            %6.2f%%       %6.2f%%\n\n", 100 * raw.linear,
              100 * raw.knn);
  return trained;
}

/// Every step's loss from out/train.jsonl.
inline std::vector<double> logged_losses(const std::filesystem::path& log) {
  return logged(log, "loss").second;
}

/// Two pictures of the same height side by side.
inline augment::image_u8 side_by_side(const augment::image_u8& a, const augment::image_u8& b) {
  const index_t h = a.extent(0), wa = a.extent(1), wb = b.extent(1);
  augment::image_u8 out(shape{h, wa + wb, 3});
  for (index_t y = 0; y < h; ++y) {
    std::copy(a.data() + y * wa * 3, a.data() + (y + 1) * wa * 3, out.data() + y * (wa + wb) * 3);
    std::copy(b.data() + y * wb * 3, b.data() + (y + 1) * wb * 3,
              out.data() + y * (wa + wb) * 3 + wa * 3);
  }
  return out;
}

}  // namespace fmnist
