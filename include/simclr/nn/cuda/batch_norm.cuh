// simclr::nn::batch_norm_kernel<cuda_t>: per-channel batch normalisation on the device, double sums over channel slices.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <simclr/backend/cuda/check.cuh>
#include <simclr/backend/cuda/launch.cuh>
#include <simclr/backend/cuda/memory.cuh>
#include <simclr/nn/kernels.hpp>
#include <simclr/tensor.hpp>

namespace simclr::nn {

namespace cuda_detail {
/// Threads per block of the batch-norm passes.
inline constexpr unsigned bn_threads = 256;

/// The training passes split each channel's N·L elements into `parts` contiguous slices, one
/// block each (a grid of parts × C blocks), so even 64 channels fill the GPU. The slice count
/// depends on the shape only, and the per-slice partial sums are combined in slice order by
/// every block that needs them: results are run-to-run identical on any device.
[[nodiscard]] inline index_t bn_parts(index_t per_channel) {
  constexpr index_t per_block = 8192;  // elements of one slice (32 per thread)
  return std::clamp<index_t>((per_channel + per_block - 1) / per_block, 1, 256);
}

/// The slice [begin, end) of channel elements that block `part` of `parts` covers.
__device__ inline void bn_slice(index_t m, index_t part, index_t parts, index_t& begin,
                                index_t& end) {
  begin = m * part / parts;
  end = m * (part + 1) / parts;
}

/// Element e ∈ [0, N·L) of channel ch in an (N, C, L) tensor (e / l in 32 bits: N·L < 2³²).
__device__ inline index_t bn_offset(index_t e, index_t ch, index_t c, std::uint32_t l) {
  const auto e32 = static_cast<std::uint32_t>(e);
  return (static_cast<index_t>(e32 / l) * c + ch) * l + e32 % l;
}

/// y = v + residual (if given), then max(y, 0) if `relu`.
template <class T>
__device__ inline T bn_epilogue(T v, const T* residual, index_t o, bool relu) {
  if (residual != nullptr) v += residual[o];
  return relu ? (v > T(0) ? v : T(0)) : v;
}

/// Pass 1 of training: block (part, ch) sums x − x₀ and (x − x₀)² over its slice in double, x₀
/// the channel's first element (a shift that keeps Σ(x − x₀)² − (Σ(x − x₀))²/m well conditioned
/// when |mean| ≫ std), into partial[(ch·parts + part)·2 + {0, 1}].
template <class T>
__global__ void bn_partial_moments(index_t n, index_t c, index_t l, const T* x, double* partial) {
  const index_t part = blockIdx.x, parts = gridDim.x, ch = blockIdx.y, m = n * l;
  const auto l32 = static_cast<std::uint32_t>(l);
  index_t begin = 0, end = 0;
  bn_slice(m, part, parts, begin, end);
  const double x0 = static_cast<double>(x[ch * l]);
  double s = 0.0, ss = 0.0;
  for (index_t e = begin + threadIdx.x; e < end; e += blockDim.x) {
    const double d = static_cast<double>(x[bn_offset(e, ch, c, l32)]) - x0;
    s += d;
    ss += d * d;
  }
  s = cuda_backend::block_sum(s);
  ss = cuda_backend::block_sum(ss);
  if (threadIdx.x == 0) {
    partial[(ch * parts + part) * 2] = s;
    partial[(ch * parts + part) * 2 + 1] = ss;
  }
}

/// Σ over the parts of channel ch of partial pair k, in part order (thread 0's result).
__device__ inline void bn_combine(const double* partial, index_t ch, index_t parts, double& a,
                                  double& b) {
  a = 0.0;
  b = 0.0;
  for (index_t p = 0; p < parts; ++p) {
    a += partial[(ch * parts + p) * 2];
    b += partial[(ch * parts + p) * 2 + 1];
  }
}

/// Pass 2 of training: every block combines its channel's partial moments into the mean and
/// biased variance (block 0 of the channel stores them), then normalises its slice with the
/// epilogue (residual, ReLU).
template <class T>
__global__ void bn_normalize_train(index_t n, index_t c, index_t l, const T* x, const T* gamma,
                                   const T* beta, double eps, const double* partial, T* y,
                                   T* mean, T* var, T* inv_std, const T* residual, bool relu) {
  const index_t part = blockIdx.x, parts = gridDim.x, ch = blockIdx.y, m = n * l;
  const auto l32 = static_cast<std::uint32_t>(l);
  __shared__ T stats[2];  // mean, 1/sqrt(var + eps) in T
  if (threadIdx.x == 0) {
    double s = 0.0, ss = 0.0;
    bn_combine(partial, ch, parts, s, ss);
    const double md = static_cast<double>(m), shifted_mean = s / md;
    const double mu = static_cast<double>(x[ch * l]) + shifted_mean;
    const double v = fmax(ss / md - shifted_mean * shifted_mean, 0.0);
    const double is = 1.0 / sqrt(v + eps);
    stats[0] = static_cast<T>(mu);
    stats[1] = static_cast<T>(is);
    if (part == 0) {
      mean[ch] = static_cast<T>(mu);
      var[ch] = static_cast<T>(v);
      inv_std[ch] = static_cast<T>(is);
    }
  }
  __syncthreads();
  const T mt = stats[0], ist = stats[1], g = gamma[ch], b = beta[ch];
  index_t begin = 0, end = 0;
  bn_slice(m, part, parts, begin, end);
  for (index_t e = begin + threadIdx.x; e < end; e += blockDim.x) {
    const index_t o = bn_offset(e, ch, c, l32);
    const T h = (x[o] - mt) * ist;
    y[o] = bn_epilogue(h * g + b, residual, o, relu);
  }
}

template <class T>
__global__ void bn_forward_eval(index_t n, index_t c, index_t l, const T* x, const T* gamma,
                                const T* beta, const T* running_mean, const T* running_var,
                                double eps, T* y, const T* residual, bool relu) {
  const index_t total = n * c * l;
  for (index_t i = cuda_backend::thread_index(); i < total; i += cuda_backend::thread_stride()) {
    const index_t ch = (i / l) % c;
    const T scale = static_cast<T>(static_cast<double>(gamma[ch]) /
                                   sqrt(static_cast<double>(running_var[ch]) + eps));
    const T shift = beta[ch] - running_mean[ch] * scale;
    y[i] = bn_epilogue(x[i] * scale + shift, residual, i, relu);
  }
}

/// dy at o, masked by the fused ReLU's output when there was one.
template <class T>
__device__ inline T bn_grad(const T* dy, const T* relu_y, index_t o) {
  return relu_y == nullptr || relu_y[o] > T(0) ? dy[o] : T(0);
}

/// Pass 1 of backward: block (part, ch) sums dy and dy·x̂ over its slice in double (x̂
/// recomputed from x; dy masked by the fused ReLU) into partial[(ch·parts + part)·2 + {0, 1}].
template <class T>
__global__ void bn_partial_grad_sums(index_t n, index_t c, index_t l, const T* dy, const T* x,
                                     const T* mean, const T* inv_std, const T* relu_y,
                                     double* partial) {
  const index_t part = blockIdx.x, parts = gridDim.x, ch = blockIdx.y, m = n * l;
  const auto l32 = static_cast<std::uint32_t>(l);
  const T mt = mean[ch], ist = inv_std[ch];
  index_t begin = 0, end = 0;
  bn_slice(m, part, parts, begin, end);
  double sdy = 0.0, sdyx = 0.0;
  for (index_t e = begin + threadIdx.x; e < end; e += blockDim.x) {
    const index_t o = bn_offset(e, ch, c, l32);
    const T d = bn_grad(dy, relu_y, o);
    sdy += static_cast<double>(d);
    sdyx += static_cast<double>(d) * static_cast<double>((x[o] - mt) * ist);
  }
  sdy = cuda_backend::block_sum(sdy);
  sdyx = cuda_backend::block_sum(sdyx);
  if (threadIdx.x == 0) {
    partial[(ch * parts + part) * 2] = sdy;
    partial[(ch * parts + part) * 2 + 1] = sdyx;
  }
}

/// Pass 2 of backward: every block combines its channel's sums (block 0 of the channel adds
/// them to dbeta and dgamma), then writes dx over its slice when dx is wanted.
template <class T>
__global__ void bn_backward_dx(index_t n, index_t c, index_t l, const T* dy, const T* x,
                               const T* mean, const T* gamma, const T* inv_std, const T* relu_y,
                               const double* partial, T* dx, T* dgamma, T* dbeta) {
  const index_t part = blockIdx.x, parts = gridDim.x, ch = blockIdx.y, m = n * l;
  const auto l32 = static_cast<std::uint32_t>(l);
  __shared__ T sums[2];  // mean of dy, mean of dy·x̂ in T
  if (threadIdx.x == 0) {
    double sdy = 0.0, sdyx = 0.0;
    bn_combine(partial, ch, parts, sdy, sdyx);
    if (part == 0) {
      dgamma[ch] += static_cast<T>(sdyx);
      dbeta[ch] += static_cast<T>(sdy);
    }
    const double md = static_cast<double>(m);
    sums[0] = static_cast<T>(sdy / md);
    sums[1] = static_cast<T>(sdyx / md);
  }
  if (dx == nullptr) return;
  __syncthreads();
  const T mt = mean[ch], ist = inv_std[ch];
  const T k = static_cast<T>(static_cast<double>(gamma[ch]) * static_cast<double>(ist));
  const T mean_dy = sums[0], mean_dyx = sums[1];
  index_t begin = 0, end = 0;
  bn_slice(m, part, parts, begin, end);
  for (index_t e = begin + threadIdx.x; e < end; e += blockDim.x) {
    const index_t o = bn_offset(e, ch, c, l32);
    dx[o] = (bn_grad(dy, relu_y, o) - mean_dy - (x[o] - mt) * ist * mean_dyx) * k;
  }
}

// ---- global BatchNorm: the passes of batch_norm_kernel<cpu_t>'s group interface ------------

/// Block (part, ch) sums x (center null) or (x − center[ch])² over its slice in double, into
/// partial[ch·parts + part].
template <class T>
__global__ void bn_partial_channel(index_t n, index_t c, index_t l, const T* x,
                                   const double* center, double* partial) {
  const index_t part = blockIdx.x, parts = gridDim.x, ch = blockIdx.y, m = n * l;
  const auto l32 = static_cast<std::uint32_t>(l);
  index_t begin = 0, end = 0;
  bn_slice(m, part, parts, begin, end);
  double s = 0.0;
  for (index_t e = begin + threadIdx.x; e < end; e += blockDim.x) {
    const double v = static_cast<double>(x[bn_offset(e, ch, c, l32)]);
    if (center == nullptr) {
      s += v;
    } else {
      const double d = v - center[ch];
      s += d * d;
    }
  }
  s = cuda_backend::block_sum(s);
  if (threadIdx.x == 0) partial[ch * parts + part] = s;
}

/// out[k·c + ch] = Σ_p partial[(ch·parts + p)·width + k] for k < width, in part order. (A
/// template so that every translation unit may define it.)
template <class = void>
__global__ void bn_combine_channels(index_t c, index_t parts, index_t width,
                                           const double* partial, double* out) {
  for (index_t ch = cuda_backend::thread_index(); ch < c; ch += cuda_backend::thread_stride())
    for (index_t k = 0; k < width; ++k) {
      double s = 0.0;
      for (index_t p = 0; p < parts; ++p) s += partial[(ch * parts + p) * width + k];
      out[k * c + ch] = s;
    }
}

/// y = γ·(x − mean)·inv_std + β with the given (the group's) statistics, then the epilogue.
template <class T>
__global__ void bn_normalize_with(index_t n, index_t c, index_t l, const T* x, const T* gamma,
                                  const T* beta, const T* mean, const T* inv_std, T* y,
                                  const T* residual, bool relu) {
  const index_t total = n * c * l;
  for (index_t i = cuda_backend::thread_index(); i < total; i += cuda_backend::thread_stride()) {
    const index_t ch = (i / l) % c;
    const T h = (x[i] - mean[ch]) * inv_std[ch];
    y[i] = bn_epilogue(h * gamma[ch] + beta[ch], residual, i, relu);
  }
}

/// dx from the group's sums (Σg at [ch], Σg·x̂ at [c + ch]) and its count, as bn_backward_dx.
template <class T>
__global__ void bn_dx_with(index_t n, index_t c, index_t l, const T* dy, const T* x,
                           const T* mean, const T* gamma, const T* inv_std, const T* relu_y,
                           const double* sums, double count, T* dx) {
  const index_t total = n * c * l;
  for (index_t i = cuda_backend::thread_index(); i < total; i += cuda_backend::thread_stride()) {
    const index_t ch = (i / l) % c;
    const T mt = mean[ch], ist = inv_std[ch];
    const T k = static_cast<T>(static_cast<double>(gamma[ch]) * static_cast<double>(ist));
    const T mean_dy = static_cast<T>(sums[ch] / count);
    const T mean_dyx = static_cast<T>(sums[c + ch] / count);
    dx[i] = (bn_grad(dy, relu_y, i) - mean_dy - (x[i] - mt) * ist * mean_dyx) * k;
  }
}

template <class T>
__global__ void bn_set_stats(index_t c, const double* mean, const double* ss, double count,
                             double eps, T* mean_out, T* var_out, T* inv_std_out) {
  for (index_t ch = cuda_backend::thread_index(); ch < c; ch += cuda_backend::thread_stride()) {
    const double v = fmax(ss[ch], 0.0) / count;
    mean_out[ch] = static_cast<T>(mean[ch]);
    var_out[ch] = static_cast<T>(v);
    inv_std_out[ch] = static_cast<T>(1.0 / sqrt(v + eps));
  }
}

template <class T>
__global__ void bn_add_affine(index_t c, const double* sums, T* dbeta, T* dgamma) {
  for (index_t ch = cuda_backend::thread_index(); ch < c; ch += cuda_backend::thread_stride()) {
    dbeta[ch] += static_cast<T>(sums[ch]);
    dgamma[ch] += static_cast<T>(sums[c + ch]);
  }
}

/// `count` host doubles on the device, and back.
inline tensor<double, cuda_t> bn_upload(const double* host, index_t count) {
  tensor<double, cuda_t> d(shape{count}, uninitialized);
  if (count > 0)
    SIMCLR_CUDA_CHECK(cudaMemcpy(d.data(), host, sizeof(double) * static_cast<std::size_t>(count),
                                 cudaMemcpyHostToDevice));
  return d;
}
inline void bn_download(const tensor<double, cuda_t>& d, double* host) {
  if (d.numel() > 0)
    SIMCLR_CUDA_CHECK(cudaMemcpy(host, d.data(), sizeof(double) * static_cast<std::size_t>(d.numel()),
                                 cudaMemcpyDeviceToHost));
}

template <class T>
__global__ void bn_update_running(index_t c, const T* mean, const T* var, T momentum, T unbias,
                                  T* running_mean, T* running_var) {
  for (index_t ch = cuda_backend::thread_index(); ch < c; ch += cuda_backend::thread_stride()) {
    running_mean[ch] = (T(1) - momentum) * running_mean[ch] + momentum * mean[ch];
    running_var[ch] = (T(1) - momentum) * running_var[ch] + momentum * var[ch] * unbias;
  }
}
}  // namespace cuda_detail

/// Same contracts as batch_norm_kernel<cpu_t> (<simclr/nn/cpu/batch_norm.hpp>); device
/// pointers. Training passes: parts × C blocks sum slices in double, every block combines its
/// channel's slice sums in slice order (deterministic, see bn_parts), then normalises (or
/// writes dx for) its slice: two reads of x forward, two of x and dy backward.
template <>
struct batch_norm_kernel<cuda_t> {
  template <class T>
  static void forward_train(index_t n, index_t c, index_t l, const T* x, const T* gamma,
                            const T* beta, double eps, T* y, T* mean, T* var, T* inv_std,
                            const T* residual, bool relu) {
    if (c == 0 || n * l == 0) return;
    const index_t parts = cuda_detail::bn_parts(n * l);
    tensor<double, cuda_t> partial(shape{c * parts * 2}, uninitialized);
    const dim3 grid(static_cast<unsigned>(parts), static_cast<unsigned>(c));
    cuda_detail::bn_partial_moments<T><<<grid, cuda_detail::bn_threads>>>(n, c, l, x,
                                                                         partial.data());
    SIMCLR_CUDA_CHECK_LAUNCH();
    cuda_detail::bn_normalize_train<T><<<grid, cuda_detail::bn_threads>>>(
        n, c, l, x, gamma, beta, eps, partial.data(), y, mean, var, inv_std, residual, relu);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }

