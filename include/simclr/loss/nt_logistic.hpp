// simclr::loss::nt_logistic: the normalised temperature-scaled logistic loss (paper Table 2).
#pragma once

#include <cmath>
#include <string>

#include <simclr/backend/tags.hpp>
#include <simclr/config.hpp>
#include <simclr/error.hpp>
#include <simclr/loss/checks.hpp>
#include <simclr/loss/kernels.hpp>
#include <simclr/loss/cpu/nt_logistic.hpp>  // the CPU kernel, included here only
#include <simclr/loss/pairwise_loss_result.hpp>
#include <simclr/tensor.hpp>

namespace simclr::loss {

/// NT-Logistic: with S = U Uᵀ/τ and σ the logistic function, per anchor i
///   ℓ_i = −log σ(S_{i,p(i)}) − w Σ_{k ∉ {i, p(i)}} log σ(−S_ik),   L = (1/2N) Σ_i ℓ_i,
/// i.e. the paper's "maximise log σ(uᵀv⁺/τ) + Σ log σ(−uᵀv⁻/τ)" as a loss to minimise.
/// Satisfies simclr::contrastive_loss<nt_logistic<T, B>, T, B>.
template <class T = float, backend B = cpu_t>
class nt_logistic {
 public:
  using scalar_type = T;
  using backend_type = B;

  nt_logistic() = default;
  /// Throws value_error for τ ≤ 0 or a negative weight.
  explicit nt_logistic(const nt_logistic_options& options) : options_(options) {
    detail::check_temperature(options.temperature, "nt_logistic");
    if (!(options.negative_weight >= 0.0))
      throw value_error("simclr: nt_logistic: negative_weight is " +
                        std::to_string(options.negative_weight) + ", expected ≥ 0");
  }
  [[nodiscard]] const nt_logistic_options& options() const noexcept { return options_; }

  /// The loss of the (2N, D) batch z and its gradient.
  [[nodiscard]] pairwise_loss_result<T, B> operator()(const tensor<T, B>& z) const {
    return detail::run_pairwise_loss<nt_logistic_kernel<B>>(z, options_, "nt_logistic");
  }

 private:
  nt_logistic_options options_{};
};

}  // namespace simclr::loss

