// The per-backend kernels of the losses: their plain parameters and the primary templates,
// which name the op when a backend lacks it. CPU: <simclr/loss/cpu/*.hpp> (each included by its
// loss's header); CUDA: <simclr/loss/cuda/*.cuh> (nvcc only, through <simclr/cuda.cuh>).
#pragma once

#include <simclr/backend/tags.hpp>
#include <simclr/config.hpp>

namespace simclr::loss {

/// Sums a backend kernel returns over the anchors it handled.
struct nt_xent_sums {
  double loss = 0.0;  ///< Σ ℓ_i
  index_t top1_correct = 0;
  double entropy = 0.0;  ///< Σ H_i
};

/// Plain parameters handed to a kernel.
struct nt_xent_params {
  double temperature = 0.5;
  double norm_epsilon = 1e-12;
  bool allow_small_rows = false;
  double gradient_scale = 1.0;  ///< dz is the gradient of gradient_scale · (1/2N) Σ ℓ_i
  bool decoupled = false;       ///< DCL: the positive is left out of the denominator
  double weight_sigma = 0.0;    ///< DCLW: σ > 0 weights the positives (detail::dclw_weights)
};

/// The NT-Xent kernel of a backend:
///   template <class T> static nt_xent_sums full(const T* z, index_t rows, index_t d,
///       const nt_xent_params&, T* dz, tensor<T, Backend>& workspace);
///   template <class T> static nt_xent_sums partial(const T* gathered, index_t rows, index_t d,
///       std::span<const index_t> anchors, const nt_xent_params&, T* d_gathered,
///       tensor<T, Backend>& workspace);
/// Pointers are row-major (rows, d) in the backend's memory. CPU: <simclr/loss/cpu/nt_xent.hpp>
/// (included by its loss header); CUDA: <simclr/loss/cuda/nt_xent.cuh> (nvcc only).
template <class Backend>
struct nt_xent_kernel {
  static_assert(simclr::detail::always_false<Backend>,
                "simclr: op 'nt_xent' has no kernel for this backend — for simclr::cuda_t "
                "include <simclr/cuda.cuh>, compile with nvcc and "
                "link simclr::cuda; or specialise simclr::loss::nt_xent_kernel for your backend");
};

/// Options of NT-Logistic. All runtime values.
struct nt_logistic_options {
  double temperature = 0.5;      ///< τ > 0 (the paper tunes it per loss; 0.5 as for NT-Xent)
  double negative_weight = 1.0;  ///< w ≥ 0, multiplies the sum over the 2N−2 negatives
  double norm_epsilon = 1e-12;   ///< ε of u = z / max(‖z‖, ε)
  bool allow_small_rows = false; ///< as nt_xent_options::allow_small_rows
};

/// The NT-Logistic kernel of a backend:
///   template <class T> static detail::pairwise_sums-like {loss, top1_correct}
///   run(const T* z, index_t rows, index_t d, const nt_logistic_options&, T* dz).
/// CPU: <simclr/loss/cpu/nt_logistic.hpp> (included by its loss header); CUDA:
/// <simclr/loss/cuda/nt_logistic.cuh> (nvcc only).
template <class Backend>
struct nt_logistic_kernel {
  static_assert(simclr::detail::always_false<Backend>,
                "simclr: op 'nt_logistic' has no kernel for this backend — for simclr::cuda_t "
                "include <simclr/cuda.cuh>, compile with nvcc and link simclr::cuda; or "
                "specialise simclr::loss::nt_logistic_kernel for your backend");
};

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
/// CPU: <simclr/loss/cpu/margin_triplet.hpp> (included by its loss header); CUDA:
/// <simclr/loss/cuda/margin_triplet.cuh> (nvcc only).
template <class Backend>
struct margin_triplet_kernel {
  static_assert(simclr::detail::always_false<Backend>,
                "simclr: op 'margin_triplet' has no kernel for this backend — for "
                "simclr::cuda_t include <simclr/cuda.cuh>, compile with nvcc and link "
                "simclr::cuda; or specialise simclr::loss::margin_triplet_kernel for your backend");
};

/// Options of the normalised MSE (BYOL's regression loss). All runtime values.
struct normalized_mse_options {
  /// Compare row i of the predictions with row (i + N) mod 2N of the targets: each view's
  /// prediction against the other view's target, both directions summed (BYOL's L + L̃).
  /// Off: row i against row i, the mean over rows.
  bool swap_halves = true;
  double norm_epsilon = 1e-12;   ///< ε of u = p / max(‖p‖, ε) (and of the targets)
  bool allow_small_rows = false; ///< as nt_xent_options::allow_small_rows
};

/// Sums a normalised-MSE kernel returns.
struct normalized_mse_sums {
  double cosine = 0.0;  ///< Σ_i cos(p_i, t_π(i))
};

/// The normalised-MSE kernel of a backend:
///   template <class T> static normalized_mse_sums run(const T* p, const T* target,
///       index_t rows, index_t d, const normalized_mse_options&, double gradient_scale, T* dp)
/// dp ← gradient_scale · ∂(−Σ_i cos(p_i, t_π(i)))/∂p; targets get no gradient. CPU:
/// <simclr/loss/cpu/normalized_mse.hpp> (included by its loss header); CUDA:
/// <simclr/loss/cuda/normalized_mse.cuh> (nvcc only).
template <class Backend>
struct normalized_mse_kernel {
  static_assert(simclr::detail::always_false<Backend>,
                "simclr: op 'normalized_mse' has no kernel for this backend — for simclr::cuda_t "
                "include <simclr/cuda.cuh>, compile with nvcc and link simclr::cuda; or "
                "specialise simclr::loss::normalized_mse_kernel for your backend");
};

}  // namespace simclr::loss

