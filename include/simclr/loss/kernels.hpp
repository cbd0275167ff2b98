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
///   template <class T> static cpu_detail::pairwise_sums-like {loss, top1_correct}
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
