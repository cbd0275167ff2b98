// simclr::loss::vicreg: variance-invariance-covariance regularisation (Bardes, Ponce and LeCun,
// "VICReg", ICLR 2022).
#pragma once

#include <cmath>
#include <string>

#include <simclr/backend/tags.hpp>
#include <simclr/config.hpp>
#include <simclr/error.hpp>
#include <simclr/loss/checks.hpp>
#include <simclr/loss/kernels.hpp>
#include <simclr/loss/cpu/vicreg.hpp>  // the CPU kernel, included here only
#include <simclr/tensor.hpp>

namespace simclr::loss {

/// The value of VICReg on a batch, its gradient and its three (unweighted) terms.
template <class T, class B>
struct vicreg_result {
  double value = 0.0;       ///< λ·invariance + μ·variance + ν·covariance
  tensor<T, B> dz;          ///< (2N, D) ∂value/∂z
  double invariance = 0.0;  ///< mean squared difference of the two views
  double variance = 0.0;    ///< mean hinge max(0, γ − std) over features, both views averaged:
                            ///< near γ when the embeddings collapse
  double covariance = 0.0;  ///< (1/D) Σ_{i≠j} Cov_ij², both views summed
};

/// VICReg (docs/losses-and-optimizers.md). z is (2N, D), X = rows [0, N) and Y = rows [N, 2N)
/// the two views:
///   s(X, Y) = (1/(N·D)) Σ ‖x_n − y_n‖²                          invariance
///   v(X)    = (1/D) Σ_j max(0, γ − √(Var(X_·j) + ε))           variance (unbiased Var)
///   c(X)    = (1/D) Σ_{i≠j} Cov(X)_ij²,  Cov = X_cᵀ X_c/(N − 1)  covariance
///   L = λ s + μ (v(X) + v(Y))/2 + ν (c(X) + c(Y)),   λ = μ = 25, ν = 1 (the paper's).
/// As in the paper's code. No negatives and no normalisation of z: the variance term keeps the
/// features from collapsing. Satisfies simclr::contrastive_loss.
///
///   loss::vicreg<float> l;   // 25 / 25 / 1, γ = 1, ε = 1e-4
///   auto r = l(z);           // r.value, r.dz, r.invariance, r.variance, r.covariance
template <class T = float, backend B = cpu_t>
class vicreg {
 public:
  using scalar_type = T;
  using backend_type = B;

  vicreg() = default;
  /// Throws value_error for a negative or non-finite weight, γ ≤ 0 or ε ≤ 0.
  explicit vicreg(const vicreg_options& options) : options_(options) {
    check_non_negative(options.invariance_weight, "invariance_weight");
    check_non_negative(options.variance_weight, "variance_weight");
    check_non_negative(options.covariance_weight, "covariance_weight");
    if (!(options.variance_target > 0.0) || !std::isfinite(options.variance_target))
      throw value_error("simclr: vicreg: variance_target is " +
                        std::to_string(options.variance_target) + ", expected a finite γ > 0");
    if (!(options.epsilon > 0.0) || !std::isfinite(options.epsilon))
      throw value_error("simclr: vicreg: epsilon is " + std::to_string(options.epsilon) +
                        ", expected a finite value > 0");
  }
  [[nodiscard]] const vicreg_options& options() const noexcept { return options_; }

  /// The loss of the (2N, D) batch z and its gradient. Throws shape_error unless z is (2N, D)
  /// with N ≥ 2 (the unbiased variance needs two images), value_error when z holds a NaN
  /// or an infinity.
  [[nodiscard]] vicreg_result<T, B> operator()(const tensor<T, B>& z) const {
    detail::check_pair_batch(z, "vicreg");
    detail::check_two_images(z, "vicreg");
    vicreg_result<T, B> r;
    r.dz = tensor<T, B>(z.shape(), uninitialized);
    const auto s = vicreg_kernel<B>::run(z.data(), z.extent(0), z.extent(1), options_, r.dz.data());
    r.invariance = s.invariance;
    r.variance = s.variance;
    r.covariance = s.covariance;
    r.value = options_.invariance_weight * s.invariance + options_.variance_weight * s.variance +
              options_.covariance_weight * s.covariance;
    if (!std::isfinite(r.value))
      throw value_error("simclr: vicreg: the loss is not finite: z holds a NaN or an infinity");
    return r;
  }

 private:
  static void check_non_negative(double v, const char* field) {
    if (!(v >= 0.0) || !std::isfinite(v))
      throw value_error(std::string("simclr: vicreg: ") + field + " is " + std::to_string(v) +
                        ", expected a finite value ≥ 0");
  }

  vicreg_options options_{};
};

}  // namespace simclr::loss
