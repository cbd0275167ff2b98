// simclr::nn::conv2d_kernel<cuda_t>: cuDNN where the build found it, else im2col + cuBLAS GEMM over image groups.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include <cuda_bf16.h>

#include <simclr/ops/cuda/gemm.cuh>
#if defined(SIMCLR_HAS_CUDNN)
#include <simclr/nn/cuda/cudnn.cuh>
#endif
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
/// holds T or, under precision::bf16, bf16 (rounded to nearest even). I: the index type of the
/// decomposition (32-bit when the element count allows: 64-bit division costs ten times more).
template <class I, class T, class C>
__global__ void im2col(window2d g, index_t n0, index_t count, const T* x, C* col) {
  const I ho = static_cast<I>(g.out_height()), wo = static_cast<I>(g.out_width()), hwo = ho * wo;
  const I cols = static_cast<I>(count) * hwo, kh = static_cast<I>(g.kernel_h),
          kw = static_cast<I>(g.kernel_w), stride = static_cast<I>(g.stride);
  const I total = static_cast<I>(g.channels) * kh * kw * cols;
  const T* xg = x + n0 * g.channels * g.in_plane();
  for (I e = static_cast<I>(cuda_backend::thread_index()); e < total;
       e += static_cast<I>(cuda_backend::thread_stride())) {
    const I j = e % cols, r = e / cols;
    const I kx = r % kw, ky = (r / kw) % kh, c = r / (kw * kh);
    const I i = j / hwo, p = j % hwo, ox = p % wo, oy = p / wo;
    const index_t iy = static_cast<index_t>(oy * stride + ky) - g.padding,
                  ix = static_cast<index_t>(ox * stride + kx) - g.padding;
    const bool inside = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width;
    col[e] = narrow<C>(
        inside ? xg[((static_cast<index_t>(i) * g.channels + c) * g.height + iy) * g.width + ix]
               : T(0));
  }
}

/// dx of images [n0, n0 + G) ← the adjoint of im2col applied to dcol (K, G·Ho·Wo): one thread
/// per input element gathers its (ky, kx) taps in order (no atomics, deterministic).
template <class I, class T>
__global__ void col2im(window2d g, index_t n0, index_t count, const T* dcol, T* dx) {
  const I ho = static_cast<I>(g.out_height()), wo = static_cast<I>(g.out_width()), hwo = ho * wo;
  const I cols = static_cast<I>(count) * hwo, width = static_cast<I>(g.width),
          height = static_cast<I>(g.height), channels = static_cast<I>(g.channels);
  const I kh = static_cast<I>(g.kernel_h), kw = static_cast<I>(g.kernel_w),
          stride = static_cast<I>(g.stride), pad = static_cast<I>(g.padding);
  const I plane = height * width, total = static_cast<I>(count) * channels * plane;
  T* dxg = dx + n0 * g.channels * g.in_plane();
  for (I e = static_cast<I>(cuda_backend::thread_index()); e < total;
       e += static_cast<I>(cuda_backend::thread_stride())) {
    const I ix = e % width, iy = (e / width) % height;
    const I c = (e / plane) % channels, i = e / (plane * channels);
    T s = T(0);
    for (I ky = 0; ky < kh; ++ky) {
      if (iy + pad < ky) continue;
      const I ty = iy + pad - ky;  // = oy·stride
      if (ty % stride != 0 || ty / stride >= ho) continue;
      for (I kx = 0; kx < kw; ++kx) {
        if (ix + pad < kx) continue;
        const I tx = ix + pad - kx;
        if (tx % stride != 0 || tx / stride >= wo) continue;
        const I r = (c * kh + ky) * kw + kx;
        s += dcol[static_cast<index_t>(r) * cols + i * hwo + (ty / stride) * wo + tx / stride];
      }
    }
    dxg[e] = s;
  }
}

