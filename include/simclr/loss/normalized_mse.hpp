// simclr::loss::normalized_mse: BYOL's regression loss, 2 − 2·cos(prediction, target).
#pragma once

#include <string>

#include <simclr/backend/tags.hpp>
#include <simclr/config.hpp>
#include <simclr/error.hpp>
#include <simclr/loss/checks.hpp>
#include <simclr/loss/kernels.hpp>
#include <simclr/loss/cpu/normalized_mse.hpp>  // the CPU kernel, included here only
#include <simclr/tensor.hpp>

namespace simclr::loss {

/// What a prediction loss returns: the value, its gradient with respect to the predictions
/// (the targets get none: they come from a momentum network) and the mean cosine.
template <class T, class B>
struct prediction_loss_result {
  double value = 0.0;        ///< the loss
  tensor<T, B> dp;           ///< (2N, D) ∂value/∂p
  double mean_cosine = 0.0;  ///< mean over rows of cos(p_i, t_π(i)); 1 when p matches t
};

/// The normalised mean squared error between predictions p and targets t (2N, D), BYOL's loss:
///   ‖p̂ − t̂‖² = 2 − 2·cos(p, t),  p̂ = p / max(‖p‖, ε).
/// With swap_halves (the default) row i of p meets row π(i) = (i + N) mod 2N of t — the
/// prediction from one view against the target of the other — and the value is BYOL's
/// symmetrised L + L̃ = (1/N) Σ_i (2 − 2 cos(p_i, t_π(i))), in [0, 8]. Without it π(i) = i and
/// the value is the mean over rows, in [0, 4]. Gradients flow into p only.
///
///   loss::normalized_mse<float> l;
///   auto r = l(p, t);   // r.value, r.dp, r.mean_cosine
template <class T = float, backend B = cpu_t>
class normalized_mse {
 public:
  using scalar_type = T;
  using backend_type = B;

  normalized_mse() = default;
  /// Throws value_error for ε ≤ 0.
  explicit normalized_mse(const normalized_mse_options& options) : options_(options) {
    if (!(options.norm_epsilon > 0.0))
      throw value_error("simclr: normalized_mse: norm_epsilon is " +
                        std::to_string(options.norm_epsilon) + ", expected > 0");
  }
  [[nodiscard]] const normalized_mse_options& options() const noexcept { return options_; }

  /// The loss of predictions p against targets t (same shape (2N, D)) and ∂loss/∂p.
  /// Throws shape_error for other shapes, value_error for a NaN, an infinity or (unless
  /// allow_small_rows) a zero row in either.
  [[nodiscard]] prediction_loss_result<T, B> operator()(const tensor<T, B>& p,
                                                        const tensor<T, B>& t) const {
    detail::check_pair_batch(p, "normalized_mse", "p");
    if (t.shape() != p.shape())
      throw shape_error("simclr: normalized_mse: the targets have shape " + t.shape().to_string() +
                        ", expected the predictions' shape " + p.shape().to_string());
    const index_t rows = p.extent(0);
    // value = (2·w / rows)·Σ(1 − cos) with w = 2 for the symmetrised loss (two directions).
    const double per_row = (options_.swap_halves ? 4.0 : 2.0) / static_cast<double>(rows);
    prediction_loss_result<T, B> r;
    r.dp = tensor<T, B>(p.shape(), uninitialized);
    const auto s = normalized_mse_kernel<B>::run(p.data(), t.data(), rows, p.extent(1), options_,
                                                 per_row, r.dp.data());
    r.mean_cosine = s.cosine / static_cast<double>(rows);
    r.value = per_row * (static_cast<double>(rows) - s.cosine);
    return r;
  }

 private:
  normalized_mse_options options_{};
};

}  // namespace simclr::loss
