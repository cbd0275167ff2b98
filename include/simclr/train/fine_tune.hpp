// simclr::train::fine_tune: semi-supervised evaluation — encoder + linear classifier trained on a label fraction.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include <simclr/augment/image.hpp>
#include <simclr/concepts.hpp>
#include <simclr/data/dataset.hpp>
#include <simclr/error.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/linear.hpp>
#include <simclr/optim/schedule.hpp>
#include <simclr/optim/sgd.hpp>
#include <simclr/parallel/thread_pool.hpp>
#include <simclr/random/stream.hpp>
#include <simclr/train/loader.hpp>

namespace simclr::train {

/// The mean softmax cross-entropy of `logits` (N, K) against `labels` (N) and its gradient
/// ∂/∂logits = (softmax − onehot)/N, computed with the max subtracted (no overflow).
struct cross_entropy_result {
  double value = 0.0;
  tensor<float> dlogits;
  index_t correct = 0;  ///< rows whose arg-max is the label
};
[[nodiscard]] inline cross_entropy_result softmax_cross_entropy(const tensor<float>& logits,
                                                               std::span<const std::int32_t> labels) {
  if (logits.rank() != 2 || static_cast<std::size_t>(logits.extent(0)) != labels.size())
    throw shape_error("simclr: softmax_cross_entropy: logits " + logits.shape().to_string() +
                      " for " + std::to_string(labels.size()) + " labels");
  const index_t n = logits.extent(0), k = logits.extent(1);
  cross_entropy_result r;
  r.dlogits = tensor<float>(logits.shape(), uninitialized);
  for (index_t i = 0; i < n; ++i) {
    const float* z = logits.data() + i * k;
    float* g = r.dlogits.data() + i * k;
    const std::int32_t y = labels[static_cast<std::size_t>(i)];
    if (y < 0 || y >= k)
      throw value_error("simclr: softmax_cross_entropy: label " + std::to_string(y) +
                        " outside [0, " + std::to_string(k) + ")");
    const index_t arg = std::max_element(z, z + k) - z;
    const double m = z[arg];
    double s = 0.0;
    for (index_t c = 0; c < k; ++c) s += std::exp(double(z[c]) - m);
    r.value += (std::log(s) + m - double(z[y])) / double(n);
    for (index_t c = 0; c < k; ++c)
      g[c] = static_cast<float>((std::exp(double(z[c]) - m) / s - (c == y ? 1.0 : 0.0)) / double(n));
    r.correct += arg == y;
  }
  return r;
}

struct fine_tune_options {
  double label_fraction = 0.1;  ///< fraction of the training labels used (class-balanced)
  index_t epochs = 10;
  index_t batch_size = 256;
  double lr = 0.05;             ///< peak learning rate (cosine decay, no warm-up)
  double momentum = 0.9;
  double weight_decay = 0.0;    ///< SimCLR fine-tunes without weight decay
  std::uint64_t seed = 0;
};

struct fine_tune_result {
  double test_accuracy = 0.0;
  double train_accuracy = 0.0;  ///< on the labelled subset, in evaluation mode
  index_t labelled = 0;         ///< images with labels used
  double final_loss = 0.0;
};

/// Fine-tunes the whole encoder `f` together with a new linear classifier on a class-balanced
/// `label_fraction` of `train` (SimCLR's semi-supervised protocol, 1% or 10% of the labels):
/// softmax cross-entropy, SGD with momentum, cosine learning rate, one augmented view per image
/// from `policy` (e.g. crop + flip), keyed by (seed, epoch, sample). BN runs in training mode
/// while fine-tuning and in evaluation mode for the accuracies. Modifies `f`.
template <encoder Encoder, augmentation Policy>
  requires std::same_as<scalar_of<Encoder>, float> && std::same_as<backend_of<Encoder>, cpu_t>
fine_tune_result fine_tune(Encoder& f, const data::dataset& train, const data::dataset& test,
                           const Policy& policy, const fine_tune_options& o = {}) {
  if (o.epochs < 1 || o.batch_size < 1)
    throw value_error("simclr: fine_tune: epochs and batch_size must be ≥ 1");
  const data::dataset labelled = data::label_fraction_subset(train, o.label_fraction, o.seed);
  const index_t classes = train.num_classes, n = labelled.size();
  const index_t batch = std::min(o.batch_size, n);
  nn::linear<float> fc({f.output_dim(), classes, true});
  fc.reset_parameters(random::derive(o.seed, 0xF1CEu));
  optim::sgd<float> sgd({.momentum = o.momentum, .weight_decay = o.weight_decay});
  const index_t per_epoch = (n + batch - 1) / batch;
  const optim::warmup_cosine_schedule lr{.peak_lr = o.lr, .warmup_steps = 0,
                                         .total_steps = o.epochs * per_epoch};
  fine_tune_result r;
  r.labelled = n;
  std::int64_t step = 0;
  for (index_t epoch = 0; epoch < o.epochs; ++epoch) {
    const auto order = epoch_order(n, o.seed, static_cast<std::uint64_t>(epoch), true);
    for (index_t b = 0; b < per_epoch; ++b) {
      const index_t lo = b * batch, hi = std::min(n, lo + batch), m = hi - lo;
      // One augmented view per image, in parallel, keyed by (seed, epoch, sample).
      std::vector<augment::image_f32> views(static_cast<std::size_t>(m));
      std::vector<std::int32_t> y(static_cast<std::size_t>(m));
      parallel::parallel_for(0, m, 8, [&](index_t i0, index_t i1) {
        for (index_t i = i0; i < i1; ++i) {
          const auto s = order[static_cast<std::size_t>(lo + i)];
          random::stream rng(random::derive(o.seed, static_cast<std::uint64_t>(epoch), s, 0xF1u));
          views[static_cast<std::size_t>(i)] =
              policy(augment::to_float(labelled.image(static_cast<index_t>(s))), rng);
          y[static_cast<std::size_t>(i)] = labelled.label(static_cast<index_t>(s));
        }
      });
      const auto& v0 = views.front();
      tensor<float> x(shape{m, v0.extent(0), v0.extent(1), v0.extent(2)}, uninitialized);
      for (index_t i = 0; i < m; ++i)
        std::copy(views[static_cast<std::size_t>(i)].data(),
                  views[static_cast<std::size_t>(i)].data() + v0.numel(), x.data() + i * v0.numel());
      auto params = f.parameters();
      const auto head = nn::parameters_of<float, cpu_t>(fc);
      params.insert(params.end(), head.begin(), head.end());
      for (auto& p : params) p.grad->fill(0.0f);
      const auto logits = fc.forward(f.forward(x, mode::train), mode::train);
      const auto ce = softmax_cross_entropy(logits, y);
      if (!std::isfinite(ce.value))
        throw value_error("simclr: fine_tune: the loss is " + std::to_string(ce.value) +
                          " at step " + std::to_string(step) + " — lower the learning rate");
      (void)f.backward(fc.backward(ce.dlogits));
      sgd.step(std::span<const parameter<float, cpu_t>>(params), lr(step));
      r.final_loss = ce.value;
      ++step;
    }
  }
  auto accuracy = [&](const data::dataset& d) {
    index_t correct = 0;
    for (index_t i = 0; i < d.size(); i += 500) {
      const index_t b = std::min<index_t>(500, d.size() - i);
      const auto logits = fc.forward(f.forward(data::to_float_batch(d, i, b), mode::eval), mode::eval);
      const auto ce = softmax_cross_entropy(
          logits, std::span<const std::int32_t>(d.labels.data() + i, static_cast<std::size_t>(b)));
      correct += ce.correct;
    }
    return double(correct) / double(std::max<index_t>(1, d.size()));
  };
  r.train_accuracy = accuracy(labelled);
  r.test_accuracy = accuracy(test);
  return r;
}

}  // namespace simclr::train
