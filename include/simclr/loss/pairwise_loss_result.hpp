// simclr::loss::pairwise_loss_result: what the per-anchor losses (NT-Logistic, margin) return.
#pragma once

#include <simclr/tensor.hpp>

namespace simclr::loss {

/// Value, gradient and contrastive top-1 of a per-anchor loss (NT-Logistic, margin triplet).
template <class T, class B>
struct pairwise_loss_result {
  double value = 0.0;          ///< mean over the 2N anchors
  tensor<T, B> dz;             ///< (2N, D) ∂value/∂z
  double top1_accuracy = 0.0;  ///< fraction of anchors whose positive has the largest cosine
};

}  // namespace simclr::loss
