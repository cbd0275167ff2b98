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
#include <simclr/loss/row_checks.hpp>
#include <simclr/tensor.hpp>
#include <simclr/transfer.cuh>

namespace simclr::loss::cuda_detail {

/// The row norms on their way to the host for the CPU's checks (NaN or infinite rows, rows
/// below ε): copied asynchronously into pinned memory when the rows are normalised, checked by
/// check() once the loss's own results have come back — one synchronisation serves both, and a
/// loss call costs one wait for the device instead of two. The pinned buffer is the calling
/// thread's, reused: call check() before the thread normalises rows again.
class deferred_norm_check {
 public:
  deferred_norm_check() = default;
  deferred_norm_check(const double* norms_dev, index_t rows, double eps, bool allow_small_rows,
                      const char* loss_name)
      : host_(staging(rows)), rows_(rows), eps_(eps), allow_small_rows_(allow_small_rows),
        loss_name_(loss_name) {
    SIMCLR_CUDA_CHECK(cudaMemcpyAsync(host_, norms_dev, sizeof(double) * static_cast<std::size_t>(rows),
                                      cudaMemcpyDeviceToHost, cudaStreamLegacy));
  }
  /// Waits for the copy (at once when the device is already idle), then throws value_error with
  /// the CPU's message for the first bad row.
  void check() const {
    if (host_ == nullptr) return;
    SIMCLR_CUDA_CHECK(cudaStreamSynchronize(cudaStreamLegacy));
    for (index_t i = 0; i < rows_; ++i)
      (void)detail::check_row_norm(i, host_[i], eps_, allow_small_rows_, loss_name_);
  }

 private:
  /// The thread's pinned buffer of at least `count` doubles (grown by doubling; kept for the
  /// thread's life and left to the driver at exit, like the device cache).
  static double* staging(index_t count) {
    thread_local double* buffer = nullptr;
    thread_local index_t capacity = 0;
    if (count > capacity) {
      const index_t grown = std::max<index_t>(count, 2 * capacity);
      double* p = nullptr;
      SIMCLR_CUDA_CHECK(cudaMallocHost(&p, sizeof(double) * static_cast<std::size_t>(grown)));
      if (buffer != nullptr) (void)cudaFreeHost(buffer);
      buffer = p;
      capacity = grown;
    }
    return buffer;
  }

  double* host_ = nullptr;
  index_t rows_ = 0;
  double eps_ = 0.0;
  bool allow_small_rows_ = false;
  const char* loss_name_ = "";
};

/// The rows of z scaled to unit length on the device, with what the backward pass needs.
template <class T>
struct normalised_rows {
  index_t rows = 0, d = 0;
  tensor<T, cuda_t> u;                   // (rows, D) u_i = z_i / max(‖z_i‖, ε)
  tensor<T, cuda_t> inv_norm;            // (rows) 1 / max(‖z_i‖, ε)
  tensor<std::uint8_t, cuda_t> clamped;  // (rows) 1 where ‖z_i‖ < ε
  deferred_norm_check norms;             // the CPU's checks of ‖z_i‖: call norms.check()
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

/// inv_norm[i] = 1 / max(‖z_i‖, ε) (in double, then T) and clamped[i] = ‖z_i‖ < ε, as the host
/// check computes them.
template <class T>
__global__ void inverse_norms(index_t rows, const double* norms, double eps, T* inv_norm,
                              std::uint8_t* clamped) {
  for (index_t i = cuda_backend::thread_index(); i < rows; i += cuda_backend::thread_stride()) {
    const double nrm = norms[i];
    inv_norm[i] = static_cast<T>(1.0 / fmax(nrm, eps));
    clamped[i] = nrm < eps ? 1 : 0;
  }
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
/// and checked on the host with the CPU's rules and messages (detail::check_row_norm) when
/// the caller calls out.norms.check() — after its results have come back, before it returns
/// them. (Rows with a NaN only make NaNs until then.)
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
  out.inv_norm = tensor<T, cuda_t>(shape{rows}, uninitialized);
  out.clamped = tensor<std::uint8_t, cuda_t>(shape{rows}, uninitialized);
  inverse_norms<T><<<cuda_backend::grid_for(rows), cuda_backend::block_threads>>>(
      rows, norms_dev.data(), eps, out.inv_norm.data(), out.clamped.data());
  SIMCLR_CUDA_CHECK_LAUNCH();
  out.norms = deferred_norm_check(norms_dev.data(), rows, eps, allow_small_rows, loss_name);
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

/// What the per-row loss kernels leave on the device: ℓ_i, H_i (where reported; else 0), top-1
/// flags — in one buffer, so one copy brings them to the host.
class row_results {
 public:
  explicit row_results(index_t m) : m_(m), buffer_(shape{3 * m}, uninitialized) {
    memory<cuda_t>::zero(entropy(), sizeof(double) * static_cast<std::size_t>(m));
  }
  [[nodiscard]] double* loss() noexcept { return buffer_.data(); }
  [[nodiscard]] double* entropy() noexcept { return buffer_.data() + m_; }
  [[nodiscard]] std::int32_t* correct() noexcept {
    return reinterpret_cast<std::int32_t*>(buffer_.data() + 2 * m_);
  }

  /// Σ ℓ_i, Σ H_i and the number of correct rows, summed on the host in row order.
  struct sums {
    double loss = 0.0, entropy = 0.0;
    index_t correct = 0;
  };
  [[nodiscard]] sums sum() const {
    const auto host = to_host(buffer_);
    const double* l = host.data();
    const double* h = host.data() + m_;
    const auto* c = reinterpret_cast<const std::int32_t*>(host.data() + 2 * m_);
    sums s;
    for (index_t i = 0; i < m_; ++i) {
      s.loss += l[i];
      s.entropy += h[i];
      s.correct += c[i] != 0 ? 1 : 0;
    }
    return s;
  }

 private:
  index_t m_;
  tensor<double, cuda_t> buffer_;  // loss (m), entropy (m), correct (m int32 in m doubles' bytes)
};

}  // namespace simclr::loss::cuda_detail
