// simclr::cuda_backend::cudnn: the cuDNN handle, descriptors and algorithm choice for convolutions.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif
#if !defined(SIMCLR_HAS_CUDNN)
#error "simclr: <simclr/nn/cuda/cudnn.cuh> needs cuDNN: link simclr::cuda from a build that found it (SIMCLR_ENABLE_CUDNN=ON), which defines SIMCLR_HAS_CUDNN"
#endif

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <type_traits>

#include <cuda_bf16.h>
#include <cudnn.h>

#include <simclr/backend/cuda/check.cuh>
#include <simclr/backend/cuda/cublas.cuh>
#include <simclr/backend/cuda/memory.cuh>
#include <simclr/config.hpp>

namespace simclr::cuda_backend {

/// Throws cuda_error unless `status` is CUDNN_STATUS_SUCCESS (SIMCLR_CUDA_CHECK takes cuDNN
/// calls too once this header is included).
inline void check(cudnnStatus_t status, const char* what, const char* file, int line) {
  if (status != CUDNN_STATUS_SUCCESS)
    throw cuda_error("cuDNN status " + std::to_string(static_cast<int>(status)),
                     std::string(what) + " failed: " + cudnnGetErrorString(status), file, line);
}

namespace cudnn {

/// The calling thread's cuDNN handle for the current device (created on first use, destroyed at
/// thread exit; handles must not be shared between threads). It runs on the legacy default
/// stream, like every simclr kernel and cuBLAS call, so the caching allocator's reuse stays safe.
[[nodiscard]] inline cudnnHandle_t handle() {
  struct handles {
    std::map<int, cudnnHandle_t> by_device;
    ~handles() {
      for (auto& [dev, h] : by_device) (void)cudnnDestroy(h);
    }
  };
  thread_local handles cache;
  int dev = 0;
  SIMCLR_CUDA_CHECK(cudaGetDevice(&dev));
  auto it = cache.by_device.find(dev);
  if (it == cache.by_device.end()) {
    cudnnHandle_t h = nullptr;
    SIMCLR_CUDA_CHECK(cudnnCreate(&h));
    it = cache.by_device.emplace(dev, h).first;
  }
  return it->second;
}

/// cuDNN's name for an element type.
template <class T>
[[nodiscard]] constexpr cudnnDataType_t data_type() {
  if constexpr (std::is_same_v<T, double>)
    return CUDNN_DATA_DOUBLE;
  else if constexpr (std::is_same_v<T, __nv_bfloat16>)
    return CUDNN_DATA_BFLOAT16;
  else {
    static_assert(std::is_same_v<T, float>, "simclr: cuDNN convolutions take float, double or bf16");
    return CUDNN_DATA_FLOAT;
  }
}

/// RAII descriptors (move-only).
template <class D, cudnnStatus_t (*Create)(D*), cudnnStatus_t (*Destroy)(D)>
class descriptor {
 public:
  descriptor() { SIMCLR_CUDA_CHECK(Create(&d_)); }
  ~descriptor() {
    if (d_ != nullptr) (void)Destroy(d_);
  }
  descriptor(const descriptor&) = delete;
  descriptor& operator=(const descriptor&) = delete;
  descriptor(descriptor&& o) noexcept : d_(o.d_) { o.d_ = nullptr; }
  descriptor& operator=(descriptor&& o) noexcept {
    std::swap(d_, o.d_);
    return *this;
  }
  [[nodiscard]] D get() const noexcept { return d_; }

 private:
  D d_ = nullptr;
};
using tensor_descriptor =
    descriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using filter_descriptor =
    descriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using convolution_descriptor =
    descriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor,
               cudnnDestroyConvolutionDescriptor>;

/// Device scratch from the caching allocator, released (to the cache) at scope exit.
class workspace {
 public:
  explicit workspace(std::size_t bytes)
      : bytes_(bytes), p_(bytes != 0 ? memory<cuda_t>::allocate(bytes) : nullptr) {}
  ~workspace() { memory<cuda_t>::deallocate(p_, bytes_); }
  workspace(const workspace&) = delete;
  workspace& operator=(const workspace&) = delete;
  [[nodiscard]] void* data() const noexcept { return p_; }
  [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }

 private:
  std::size_t bytes_;
  void* p_;
};

/// The most scratch an algorithm may ask for (1 GiB; SIMCLR_CUDNN_WORKSPACE_MB overrides).
[[nodiscard]] inline std::size_t workspace_limit() {
  static const std::size_t limit = [] {
    const char* s = std::getenv("SIMCLR_CUDNN_WORKSPACE_MB");
    char* end = nullptr;
    const long long mb = s != nullptr ? std::strtoll(s, &end, 10) : -1;
    return mb >= 0 && end != nullptr && *end == '\0' ? static_cast<std::size_t>(mb) << 20
                                                     : std::size_t{1} << 30;
  }();
  return limit;
}

/// Whether algorithms are chosen by timing them (SIMCLR_CUDNN_BENCHMARK=1, like PyTorch's
/// cudnn.benchmark) instead of by cuDNN's heuristics (the default). Either way only
/// deterministic algorithms are taken, so a process's results repeat exactly; with timing, two
/// processes may pick different algorithms for a shape and differ in the last bits.
[[nodiscard]] inline bool benchmark_algorithms() {
  static const bool on = [] {
    const char* s = std::getenv("SIMCLR_CUDNN_BENCHMARK");
    return s != nullptr && std::strcmp(s, "1") == 0;
  }();
  return on;
}

/// A convolution's three algorithms and their scratch sizes.
struct convolution_plan {
  cudnnConvolutionFwdAlgo_t forward{};
  cudnnConvolutionBwdDataAlgo_t backward_data{};
  cudnnConvolutionBwdFilterAlgo_t backward_filter{};
  std::size_t forward_bytes = 0, backward_data_bytes = 0, backward_filter_bytes = 0;
};

/// The descriptors of one convolution x (n, c, h, w) ⋆ w (c_out, c, kh, kw) → y (n, c_out,
/// ho, wo) with operands of type C, and its plan (chosen once per shape, type, math mode and
/// device per process; cached).
template <class C>
struct convolution {
  tensor_descriptor x, y;
  filter_descriptor w;
  convolution_descriptor conv;
  convolution_plan plan;

  convolution(index_t n, index_t c, index_t h, index_t wd, index_t c_out, index_t kh, index_t kw,
              index_t stride, index_t padding, cudnnMathType_t math) {
    const index_t ho = (h + 2 * padding - kh) / stride + 1, wo = (wd + 2 * padding - kw) / stride + 1;
    constexpr cudnnDataType_t type = data_type<C>();
    // bf16 operands sum in float; float and double in their own type.
    constexpr cudnnDataType_t compute = std::is_same_v<C, double> ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
    SIMCLR_CUDA_CHECK(cudnnSetTensor4dDescriptor(x.get(), CUDNN_TENSOR_NCHW, type, to_int(n),
                                                 to_int(c), to_int(h), to_int(wd)));
    SIMCLR_CUDA_CHECK(cudnnSetTensor4dDescriptor(y.get(), CUDNN_TENSOR_NCHW, type, to_int(n),
                                                 to_int(c_out), to_int(ho), to_int(wo)));
    SIMCLR_CUDA_CHECK(cudnnSetFilter4dDescriptor(w.get(), type, CUDNN_TENSOR_NCHW, to_int(c_out),
                                                 to_int(c), to_int(kh), to_int(kw)));
    SIMCLR_CUDA_CHECK(cudnnSetConvolution2dDescriptor(
        conv.get(), to_int(padding), to_int(padding), to_int(stride), to_int(stride), 1, 1,
        CUDNN_CROSS_CORRELATION, compute));
    SIMCLR_CUDA_CHECK(cudnnSetConvolutionMathType(conv.get(), math));
    int dev = 0;
    SIMCLR_CUDA_CHECK(cudaGetDevice(&dev));
    const auto key = std::make_tuple(dev, static_cast<int>(type), static_cast<int>(math), n, c, h,
                                     wd, c_out, kh, kw, stride, padding);
    static std::mutex mutex;
    static std::map<decltype(key), convolution_plan> plans;
    {
      std::lock_guard lock(mutex);
      if (auto it = plans.find(key); it != plans.end()) {
        plan = it->second;
        return;
      }
    }
    plan = choose(math);
    std::lock_guard lock(mutex);
    plans.emplace(key, plan);
  }

