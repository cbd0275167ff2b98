// CUDA helpers shared by the losses: row normalisation with the CPU's checks, the gradient projection.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <algorithm>
#include <cstdint>
#include <vector>

#include <simclr/backend/cuda/launch.cuh>
#include <simclr/backend/cuda/memory.cuh>
#include <simclr/backend/cuda/transfer.cuh>
#include <simclr/loss/cpu/rows.hpp>
#include <simclr/tensor.hpp>

namespace simclr::loss::cuda_detail {

/// The rows of z scaled to unit length on the device, with what the backward pass needs.
template <class T>
struct normalised_rows {
  index_t rows = 0, d = 0;
  tensor<T, cuda_t> u;                   // (rows, D) u_i = z_i / max(‖z_i‖, ε)
  tensor<T, cuda_t> inv_norm;            // (rows) 1 / max(‖z_i‖, ε)
  tensor<std::uint8_t, cuda_t> clamped;  // (rows) 1 where ‖z_i‖ < ε
};

/// norms[i] ← ‖z_i‖ in double: one block per row.
template <class T>
__global__ void row_norms(index_t d, const T* z, double* norms) {
  const index_t i = blockIdx.x;
  double s = 0.0;
  for (index_t j = threadIdx.x; j < d; j += blockDim.x) {
    const double v = static_cast<double>(z[i * d + j]);
    s += v * v;
  }
  s = cuda_backend::block_sum(s);
  if (threadIdx.x == 0) norms[i] = sqrt(s);
}

template <class T>
__global__ void scale_rows(index_t rows, index_t d, const T* z, const T* inv_norm, T* u) {
  const index_t total = rows * d;
  for (index_t e = cuda_backend::thread_index(); e < total; e += cuda_backend::thread_stride())
    u[e] = z[e] * inv_norm[e / d];
}

/// dz_i = s·(g_i − (g_i·u_i) u_i)·inv_norm_i (s·g_i·inv_norm_i for clamped rows): one block per row.
template <class T>
__global__ void project_rows_kernel(index_t d, const T* g, const T* u, const T* inv_norm,
                                    const std::uint8_t* clamped, T scale, T* dz) {
  const index_t i = blockIdx.x;
  double radial = 0.0;
  for (index_t j = threadIdx.x; j < d; j += blockDim.x)
    radial += static_cast<double>(g[i * d + j]) * static_cast<double>(u[i * d + j]);
  radial = cuda_backend::block_sum(radial);
  const T s = scale * inv_norm[i], r = clamped[i] != 0 ? T(0) : static_cast<T>(radial);
  for (index_t j = threadIdx.x; j < d; j += blockDim.x)
    dz[i * d + j] = (g[i * d + j] - r * u[i * d + j]) * s;
}

/// Normalises the rows of the device matrix z (rows, d). The norms are computed on the device
/// and checked on the host with the CPU's rules and messages (cpu_detail::check_row_norm).
template <class T>
normalised_rows<T> normalise_rows(const T* z, index_t rows, index_t d, double eps,
                                  bool allow_small_rows, const char* loss_name) {
  normalised_rows<T> out;
  out.rows = rows;
  out.d = d;
  tensor<double, cuda_t> norms_dev(shape{rows}, uninitialized);
  row_norms<T><<<static_cast<unsigned>(rows), cuda_backend::block_threads>>>(d, z,
                                                                             norms_dev.data());
  SIMCLR_CUDA_CHECK_LAUNCH();
  const tensor<double> norms = to_host(norms_dev);
  tensor<T> inv_norm(shape{rows}, uninitialized);
  tensor<std::uint8_t> clamped(shape{rows});
  for (index_t i = 0; i < rows; ++i) {
    const double nrm = norms.data()[i];
    clamped.data()[i] = cpu_detail::check_row_norm(i, nrm, eps, allow_small_rows, loss_name);
    inv_norm.data()[i] = static_cast<T>(1.0 / std::max(nrm, eps));
  }
  out.inv_norm = to_device(inv_norm);
  out.clamped = to_device(clamped);
  out.u = tensor<T, cuda_t>(shape{rows, d}, uninitialized);
  scale_rows<T><<<cuda_backend::grid_for(rows * d), cuda_backend::block_threads>>>(
      rows, d, z, out.inv_norm.data(), out.u.data());
  SIMCLR_CUDA_CHECK_LAUNCH();
  return out;
}

/// dz ← the gradient through u = z/‖z‖ of g = ∂L/∂U (both (rows, d) on the device), times `scale`.
template <class T>
void project_rows(const T* g, const normalised_rows<T>& nr, T scale, T* dz) {
  project_rows_kernel<T><<<static_cast<unsigned>(nr.rows), cuda_backend::block_threads>>>(
      nr.d, g, nr.u.data(), nr.inv_norm.data(), nr.clamped.data(), scale, dz);
  SIMCLR_CUDA_CHECK_LAUNCH();
}

/// What the per-row loss kernels leave on the device: ℓ_i, H_i (where reported), top-1 flags.
struct row_results {
  explicit row_results(index_t m)
      : loss(shape{m}, uninitialized), entropy(shape{m}), correct(shape{m}, uninitialized) {}
  tensor<double, cuda_t> loss, entropy;
  tensor<std::int32_t, cuda_t> correct;

  /// Σ ℓ_i, Σ H_i and the number of correct rows, summed on the host in row order.
  struct sums {
    double loss = 0.0, entropy = 0.0;
    index_t correct = 0;
  };
  [[nodiscard]] sums sum() const {
    const auto l = to_host(loss), h = to_host(entropy);
    const auto c = to_host(correct);
    sums s;
    for (index_t i = 0; i < l.numel(); ++i) {
      s.loss += l.data()[i];
      s.entropy += h.data()[i];
      s.correct += c.data()[i] != 0 ? 1 : 0;
    }
    return s;
  }
};

}  // namespace simclr::loss::cuda_detail