/// y (N, Cout, L) images [n0, n0 + G) ← out (Cout, G·L) (+ bias[co] when given).
template <class I, class T>
__global__ void scatter_output(index_t c_out, index_t l, index_t n0, index_t count, const T* out,
                               const T* bias, T* y) {
  const I li = static_cast<I>(l), co_n = static_cast<I>(c_out), cols = static_cast<I>(count) * li,
          total = co_n * cols;
  T* yg = y + n0 * c_out * l;
  for (I e = static_cast<I>(cuda_backend::thread_index()); e < total;
       e += static_cast<I>(cuda_backend::thread_stride())) {
    const I s = e % li, co = (e / li) % co_n, i = e / (li * co_n);
    yg[e] = out[static_cast<index_t>(co) * cols + i * li + s] + (bias != nullptr ? bias[co] : T(0));
  }
}

/// dyg (Cout, G·L) ← dy (N, Cout, L) images [n0, n0 + G): the inverse of scatter_output (dyg
/// in T or in bf16).
template <class I, class T, class C>
__global__ void gather_output(index_t c_out, index_t l, index_t n0, index_t count, const T* dy,
                              C* dyg) {
  const I li = static_cast<I>(l), co_n = static_cast<I>(c_out), cols = static_cast<I>(count) * li,
          total = co_n * cols;
  const T* dyn = dy + n0 * c_out * l;
  for (I e = static_cast<I>(cuda_backend::thread_index()); e < total;
       e += static_cast<I>(cuda_backend::thread_stride())) {
    const I s = e % li, co = (e / li) % co_n, i = e / (li * co_n);
    dyg[static_cast<index_t>(co) * cols + i * li + s] = narrow<C>(dyn[e]);
  }
}

/// Launches kernel<I> over `elements` with I = 32-bit unsigned when every index fits, else
/// 64-bit.
template <class Launch>
void with_index_type(index_t elements, Launch&& launch) {
  if (elements < (index_t{1} << 31))
    launch(std::uint32_t{});
  else
    launch(index_t{});
  SIMCLR_CUDA_CHECK_LAUNCH();
}

/// out[i] = in[i] as float, or out[i] += in[i] when `accumulate`.
__global__ inline void from_bf16(index_t n, const __nv_bfloat16* in, float* out, bool accumulate) {
  for (index_t i = cuda_backend::thread_index(); i < n; i += cuda_backend::thread_stride()) {
    const float v = __bfloat162float(in[i]);
    out[i] = accumulate ? out[i] + v : v;
  }
}

/// y (N, Cout, L) += bias[co]: one block per (image, channel) plane.
template <class T>
__global__ void add_bias(index_t c_out, index_t l, const T* bias, T* y) {
  const index_t plane = blockIdx.x;
  const T b = bias[plane % c_out];
  for (index_t s = threadIdx.x; s < l; s += blockDim.x) y[plane * l + s] += b;
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

/// The convolution without cuDNN: same contracts as conv2d_kernel<cpu_t>
/// (<simclr/nn/cpu/conv2d.hpp>), device pointers. conv2d_kernel<cuda_t> is this struct in
/// builds without cuDNN (SIMCLR_HAS_CUDNN undefined). Images are processed in groups whose column matrix fits a fixed element budget: im2col
/// (K = C·kh·kw, G·Ho·Wo), one cuBLAS GEMM per group, then a scatter into NCHW. The weight
/// gradient accumulates group by group in order (β = 1), so results are run-to-run identical.
///
/// Under cuda_backend::precision::bf16 (float tensors only) the GEMM operands are stored in
/// bf16: im2col writes bf16 columns, the gathered output gradient and a copy of the weights are
/// bf16, and cuBLAS sums their products into float outputs — half the column bytes written and
/// read, the tensor-core rounding done once on the way in. The outputs, the input gradient and
/// the weight gradient stay float.
struct conv2d_im2col_cuda {
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
      cuda_detail::with_index_type(c_out * cols, [&]<class I>(I) {
        cuda_detail::scatter_output<I, T>
            <<<cuda_backend::grid_for(c_out * cols), cuda_backend::block_threads>>>(
                c_out, hwo, n0, count, out.data(), bias, y);
      });
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
      cuda_detail::with_index_type(c_out * cols, [&]<class I>(I) {
        cuda_detail::gather_output<I, T, C>
            <<<cuda_backend::grid_for(c_out * cols), cuda_backend::block_threads>>>(
                c_out, hwo, n0, count, dy, dyg.data());
      });
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
        cuda_detail::with_index_type(in_elems, [&]<class I>(I) {
          cuda_detail::col2im<I, T>
              <<<cuda_backend::grid_for(in_elems), cuda_backend::block_threads>>>(g, n0, count,
                                                                                  dcol, dx);
        });
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
    cuda_detail::with_index_type(elements, [&]<class I>(I) {
      cuda_detail::im2col<I, T, C>
          <<<cuda_backend::grid_for(elements), cuda_backend::block_threads>>>(g, n0, count, x, col);
    });
  }
};

