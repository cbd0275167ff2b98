// simclr::nn::conv2d_kernel<cuda_t>: im2col + cuBLAS GEMM over groups of images, gathers for the adjoints.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <algorithm>
#include <type_traits>

#include <cuda_bf16.h>

#include <simclr/backend/cuda/gemm.cuh>
#include <simclr/backend/cuda/launch.cuh>
#include <simclr/backend/cuda/memory.cuh>
#include <simclr/nn/kernels.hpp>
#include <simclr/tensor.hpp>

namespace simclr::nn {

namespace cuda_detail {
/// v as a C: itself, or rounded to the nearest bf16.
template <class C, class T>
__device__ inline C narrow(T v) {
  if constexpr (std::is_same_v<C, __nv_bfloat16>)
    return __float2bfloat16_rn(static_cast<float>(v));
  else
    return v;
}

/// w as bf16, element by element (the weights of a GEMM under precision::bf16).
template <class T>
__global__ void to_bf16(index_t n, const T* w, __nv_bfloat16* out) {
  for (index_t i = cuda_backend::thread_index(); i < n; i += cuda_backend::thread_stride())
    out[i] = __float2bfloat16_rn(static_cast<float>(w[i]));
}

/// col (K, G·Ho·Wo) ← the receptive fields of images [n0, n0 + G): row (c, ky, kx), column
/// (image, oy, ox); zero where the window leaves the image. One thread per element of col, which
/// holds T or, under precision::bf16, bf16 (rounded to nearest even).
template <class T, class C>
__global__ void im2col(window2d g, index_t n0, index_t count, const T* x, C* col) {
  const index_t ho = g.out_height(), wo = g.out_width(), hwo = ho * wo, cols = count * hwo;
  const index_t total = g.channels * g.kernel_h * g.kernel_w * cols;
  for (index_t e = cuda_backend::thread_index(); e < total; e += cuda_backend::thread_stride()) {
    const index_t j = e % cols, r = e / cols;
    const index_t kx = r % g.kernel_w, ky = (r / g.kernel_w) % g.kernel_h,
                  c = r / (g.kernel_w * g.kernel_h);
    const index_t i = j / hwo, ox = j % wo, oy = (j / wo) % ho;
    const index_t iy = oy * g.stride - g.padding + ky, ix = ox * g.stride - g.padding + kx;
    const bool inside = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width;
    col[e] = narrow<C>(inside ? x[(((n0 + i) * g.channels + c) * g.height + iy) * g.width + ix]
                              : T(0));
  }
}

/// dx of images [n0, n0 + G) ← the adjoint of im2col applied to dcol (K, G·Ho·Wo): one thread
/// per input element gathers its (ky, kx) taps in order (no atomics, deterministic).
template <class T>
__global__ void col2im(window2d g, index_t n0, index_t count, const T* dcol, T* dx) {
  const index_t ho = g.out_height(), wo = g.out_width(), hwo = ho * wo, cols = count * hwo;
  const index_t total = count * g.channels * g.in_plane();
  for (index_t e = cuda_backend::thread_index(); e < total; e += cuda_backend::thread_stride()) {
    const index_t ix = e % g.width, iy = (e / g.width) % g.height;
    const index_t c = (e / g.in_plane()) % g.channels, i = e / (g.in_plane() * g.channels);
    T s = T(0);
    for (index_t ky = 0; ky < g.kernel_h; ++ky) {
      const index_t ty = iy + g.padding - ky;  // = oy·stride
      if (ty < 0 || ty % g.stride != 0 || ty / g.stride >= ho) continue;
      for (index_t kx = 0; kx < g.kernel_w; ++kx) {
        const index_t tx = ix + g.padding - kx;
        if (tx < 0 || tx % g.stride != 0 || tx / g.stride >= wo) continue;
        const index_t r = (c * g.kernel_h + ky) * g.kernel_w + kx;
        s += dcol[r * cols + i * hwo + (ty / g.stride) * wo + tx / g.stride];
      }
    }
    dx[n0 * g.channels * g.in_plane() + e] = s;
  }
}

/// y (N, Cout, L) images [n0, n0 + G) ← out (Cout, G·L) (+ bias[co] when given).
template <class T>
__global__ void scatter_output(index_t c_out, index_t l, index_t n0, index_t count, const T* out,
                               const T* bias, T* y) {
  const index_t cols = count * l, total = c_out * cols;
  for (index_t e = cuda_backend::thread_index(); e < total; e += cuda_backend::thread_stride()) {
    const index_t s = e % l, co = (e / l) % c_out, i = e / (l * c_out);
    y[n0 * c_out * l + e] = out[co * cols + i * l + s] + (bias != nullptr ? bias[co] : T(0));
  }
}

/// dyg (Cout, G·L) ← dy (N, Cout, L) images [n0, n0 + G): the inverse of scatter_output (dyg
/// in T or in bf16).
template <class T, class C>
__global__ void gather_output(index_t c_out, index_t l, index_t n0, index_t count, const T* dy,
                              C* dyg) {
  const index_t cols = count * l, total = c_out * cols;
  for (index_t e = cuda_backend::thread_index(); e < total; e += cuda_backend::thread_stride()) {
    const index_t s = e % l, co = (e / l) % c_out, i = e / (l * c_out);
    dyg[co * cols + i * l + s] = narrow<C>(dy[n0 * c_out * l + e]);
  }
}

/// dbias[co] += Σ dy[n0 + i, co, s] over the images i < count and positions s < l, in the order
/// of the gathered row (i, s): one block per channel, double sums.
template <class T>
__global__ void add_channel_sums(index_t c_out, index_t l, index_t n0, index_t count, const T* dy,
                                 T* dbias) {
  const index_t co = blockIdx.x, cols = count * l;
  double s = 0.0;
  for (index_t j = threadIdx.x; j < cols; j += blockDim.x)
    s += static_cast<double>(dy[((n0 + j / l) * c_out + co) * l + j % l]);
  s = cuda_backend::block_sum(s);
  if (threadIdx.x == 0) dbias[co] += static_cast<T>(s);
}
}  // namespace cuda_detail

/// Same contracts as conv2d_kernel<cpu_t> (<simclr/backend/cpu/conv2d.hpp>); device pointers.
/// Images are processed in groups whose column matrix fits a fixed element budget: im2col
/// (K = C·kh·kw, G·Ho·Wo), one cuBLAS GEMM per group, then a scatter into NCHW. The weight
/// gradient accumulates group by group in order (β = 1), so results are run-to-run identical.
///
/// Under cuda_backend::precision::bf16 (float tensors only) the GEMM operands are stored in
/// bf16: im2col writes bf16 columns, the gathered output gradient and a copy of the weights are
/// bf16, and cuBLAS sums their products into float outputs — half the column bytes written and
/// read, the tensor-core rounding done once on the way in. The outputs, the input gradient and
/// the weight gradient stay float.
template <>
struct conv2d_kernel<cuda_t> {
  /// Elements of the largest per-group scratch matrix (256 MiB of float).
  static constexpr index_t scratch_elements = index_t{1} << 26;