  template <class T>
  static void forward_eval(index_t n, index_t c, index_t l, const T* x, const T* gamma,
                           const T* beta, const T* running_mean, const T* running_var,
                           double eps, T* y, const T* residual, bool relu) {
    const index_t total = n * c * l;
    if (total == 0) return;
    cuda_detail::bn_forward_eval<T><<<cuda_backend::grid_for(total), cuda_backend::block_threads>>>(
        n, c, l, x, gamma, beta, running_mean, running_var, eps, y, residual, relu);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }

  template <class T>
  static void backward(index_t n, index_t c, index_t l, const T* dy, const T* x, const T* mean,
                       const T* gamma, const T* inv_std, const T* relu_y, T* dx, T* dgamma,
                       T* dbeta) {
    if (c == 0 || n * l == 0) return;
    const index_t parts = cuda_detail::bn_parts(n * l);
    tensor<double, cuda_t> partial(shape{c * parts * 2}, uninitialized);
    const dim3 grid(static_cast<unsigned>(parts), static_cast<unsigned>(c));
    cuda_detail::bn_partial_grad_sums<T><<<grid, cuda_detail::bn_threads>>>(
        n, c, l, dy, x, mean, inv_std, relu_y, partial.data());
    SIMCLR_CUDA_CHECK_LAUNCH();
    cuda_detail::bn_backward_dx<T><<<grid, cuda_detail::bn_threads>>>(
        n, c, l, dy, x, mean, gamma, inv_std, relu_y, partial.data(), dx, dgamma, dbeta);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }

  // ---- global BatchNorm (nn::global_batch_norm): batch_norm_kernel<cpu_t>'s group interface.
  // Sums in double over the same slices as the training passes, combined in slice order, and
  // handed over in host memory (the group adds them up on the host: C or 2C doubles a layer).

  /// sum[ch] = Σ x over channel ch (host doubles).
  template <class T>
  static void channel_sums(index_t n, index_t c, index_t l, const T* x, double* sum) {
    channel_pass(n, c, l, x, nullptr, sum);
  }
  /// ss[ch] = Σ (x − mean[ch])² over channel ch (mean and ss: host doubles).
  template <class T>
  static void channel_squares(index_t n, index_t c, index_t l, const T* x, const double* mean,
                              double* ss) {
    const auto center = cuda_detail::bn_upload(mean, c);
    channel_pass(n, c, l, x, center.data(), ss);
  }
  /// y = γ·(x − mean)·inv_std + β, then + residual if given, then max(·, 0) if `relu`.
  template <class T>
  static void normalize(index_t n, index_t c, index_t l, const T* x, const T* gamma, const T* beta,
                        const T* mean, const T* inv_std, T* y, const T* residual, bool relu) {
    const index_t total = n * c * l;
    if (total == 0) return;
    cuda_detail::bn_normalize_with<T><<<cuda_backend::grid_for(total), cuda_backend::block_threads>>>(
        n, c, l, x, gamma, beta, mean, inv_std, y, residual, relu);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }
  /// sums[ch] = Σ g, sums[c + ch] = Σ g·x̂ (host doubles; g masked by the fused ReLU).
  template <class T>
  static void backward_sums(index_t n, index_t c, index_t l, const T* dy, const T* x, const T* mean,
                            const T* inv_std, const T* relu_y, double* sums) {
    if (c == 0) return;
    if (n * l == 0) {
      std::fill(sums, sums + 2 * c, 0.0);
      return;
    }
    const index_t parts = cuda_detail::bn_parts(n * l);
    tensor<double, cuda_t> partial(shape{c * parts * 2}, uninitialized), out(shape{2 * c},
                                                                                uninitialized);
    const dim3 grid(static_cast<unsigned>(parts), static_cast<unsigned>(c));
    cuda_detail::bn_partial_grad_sums<T><<<grid, cuda_detail::bn_threads>>>(
        n, c, l, dy, x, mean, inv_std, relu_y, partial.data());
    SIMCLR_CUDA_CHECK_LAUNCH();
    cuda_detail::bn_combine_channels<><<<cuda_backend::grid_for(c), cuda_backend::block_threads>>>(
        c, parts, 2, partial.data(), out.data());
    SIMCLR_CUDA_CHECK_LAUNCH();
    cuda_detail::bn_download(out, sums);
  }
  /// dx from the group's sums (backward_sums' layout, host doubles) and its count.
  template <class T>
  static void backward_dx(index_t n, index_t c, index_t l, const T* dy, const T* x, const T* mean,
                          const T* gamma, const T* inv_std, const T* relu_y, const double* sums,
                          double count, T* dx) {
    const index_t total = n * c * l;
    if (total == 0) return;
    const auto d_sums = cuda_detail::bn_upload(sums, 2 * c);
    cuda_detail::bn_dx_with<T><<<cuda_backend::grid_for(total), cuda_backend::block_threads>>>(
        n, c, l, dy, x, mean, gamma, inv_std, relu_y, d_sums.data(), count, dx);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }
  /// The group's mean, biased variance and 1/sqrt(var + eps) from its sums (host doubles).
  template <class T>
  static void set_stats(index_t c, const double* mean, const double* ss, double count, double eps,
                        T* mean_out, T* var_out, T* inv_std_out) {
    if (c == 0) return;
    const auto d_mean = cuda_detail::bn_upload(mean, c), d_ss = cuda_detail::bn_upload(ss, c);
    cuda_detail::bn_set_stats<T><<<cuda_backend::grid_for(c), cuda_backend::block_threads>>>(
        c, d_mean.data(), d_ss.data(), count, eps, mean_out, var_out, inv_std_out);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }
  /// dβ[ch] += sums[ch], dγ[ch] += sums[c + ch] (host doubles).
  template <class T>
  static void add_affine_grads(index_t c, const double* sums, T* dbeta, T* dgamma) {
    if (c == 0) return;
    const auto d_sums = cuda_detail::bn_upload(sums, 2 * c);
    cuda_detail::bn_add_affine<T><<<cuda_backend::grid_for(c), cuda_backend::block_threads>>>(
        c, d_sums.data(), dbeta, dgamma);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }

  /// running_mean ← (1 − m)·running_mean + m·mean; running_var ← (1 − m)·running_var +
  /// m·var·unbias, per channel (the layer does this on the host for host backends).
  template <class T>
  static void update_running(index_t c, const T* mean, const T* var, T momentum, T unbias,
                             T* running_mean, T* running_var) {
    if (c == 0) return;
    cuda_detail::bn_update_running<T><<<cuda_backend::grid_for(c), cuda_backend::block_threads>>>(
        c, mean, var, momentum, unbias, running_mean, running_var);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }

 private:
  /// Σx (center null) or Σ(x − center)² per channel into `out` (host doubles).
  template <class T>
  static void channel_pass(index_t n, index_t c, index_t l, const T* x, const double* center,
                           double* out) {
    if (c == 0) return;
    if (n * l == 0) {
      std::fill(out, out + c, 0.0);
      return;
    }
    const index_t parts = cuda_detail::bn_parts(n * l);
    tensor<double, cuda_t> partial(shape{c * parts}, uninitialized), sums(shape{c}, uninitialized);
    const dim3 grid(static_cast<unsigned>(parts), static_cast<unsigned>(c));
    cuda_detail::bn_partial_channel<T><<<grid, cuda_detail::bn_threads>>>(n, c, l, x, center,
                                                                        partial.data());
    SIMCLR_CUDA_CHECK_LAUNCH();
    cuda_detail::bn_combine_channels<><<<cuda_backend::grid_for(c), cuda_backend::block_threads>>>(
        c, parts, 1, partial.data(), sums.data());
    SIMCLR_CUDA_CHECK_LAUNCH();
    cuda_detail::bn_download(sums, out);
  }
};

}  // namespace simclr::nn