#if defined(SIMCLR_HAS_CUDNN)
/// The convolution through cuDNN: same contracts as conv2d_kernel<cpu_t>, device pointers.
/// Algorithms come from cuDNN's heuristics (or timing, SIMCLR_CUDNN_BENCHMARK=1), deterministic
/// ones only, chosen once per shape (cuda_backend::cudnn::convolution); their scratch comes from
/// the caching allocator. Precision modes:
/// - fp32: plain float FMA algorithms (CUDNN_FMA_MATH), no TF32;
/// - tf32: cuDNN's default math for float, TF32 tensor cores allowed;
/// - bf16 (float tensors): x, w and dy are rounded to bf16 copies and cuDNN runs bf16 operands
///   with float sums on tensor cores; y, dx and the weight-gradient increment come back in bf16
///   and are widened to float (the bias stays float). PyTorch's autocast rounds the same way.
/// Double tensors always run in double.
struct conv2d_cudnn {
  template <class T>
  static void forward(const window2d& g, index_t c_out, const T* x, const T* w, const T* bias,
                      T* y) {
    if (g.n == 0 || c_out == 0 || g.out_plane() == 0) return;
    if constexpr (std::is_same_v<T, float>) {
      if (cuda_backend::current_precision() == cuda_backend::precision::bf16) {
        const bf16_copy xb(x, g.n * g.channels * g.in_plane()),
            wb(w, c_out * g.channels * g.kernel_h * g.kernel_w);
        tensor<__nv_bfloat16, cuda_t> yb(shape{g.n * c_out * g.out_plane()}, uninitialized);
        run_forward(describe<__nv_bfloat16>(g, c_out), xb.data(), wb.data(), yb.data());
        widen(yb, y, false);
        add_bias_to(g, c_out, bias, y);
        return;
      }
    }
    run_forward(describe<T>(g, c_out), x, w, y);
    add_bias_to(g, c_out, bias, y);
  }

  template <class T>
  static void backward(const window2d& g, index_t c_out, const T* x, const T* w, const T* dy,
                       T* dx, T* dw, T* dbias) {
    if (g.n == 0 || c_out == 0 || g.out_plane() == 0) return;
    if (dbias != nullptr) {
      cuda_detail::add_channel_sums<T>
          <<<static_cast<unsigned>(c_out), cuda_backend::block_threads>>>(c_out, g.out_plane(), 0,
                                                                          g.n, dy, dbias);
      SIMCLR_CUDA_CHECK_LAUNCH();
    }
    if constexpr (std::is_same_v<T, float>) {
      if (cuda_backend::current_precision() == cuda_backend::precision::bf16) {
        const auto cv = describe<__nv_bfloat16>(g, c_out);  // one plan for both passes
        const index_t wn = c_out * g.channels * g.kernel_h * g.kernel_w;
        const bf16_copy xb(x, g.n * g.channels * g.in_plane()), dyb(dy, g.n * c_out * g.out_plane());
        tensor<__nv_bfloat16, cuda_t> dwb(shape{wn}, uninitialized);
        run_backward_filter(cv, xb.data(), dyb.data(), dwb.data(), false);
        widen(dwb, dw, true);
        if (dx != nullptr) {  // the weights' bf16 copy only when the input gradient is wanted
          const bf16_copy wb(w, wn);
          tensor<__nv_bfloat16, cuda_t> dxb(shape{g.n * g.channels * g.in_plane()}, uninitialized);
          run_backward_data(cv, wb.data(), dyb.data(), dxb.data());
          widen(dxb, dx, false);
        }
        return;
      }
    }
    const auto cv = describe<T>(g, c_out);  // one plan for both passes
    run_backward_filter(cv, x, dy, dw, true);
    if (dx != nullptr) run_backward_data(cv, w, dy, dx);
  }

