// simclr::loss::margin_triplet: the margin triplet loss with optional semi-hard mining (Table 2).
#pragma once

#include <cmath>
#include <string>

#include <simclr/backend/tags.hpp>
#include <simclr/config.hpp>
#include <simclr/error.hpp>
#include <simclr/loss/checks.hpp>
#include <simclr/loss/pairwise_loss_result.hpp>
#include <simclr/tensor.hpp>

namespace simclr::loss {

/// Options of the margin triplet loss. All runtime values.
struct margin_triplet_options {
  double margin = 0.5;            ///< m ≥ 0, on cosine similarities (in [−1, 1])
  bool semi_hard = false;         ///< one semi-hard negative per anchor instead of all
  double norm_epsilon = 1e-12;    ///< ε of u = z / max(‖z‖, ε)
  bool allow_small_rows = false;  ///< as nt_xent_options::allow_small_rows
};

/// The margin triplet kernel of a backend:
///   template <class T> static {loss, top1_correct}
///   run(const T* z, index_t rows, index_t d, const margin_triplet_options&, T* dz).
/// CPU: <simclr/loss/cpu/margin_triplet.hpp> (included below); CUDA:
/// <simclr/loss/cuda/margin_triplet.cuh> (nvcc only).
template <class Backend>
struct margin_triplet_kernel {
  static_assert(simclr::detail::always_false<Backend>,
                "simclr: op 'margin_triplet' has no kernel for this backend — for "
                "simclr::cuda_t include <simclr/cuda.cuh>, compile with nvcc and link "
                "simclr::cuda; or specialise simclr::loss::margin_triplet_kernel for your backend");
};

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
    detail::check_pair_batch(z, "margin_triplet");
    pairwise_loss_result<T, B> r;
    r.dz = tensor<T, B>(z.shape(), uninitialized);
    const auto s = margin_triplet_kernel<B>::run(z.data(), z.extent(0), z.extent(1), options_,
                                                 r.dz.data());
    const double n = static_cast<double>(z.extent(0));
    r.value = s.loss / n;
    r.top1_accuracy = static_cast<double>(s.top1_correct) / n;
    return r;
  }

 private:
  margin_triplet_options options_{};
};

}  // namespace simclr::loss

#include <simclr/loss/cpu/margin_triplet.hpp>