namespace simclr::loss {

/// Options of Barlow Twins. All runtime values.
struct barlow_twins_options {
  /// λ, the weight of the off-diagonal (redundancy) term. The paper's 5e-3 for an 8192-d
  /// projector (the official code's default 0.0051); scale it roughly as 1/D for other widths.
  double lambda = 0.0051;
  /// ε of the per-feature standardisation x̂ = (x − μ)/√(σ² + ε) (BatchNorm1d's default).
  double epsilon = 1e-5;
};

/// Sums a Barlow Twins kernel returns.
struct barlow_twins_sums {
  double on_diagonal = 0.0;   ///< Σ_i (C_ii − 1)²
  double off_diagonal = 0.0;  ///< Σ_{i≠j} C_ij²
  double diagonal = 0.0;      ///< Σ_i C_ii
};

/// The Barlow Twins kernel of a backend:
///   template <class T> static barlow_twins_sums run(const T* z, index_t rows, index_t d,
///       const barlow_twins_options&, T* dz)
/// z (rows = 2N, d) row-major, view 1 in rows [0, N), view 2 in [N, 2N); dz ← ∂loss/∂z. CPU:
/// <simclr/loss/cpu/barlow_twins.hpp> (included by its loss header); CUDA:
/// <simclr/loss/cuda/barlow_twins.cuh> (nvcc only).
template <class Backend>
struct barlow_twins_kernel {
  static_assert(simclr::detail::always_false<Backend>,
                "simclr: op 'barlow_twins' has no kernel for this backend — for simclr::cuda_t "
                "include <simclr/cuda.cuh>, compile with nvcc and link simclr::cuda; or "
                "specialise simclr::loss::barlow_twins_kernel for your backend");
};

/// Options of VICReg. All runtime values; the defaults are the paper's.
struct vicreg_options {
  double invariance_weight = 25.0;  ///< λ, on the mean squared distance of the two views
  double variance_weight = 25.0;    ///< μ, on the hinge of each feature's standard deviation
  double covariance_weight = 1.0;   ///< ν, on the squared off-diagonal covariances
  double variance_target = 1.0;     ///< γ, the standard deviation each feature is pushed to
  double epsilon = 1e-4;            ///< ε of std = √(Var + ε)
};

/// Sums a VICReg kernel returns (each term unweighted).
struct vicreg_sums {
  double invariance = 0.0;  ///< (1/(N·D)) Σ ‖z_i − z_{i+N}‖²
  double variance = 0.0;    ///< the two views' (1/D) Σ_j max(0, γ − std_j), averaged
  double covariance = 0.0;  ///< Σ over both views of (1/D) Σ_{i≠j} Cov_ij²
};

/// The VICReg kernel of a backend:
///   template <class T> static vicreg_sums run(const T* z, index_t rows, index_t d,
///       const vicreg_options&, T* dz)
/// Same layout as barlow_twins_kernel. CPU: <simclr/loss/cpu/vicreg.hpp> (included by its loss
/// header); CUDA: <simclr/loss/cuda/vicreg.cuh> (nvcc only).
template <class Backend>
struct vicreg_kernel {
  static_assert(simclr::detail::always_false<Backend>,
                "simclr: op 'vicreg' has no kernel for this backend — for simclr::cuda_t "
                "include <simclr/cuda.cuh>, compile with nvcc and link simclr::cuda; or "
                "specialise simclr::loss::vicreg_kernel for your backend");
};

}  // namespace simclr::loss

namespace simclr::loss {

/// Options of InfoNCE against a queue of negatives (MoCo). All runtime values.
struct info_nce_options {
  double temperature = 0.2;       ///< τ > 0 (MoCo v2's 0.2)
  double norm_epsilon = 1e-12;    ///< ε of u = z / max(‖z‖, ε)
  bool allow_small_rows = false;  ///< as nt_xent_options::allow_small_rows
};

/// The InfoNCE-with-a-queue kernel of a backend:
///   template <class T> static nt_xent_sums run(const T* q, const T* k, const T* queue,
///       index_t m, index_t d, index_t negatives, const info_nce_options&, T* dq, T* k_hat)
/// q and k (m, d) row-major, queue (≥ negatives, d) of unit rows; dq ← ∂(mean loss)/∂q and
/// k_hat ← the keys' unit rows (keys get no gradient). Returns Σ ℓ_i, the top-1 count and Σ H_i.
/// CPU: <simclr/loss/cpu/info_nce.hpp> (included by its loss header); CUDA:
/// <simclr/loss/cuda/info_nce.cuh> (nvcc only).
template <class Backend>
struct info_nce_kernel {
  static_assert(simclr::detail::always_false<Backend>,
                "simclr: op 'info_nce' has no kernel for this backend — for simclr::cuda_t "
                "include <simclr/cuda.cuh>, compile with nvcc and link simclr::cuda; or "
                "specialise simclr::loss::info_nce_kernel for your backend");
};

}  // namespace simclr::loss