 private:
  /// α and β: double for double operands, float otherwise (cuDNN's rule).
  template <class C>
  using scale_t = std::conditional_t<std::is_same_v<C, double>, double, float>;

  template <class C>
  static cuda_backend::cudnn::convolution<C> describe(const window2d& g, index_t c_out) {
    return cuda_backend::cudnn::convolution<C>(g.n, g.channels, g.height, g.width, c_out,
                                               g.kernel_h, g.kernel_w, g.stride, g.padding,
                                               cuda_backend::cudnn::math_type<C>());
  }

  template <class C>
  static void run_forward(const cuda_backend::cudnn::convolution<C>& cv, const C* x, const C* w,
                          C* y) {
    const cuda_backend::cudnn::workspace ws(cv.plan.forward_bytes);
    const scale_t<C> one = 1, zero = 0;
    SIMCLR_CUDA_CHECK(cudnnConvolutionForward(cuda_backend::cudnn::handle(), &one, cv.x.get(), x,
                                              cv.w.get(), w, cv.conv.get(), cv.plan.forward,
                                              ws.data(), ws.bytes(), &zero, cv.y.get(), y));
  }

  /// dw (+)= the weight gradient (β = 1 when `accumulate`).
  template <class C>
  static void run_backward_filter(const cuda_backend::cudnn::convolution<C>& cv, const C* x,
                                  const C* dy, C* dw, bool accumulate) {
    const cuda_backend::cudnn::workspace ws(cv.plan.backward_filter_bytes);
    const scale_t<C> one = 1, beta = accumulate ? 1 : 0;
    SIMCLR_CUDA_CHECK(cudnnConvolutionBackwardFilter(
        cuda_backend::cudnn::handle(), &one, cv.x.get(), x, cv.y.get(), dy, cv.conv.get(),
        cv.plan.backward_filter, ws.data(), ws.bytes(), &beta, cv.w.get(), dw));
  }

  template <class C>
  static void run_backward_data(const cuda_backend::cudnn::convolution<C>& cv, const C* w,
                                const C* dy, C* dx) {
    const cuda_backend::cudnn::workspace ws(cv.plan.backward_data_bytes);
    const scale_t<C> one = 1, zero = 0;
    SIMCLR_CUDA_CHECK(cudnnConvolutionBackwardData(
        cuda_backend::cudnn::handle(), &one, cv.w.get(), w, cv.y.get(), dy, cv.conv.get(),
        cv.plan.backward_data, ws.data(), ws.bytes(), &zero, cv.x.get(), dx));
  }

  template <class T>
  static void add_bias_to(const window2d& g, index_t c_out, const T* bias, T* y) {
    if (bias == nullptr) return;
    cuda_detail::add_bias<T><<<static_cast<unsigned>(g.n * c_out), cuda_backend::block_threads>>>(
        c_out, g.out_plane(), bias, y);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }

  /// A bf16 copy (round to nearest even) of n floats.
  class bf16_copy {
   public:
    bf16_copy(const float* v, index_t n) : copy_(shape{n}, uninitialized) {
      cuda_detail::to_bf16<float><<<cuda_backend::grid_for(n), cuda_backend::block_threads>>>(
          n, v, copy_.data());
      SIMCLR_CUDA_CHECK_LAUNCH();
    }
    [[nodiscard]] const __nv_bfloat16* data() const { return copy_.data(); }

   private:
    tensor<__nv_bfloat16, cuda_t> copy_;
  };

  /// out (+)= v widened to float.
  static void widen(const tensor<__nv_bfloat16, cuda_t>& v, float* out, bool accumulate) {
    const index_t n = v.numel();
    cuda_detail::from_bf16<<<cuda_backend::grid_for(n), cuda_backend::block_threads>>>(
        n, v.data(), out, accumulate);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }
};

template <>
struct conv2d_kernel<cuda_t> : conv2d_cudnn {};
#else
template <>
struct conv2d_kernel<cuda_t> : conv2d_im2col_cuda {};
#endif

}  // namespace simclr::nn
