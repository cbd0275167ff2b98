// simclr::loss::margin_triplet: the margin triplet loss with optional semi-hard mining (Table 2).
#pragma once

#include <cmath>
#include <string>

#include <simclr/backend/tags.hpp>
#include <simclr/config.hpp>
#include <simclr/error.hpp>
#include <simclr/loss/checks.hpp>
#include <simclr/loss/kernels.hpp>
#include <simclr/loss/cpu/margin_triplet.hpp>  // the CPU kernel, included here only
#include <simclr/loss/pairwise_loss_result.hpp>
#include <simclr/tensor.hpp>

namespace simclr::loss {

/// Margin triplet on cosines c_ik = u_iᵀu_k, the paper's "maximise −max(uᵀv⁻ − uᵀv⁺ + m, 0)":
///   all negatives: ℓ_i = (1/(2N−2)) Σ_{k ∉ {i, p(i)}} max(c_ik − c_{i,p(i)} + m, 0)
///   semi_hard:     ℓ_i = max(c_ik* − c_{i,p(i)} + m, 0), k* the most similar negative that is
///                  still less similar than the positive (FaceNet's semi-hard negative, as in
///                  TensorFlow's triplet_semihard_loss); when there is none, the least similar
///                  negative.
/// L = (1/2N) Σ_i ℓ_i. Satisfies simclr::contrastive_loss<margin_triplet<T, B>, T, B>.
template <class T = float, backend B = cpu_t>
class margin_triplet {
 public:
  using scalar_type = T;
  using backend_type = B;

  margin_triplet() = default;
  /// Throws value_error for a negative or non-finite margin.
  explicit margin_triplet(const margin_triplet_options& options) : options_(options) {
    if (!(options.margin >= 0.0) || !std::isfinite(options.margin))
      throw value_error("simclr: margin_triplet: margin is " + std::to_string(options.margin) +
                        ", expected a finite value ≥ 0");
  }
  [[nodiscard]] const margin_triplet_options& options() const noexcept { return options_; }

  /// The loss of the (2N, D) batch z and its gradient.
  [[nodiscard]] pairwise_loss_result<T, B> operator()(const tensor<T, B>& z) const {
    return detail::run_pairwise_loss<margin_triplet_kernel<B>>(z, options_, "margin_triplet");
  }

 private:
  margin_triplet_options options_{};
};

}  // namespace simclr::loss

