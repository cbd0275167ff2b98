// simclr::loss::pairwise_loss_result: what the per-anchor losses (NT-Logistic, margin) return,
// and their shared front end.
#pragma once

#include <simclr/loss/checks.hpp>
#include <simclr/tensor.hpp>

namespace simclr::loss {

/// Value, gradient and contrastive top-1 of a per-anchor loss (NT-Logistic, margin triplet).
template <class T, class B>
struct pairwise_loss_result {
  double value = 0.0;          ///< mean over the 2N anchors
  tensor<T, B> dz;             ///< (2N, D) ∂value/∂z
  double top1_accuracy = 0.0;  ///< fraction of anchors whose positive has the largest cosine
};

namespace detail {
/// The front end every per-anchor loss shares: checks that z is (2N, D), runs the backend's
/// kernel (`Kernel::run(z, rows, d, options, dz)` → {loss = Σ ℓ_i, top1_correct}) and turns its
/// sums into the mean over the 2N anchors.
template <class Kernel, class T, class B, class Options>
[[nodiscard]] pairwise_loss_result<T, B> run_pairwise_loss(const tensor<T, B>& z,
                                                           const Options& options,
                                                           const char* loss_name) {
  check_pair_batch(z, loss_name);
  pairwise_loss_result<T, B> r;
  r.dz = tensor<T, B>(z.shape(), uninitialized);
  const auto s = Kernel::run(z.data(), z.extent(0), z.extent(1), options, r.dz.data());
  const double n = static_cast<double>(z.extent(0));
  r.value = s.loss / n;
  r.top1_accuracy = static_cast<double>(s.top1_correct) / n;
  return r;
}
}  // namespace detail

}  // namespace simclr::loss