  /// Images per group: as many as fit the scratch budget, at least one.
  [[nodiscard]] static index_t group_size(const window2d& g, index_t c_out) {
    const index_t k = g.channels * g.kernel_h * g.kernel_w;
    const index_t per_image = std::max<index_t>(1, std::max(k, c_out) * g.out_plane());
    return std::clamp<index_t>(scratch_elements / per_image, 1, std::max<index_t>(1, g.n));
  }

  template <class T>
  static void forward(const window2d& g, index_t c_out, const T* x, const T* w, const T* bias,
                      T* y) {
    if (g.n == 0 || c_out == 0 || g.out_plane() == 0) return;
    if constexpr (std::is_same_v<T, float>)
      if (cuda_backend::current_precision() == cuda_backend::precision::bf16)
        return forward_as<__nv_bfloat16>(g, c_out, x, w, bias, y);
    forward_as<T>(g, c_out, x, w, bias, y);
  }

  template <class T>
  static void backward(const window2d& g, index_t c_out, const T* x, const T* w, const T* dy,
                       T* dx, T* dw, T* dbias) {
    if (g.n == 0 || c_out == 0 || g.out_plane() == 0) return;
    if constexpr (std::is_same_v<T, float>)
      if (cuda_backend::current_precision() == cuda_backend::precision::bf16)
        return backward_as<__nv_bfloat16>(g, c_out, x, w, dy, dx, dw, dbias);
    backward_as<T>(g, c_out, x, w, dy, dx, dw, dbias);
  }

 private:
  /// The GEMM operands' element type C: T itself, or bf16 (T = float).
  template <class C, class T>
  static void forward_as(const window2d& g, index_t c_out, const T* x, const T* w, const T* bias,
                         T* y) {
    const index_t k = g.channels * g.kernel_h * g.kernel_w, hwo = g.out_plane();
    const index_t group = group_size(g, c_out);
    const operand_weights<C, T> wc(w, c_out * k);
    tensor<C, cuda_t> col(shape{k * group * hwo}, uninitialized);
    tensor<T, cuda_t> out(shape{c_out * group * hwo}, uninitialized);
    for (index_t n0 = 0; n0 < g.n; n0 += group) {
      const index_t count = std::min(group, g.n - n0), cols = count * hwo;
      im2col(g, n0, count, x, col.data());
      gemm(false, false, c_out, cols, k, wc.data, k, col.data(), cols, T(0), out.data(), cols);
      cuda_detail::scatter_output<T>
          <<<cuda_backend::grid_for(c_out * cols), cuda_backend::block_threads>>>(
              c_out, hwo, n0, count, out.data(), bias, y);
      SIMCLR_CUDA_CHECK_LAUNCH();
    }
  }

