// simclr::step_metrics: what one training step of a trainable model measured.
#pragma once

namespace simclr {

/// What one training step measured. `fit` logs it (train.jsonl, the progress display) and
/// watches `near_collapse`; a model fills what its loss reports and leaves the rest at −1.
struct step_metrics {
  double loss = 0.0;           ///< the loss value
  double top1_accuracy = -1;   ///< contrastive top-1 when the loss reports it, else −1
  double mean_entropy = -1;    ///< mean softmax entropy when the loss reports it, else −1
  bool near_collapse = false;  ///< the loss sits near its collapse value (if it reports one)
};

}  // namespace simclr
