// simclr::train::knn_monitor: the online monitor — kNN accuracy of the encoder being trained on
// a held-out labelled slice, measured every few steps by train::fit.
#pragma once

#include <string>
#include <utility>

#include <simclr/concepts.hpp>
#include <simclr/data/dataset.hpp>
#include <simclr/error.hpp>
#include <simclr/eval/knn.hpp>
#include <simclr/eval/represent.hpp>

namespace simclr::train {

/// Measures how well the encoder's representations h separate the classes while training runs:
/// h of a labelled `reference` set and of a `held_out` set (evaluation mode, no gradient, no
/// state changed: training goes on exactly as without the monitor), then the weighted kNN
/// vote of eval::knn_classify; returns the held-out top-1 accuracy in [0, 1]. Give it to
/// train::fit through trainer_options::monitor (it is a callable `double()`):
///
///   auto& f = net.encoder();
///   train::knn_monitor knn(f, data::subset(labelled, 0, 2000), data::subset(labelled, 2000, 1000));
///   train::fit(net, opt, images, policy, {.monitor_every = 50, .monitor = knn, ...});
///
/// Holds a reference to the encoder (it must outlive the monitor) and its own copies of the
/// two sets, which should be small (a few thousand images cost about a second at 28 × 28 on two
/// cores). Throws value_error when either set is empty or their classes differ.
template <encoder Encoder>
  requires std::same_as<scalar_of<Encoder>, float> && std::same_as<backend_of<Encoder>, cpu_t>
class knn_monitor {
 public:
  knn_monitor(Encoder& encoder, data::dataset reference, data::dataset held_out,
              const eval::knn_options& knn = {}, const eval::represent_options& represent = {})
      : encoder_(&encoder),
        reference_(std::move(reference)),
        held_out_(std::move(held_out)),
        knn_(knn),
        represent_(represent) {
    if (reference_.size() < 1 || held_out_.size() < 1)
      throw value_error("simclr: train::knn_monitor: the reference set has " +
                        std::to_string(reference_.size()) + " images and the held-out set " +
                        std::to_string(held_out_.size()) + ", expected at least one each");
    if (reference_.num_classes != held_out_.num_classes)
      throw value_error("simclr: train::knn_monitor: the reference set has " +
                        std::to_string(reference_.num_classes) + " classes, the held-out set " +
                        std::to_string(held_out_.num_classes) + " — expected the same labels");
  }

  /// The held-out kNN top-1 accuracy of the encoder as it is now.
  [[nodiscard]] double operator()() const {
    const auto h_ref = eval::represent(*encoder_, reference_, represent_);
    const auto h_out = eval::represent(*encoder_, held_out_, represent_);
    return eval::knn_classify(h_ref, reference_.labels, h_out, held_out_.labels,
                              reference_.num_classes, knn_)
        .accuracy;
  }

 private:
  Encoder* encoder_;
  data::dataset reference_, held_out_;
  eval::knn_options knn_;
  eval::represent_options represent_;
};

}  // namespace simclr::train