 private:
  static int to_int(index_t v) {
    if (v < 0 || v > index_t{0x7fffffff})
      throw shape_error("simclr: conv2d: extent " + std::to_string(v) + " exceeds cuDNN's int range");
    return static_cast<int>(v);
  }

  /// The first usable algorithm of a ranked list: succeeded, deterministic, within the scratch
  /// limit and, for float under fp32, computing in plain float (no TF32 rounding behind the
  /// user's back).
  template <class Perf>
  static const Perf* pick(const Perf* perf, int count, cudnnMathType_t math) {
    for (int i = 0; i < count; ++i) {
      const Perf& p = perf[i];
      if (p.status != CUDNN_STATUS_SUCCESS || p.determinism != CUDNN_DETERMINISTIC ||
          p.memory > workspace_limit())
        continue;
      if (std::is_same_v<C, float> && math == CUDNN_FMA_MATH && p.mathType != CUDNN_FMA_MATH)
        continue;
      return &p;
    }
    return nullptr;
  }

  [[noreturn]] static void no_algorithm(const char* direction) {
    throw cuda_error("cuDNN", std::string("no deterministic cuDNN algorithm for the convolution's ") +
                                  direction + " pass within " +
                                  std::to_string(workspace_limit() >> 20) +
                                  " MiB of scratch (raise SIMCLR_CUDNN_WORKSPACE_MB)",
                     __FILE__, __LINE__);
  }

  convolution_plan choose(cudnnMathType_t math) {
    convolution_plan p;
    cudnnHandle_t h = handle();
    int n = 0;
    {
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      if (benchmark_algorithms())
        SIMCLR_CUDA_CHECK(cudnnFindConvolutionForwardAlgorithm(
            h, x.get(), w.get(), conv.get(), y.get(), CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf));
      else
        SIMCLR_CUDA_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(
            h, x.get(), w.get(), conv.get(), y.get(), CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf));
      const auto* best = pick(perf, n, math);
      if (best == nullptr) no_algorithm("forward");
      p.forward = best->algo;
      SIMCLR_CUDA_CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, x.get(), w.get(), conv.get(),
                                                                y.get(), p.forward,
                                                                &p.forward_bytes));
    }
    {
      cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      if (benchmark_algorithms())
        SIMCLR_CUDA_CHECK(cudnnFindConvolutionBackwardDataAlgorithm(
            h, w.get(), y.get(), conv.get(), x.get(), CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n,
            perf));
      else
        SIMCLR_CUDA_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
            h, w.get(), y.get(), conv.get(), x.get(), CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n,
            perf));
      const auto* best = pick(perf, n, math);
      if (best == nullptr) no_algorithm("input-gradient");
      p.backward_data = best->algo;
      SIMCLR_CUDA_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(
          h, w.get(), y.get(), conv.get(), x.get(), p.backward_data, &p.backward_data_bytes));
    }
    {
      cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      if (benchmark_algorithms())
        SIMCLR_CUDA_CHECK(cudnnFindConvolutionBackwardFilterAlgorithm(
            h, x.get(), y.get(), conv.get(), w.get(), CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n,
            perf));
      else
        SIMCLR_CUDA_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
            h, x.get(), y.get(), conv.get(), w.get(), CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n,
            perf));
      const auto* best = pick(perf, n, math);
      if (best == nullptr) no_algorithm("weight-gradient");
      p.backward_filter = best->algo;
      SIMCLR_CUDA_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
          h, x.get(), y.get(), conv.get(), w.get(), p.backward_filter, &p.backward_filter_bytes));
    }
    return p;
  }
};

/// The math mode for operands of type C under the current precision: plain float FMA for fp32,
/// TF32 tensor cores allowed for tf32 (cuDNN's default math for float), tensor cores for bf16
/// operands, cuDNN's default for double. (ALLOW_CONVERSION is never used: it may round float
/// operands to fp16.)
template <class C>
[[nodiscard]] inline cudnnMathType_t math_type() {
  if constexpr (std::is_same_v<C, __nv_bfloat16>) return CUDNN_TENSOR_OP_MATH;
  if constexpr (std::is_same_v<C, float>)
    return current_precision() == precision::fp32 ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;
  return CUDNN_DEFAULT_MATH;
}

}  // namespace cudnn
}  // namespace simclr::cuda_backend
