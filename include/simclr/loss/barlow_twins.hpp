// simclr::loss::barlow_twins: redundancy reduction between the two views' embeddings (Zbontar et
// al., "Barlow Twins: Self-Supervised Learning via Redundancy Reduction", ICML 2021).
#pragma once

#include <cmath>
#include <string>

#include <simclr/backend/tags.hpp>
#include <simclr/config.hpp>
#include <simclr/error.hpp>
#include <simclr/loss/checks.hpp>
#include <simclr/loss/kernels.hpp>
#include <simclr/loss/cpu/barlow_twins.hpp>  // the CPU kernel, included here only
#include <simclr/tensor.hpp>

namespace simclr::loss {

/// The value of Barlow Twins on a batch, its gradient and its two terms.
template <class T, class B>
struct barlow_twins_result {
  double value = 0.0;          ///< on_diagonal + λ·off_diagonal
  tensor<T, B> dz;             ///< (2N, D) ∂value/∂z
  double on_diagonal = 0.0;    ///< Σ_i (C_ii − 1)²: invariance (0 when the views agree)
  double off_diagonal = 0.0;   ///< Σ_{i≠j} C_ij²: redundancy between features
  double mean_diagonal = 0.0;  ///< mean C_ii, the views' mean per-feature correlation (→ 1)
};

/// Barlow Twins (docs/losses-and-optimizers.md). z is (2N, D), rows i and i + N the two views
/// of image i. Each view is standardised per feature over the batch,
///   x̂ = (x − μ)/√(σ² + ε)   (biased σ², BatchNorm1d without affine, as the paper's code),
/// C = X̂₁ᵀ X̂₂ / N is the (D × D) cross-correlation of the views, and
///   L = Σ_i (1 − C_ii)² + λ Σ_{i≠j} C_ij².
/// No negatives: the off-diagonal term keeps the features from carrying the same information,
/// so the batch does not need to be large. The value is not divided by D (as in the paper), so
/// the learning rate depends on D. Satisfies simclr::contrastive_loss.
///
///   loss::barlow_twins<float> l;               // λ = 0.0051, ε = 1e-5
///   auto r = l(z);                             // r.value, r.dz, r.on_diagonal, ...
template <class T = float, backend B = cpu_t>
class barlow_twins {
 public:
  using scalar_type = T;
  using backend_type = B;

  barlow_twins() = default;
  /// Throws value_error for λ < 0 or ε ≤ 0 (or either not finite).
  explicit barlow_twins(const barlow_twins_options& options) : options_(options) {
    if (!(options.lambda >= 0.0) || !std::isfinite(options.lambda))
      throw value_error("simclr: barlow_twins: lambda is " + std::to_string(options.lambda) +
                        ", expected a finite value ≥ 0 (the paper's 0.0051)");
    if (!(options.epsilon > 0.0) || !std::isfinite(options.epsilon))
      throw value_error("simclr: barlow_twins: epsilon is " + std::to_string(options.epsilon) +
                        ", expected a finite value > 0");
  }
  [[nodiscard]] const barlow_twins_options& options() const noexcept { return options_; }

  /// The loss of the (2N, D) batch z and its gradient. Throws shape_error unless z is (2N, D)
  /// with N ≥ 2 (a feature's variance needs two images), value_error when z holds a NaN
  /// or an infinity.
  [[nodiscard]] barlow_twins_result<T, B> operator()(const tensor<T, B>& z) const {
    detail::check_pair_batch(z, "barlow_twins");
    detail::check_two_images(z, "barlow_twins");
    barlow_twins_result<T, B> r;
    r.dz = tensor<T, B>(z.shape(), uninitialized);
    const auto s =
        barlow_twins_kernel<B>::run(z.data(), z.extent(0), z.extent(1), options_, r.dz.data());
    r.on_diagonal = s.on_diagonal;
    r.off_diagonal = s.off_diagonal;
    r.mean_diagonal = s.diagonal / static_cast<double>(z.extent(1));
    r.value = s.on_diagonal + options_.lambda * s.off_diagonal;
    if (!std::isfinite(r.value))
      throw value_error("simclr: barlow_twins: the loss is not finite: z holds a NaN or an infinity");
    return r;
  }

 private:
  barlow_twins_options options_{};
};

}  // namespace simclr::loss
