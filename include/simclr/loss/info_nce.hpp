// simclr::loss::info_nce: InfoNCE of queries against their keys and a queue of negatives (MoCo).
#pragma once

#include <cmath>
#include <string>

#include <simclr/backend/tags.hpp>
#include <simclr/config.hpp>
#include <simclr/error.hpp>
#include <simclr/loss/checks.hpp>
#include <simclr/loss/kernels.hpp>
#include <simclr/loss/cpu/info_nce.hpp>  // the CPU kernel, included here only
#include <simclr/tensor.hpp>

namespace simclr::loss {

/// The value of InfoNCE on a batch of queries, its gradient and the monitoring values.
template <class T, class B>
struct info_nce_result {
  double value = 0.0;          ///< mean over the queries
  tensor<T, B> dq;             ///< (M, D) ∂value/∂q (the keys get no gradient)
  tensor<T, B> keys;           ///< (M, D) the keys' unit rows, what a queue stores
  double top1_accuracy = 0.0;  ///< fraction of queries whose key beats every queued negative
  double mean_entropy = 0.0;   ///< mean softmax entropy over the 1 + K candidates (nats)
};

/// InfoNCE against a queue (He et al., "Momentum Contrast", CVPR 2020; MoCo v2): for queries q
/// and keys k (M, D), unit rows q̂, k̂, and K queued negatives Q (unit rows),
///   ℓ_i = −q̂_i·k̂_i/τ + log( exp(q̂_i·k̂_i/τ) + Σ_j exp(q̂_i·Q_j/τ) ),   L = (1/M) Σ_i ℓ_i,
/// the cross-entropy of MoCo's reference code with the positive in column 0. Gradients flow
/// into q only (the keys come from a momentum encoder). K = 0 is allowed (an empty queue at the
/// start: L = 0).
///
///   loss::info_nce<float> l({.temperature = 0.2});
///   auto r = l(q, k, queue, filled);   // queue rows [0, filled) are the negatives
template <class T = float, backend B = cpu_t>
class info_nce {
 public:
  using scalar_type = T;
  using backend_type = B;

  info_nce() = default;
  /// Throws value_error for τ ≤ 0 or ε < 0.
  explicit info_nce(const info_nce_options& options) : options_(options) {
    detail::check_temperature(options.temperature, "info_nce");
    if (!(options.norm_epsilon >= 0.0))
      throw value_error("simclr: info_nce: norm_epsilon is " +
                        std::to_string(options.norm_epsilon) + ", expected ≥ 0");
  }
  [[nodiscard]] const info_nce_options& options() const noexcept { return options_; }

  /// The loss of queries q against keys k (same shape (M, D), M ≥ 1) and the first `negatives`
  /// rows of `queue` (K_max, D). Throws shape_error for mismatched shapes or negatives outside
  /// [0, K_max], value_error for a NaN, an infinity or (unless allowed) a zero row in q or k.
  [[nodiscard]] info_nce_result<T, B> operator()(const tensor<T, B>& q, const tensor<T, B>& k,
                                                 const tensor<T, B>& queue,
                                                 index_t negatives) const {
    if (q.rank() != 2 || q.extent(0) < 1 || q.extent(1) < 1)
      throw shape_error("simclr: info_nce: the queries have shape " + q.shape().to_string() +
                        ", expected (M, D) with M, D ≥ 1");
    if (k.shape() != q.shape())
      throw shape_error("simclr: info_nce: the keys have shape " + k.shape().to_string() +
                        ", expected the queries' " + q.shape().to_string());
    if (queue.rank() != 2 || queue.extent(1) != q.extent(1))
      throw shape_error("simclr: info_nce: the queue has shape " + queue.shape().to_string() +
                        ", expected (K, " + std::to_string(q.extent(1)) + ")");
    if (negatives < 0 || negatives > queue.extent(0))
      throw shape_error("simclr: info_nce: " + std::to_string(negatives) +
                        " negatives requested from a queue of " +
                        std::to_string(queue.extent(0)) + " rows");
    const index_t m = q.extent(0), d = q.extent(1);
    info_nce_result<T, B> r;
    r.dq = tensor<T, B>(q.shape(), uninitialized);
    r.keys = tensor<T, B>(q.shape(), uninitialized);
    const nt_xent_sums s = info_nce_kernel<B>::run(q.data(), k.data(), queue.data(), m, d,
                                                   negatives, options_, r.dq.data(),
                                                   r.keys.data());
    r.value = s.loss / static_cast<double>(m);
    r.top1_accuracy = static_cast<double>(s.top1_correct) / static_cast<double>(m);
    r.mean_entropy = s.entropy / static_cast<double>(m);
    return r;
  }

 private:
  info_nce_options options_{};
};

}  // namespace simclr::loss