  template <class C, class T>
  static void backward_as(const window2d& g, index_t c_out, const T* x, const T* w, const T* dy,
                          T* dx, T* dw, T* dbias) {
    const index_t k = g.channels * g.kernel_h * g.kernel_w, hwo = g.out_plane();
    const index_t group = group_size(g, c_out);
    const operand_weights<C, T> wc(w, c_out * k);
    // The columns (C), then their gradient (T) in the same bytes: the stream runs the dx GEMM,
    // which writes dcol, after the dw GEMM, which reads the columns.
    tensor<T, cuda_t> col_bytes(shape{k * group * hwo}, uninitialized);
    C* col = reinterpret_cast<C*>(col_bytes.data());
    T* dcol = col_bytes.data();
    tensor<C, cuda_t> dyg(shape{c_out * group * hwo}, uninitialized);
    for (index_t n0 = 0; n0 < g.n; n0 += group) {
      const index_t count = std::min(group, g.n - n0), cols = count * hwo;
      im2col(g, n0, count, x, col);
      cuda_detail::gather_output<T, C>
          <<<cuda_backend::grid_for(c_out * cols), cuda_backend::block_threads>>>(
              c_out, hwo, n0, count, dy, dyg.data());
      SIMCLR_CUDA_CHECK_LAUNCH();
      // dw (Cout, K) += dyg (Cout, cols) · colᵀ
      gemm(false, true, c_out, k, cols, dyg.data(), cols, col, cols, T(1), dw, k);
      if (dbias != nullptr) {
        cuda_detail::add_channel_sums<T>
            <<<static_cast<unsigned>(c_out), cuda_backend::block_threads>>>(c_out, hwo, n0, count,
                                                                            dy, dbias);
        SIMCLR_CUDA_CHECK_LAUNCH();
      }
      if (dx != nullptr) {
        // dcol (K, cols) = wᵀ · dyg
        gemm(true, false, k, cols, c_out, wc.data, k, dyg.data(), cols, T(0), dcol, cols);
        const index_t in_elems = count * g.channels * g.in_plane();
        cuda_detail::col2im<T><<<cuda_backend::grid_for(in_elems), cuda_backend::block_threads>>>(
            g, n0, count, dcol, dx);
        SIMCLR_CUDA_CHECK_LAUNCH();
      }
    }
  }

  /// The weights as GEMM operands: the pointer itself when C = T, else a bf16 copy.
  template <class C, class T>
  struct operand_weights {
    tensor<C, cuda_t> copy;
    const C* data = nullptr;
    operand_weights(const T* w, index_t n) {
      if constexpr (std::is_same_v<C, T>) {
        data = w;
      } else {
        copy = tensor<C, cuda_t>(shape{n}, uninitialized);
        cuda_detail::to_bf16<T><<<cuda_backend::grid_for(n), cuda_backend::block_threads>>>(
            n, w, copy.data());
        SIMCLR_CUDA_CHECK_LAUNCH();
        data = copy.data();
      }
    }
  };

  /// c (m, n) = op(a) · op(b) + β·c, α = 1, for operands of type C and an output of type T.
  template <class C, class T>
  static void gemm(bool ta, bool tb, index_t m, index_t n, index_t k, const C* a, index_t lda,
                   const C* b, index_t ldb, T beta, T* c, index_t ldc) {
    if constexpr (std::is_same_v<C, T>)
      ops::gemm_kernel<cuda_t>::run<T>(ta, tb, m, n, k, T(1), a, lda, b, ldb, beta, c, ldc);
    else
      ops::gemm_kernel<cuda_t>::run_bf16(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
  }

  /// col (K, count·Ho·Wo) ← the columns of images [n0, n0 + count) of x.
  template <class T, class C>
  static void im2col(const window2d& g, index_t n0, index_t count, const T* x, C* col) {
    const index_t elements = g.channels * g.kernel_h * g.kernel_w * count * g.out_plane();
    cuda_detail::im2col<T, C><<<cuda_backend::grid_for(elements), cuda_backend::block_threads>>>(
        g, n0, count, x, col);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }
};

}  // namespace simclr::nn
