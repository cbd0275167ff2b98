// simclr::cuda_backend::cublas_handle: one cuBLAS handle per host thread and device.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <simclr/backend/cuda/check.cuh>

namespace simclr::cuda_backend {

/// The calling thread's cuBLAS handle for the current device, created on first use and
/// destroyed at thread exit. cuBLAS handles must not be shared between threads.
[[nodiscard]] inline cublasHandle_t cublas_handle() {
  struct handles {
    std::map<int, cublasHandle_t> by_device;
    ~handles() {
      for (auto& [dev, h] : by_device) (void)cublasDestroy(h);
    }
  };
  thread_local handles cache;
  int dev = 0;
  SIMCLR_CUDA_CHECK(cudaGetDevice(&dev));
  auto it = cache.by_device.find(dev);
  if (it == cache.by_device.end()) {
    cublasHandle_t h = nullptr;
    SIMCLR_CUDA_CHECK(cublasCreate(&h));
    it = cache.by_device.emplace(dev, h).first;
  }
  return it->second;
}

/// How float GEMMs (cuBLAS) compute. Every mode keeps float tensors in memory and sums products
/// in float; they differ in how the GEMM inputs are rounded on the way into the tensor cores:
/// - fp32: not at all (full float, relative errors around 1e-6) — the default;
/// - tf32: to a 10-bit mantissa (TF32 tensor cores; errors around 1e-3, several times faster
///   on Ampere and Hopper);
/// - bf16: to an 8-bit mantissa (bf16 tensor cores; errors around 1e-2, the fastest). The
///   convolutions store their GEMM operands (columns, weights, output gradients) in bf16 and
///   call gemm_kernel<cuda_t>::run_bf16; other float GEMMs use CUBLAS_COMPUTE_32F_FAST_16BF.
///   Weights, gradients, optimizer state and the loss stay float
///   (the mixed-precision recipe's fp32 master weights); the losses' similarity GEMMs and
///   softmax run in full float (loss_precision), so no exp of a bf16-rounded logit is formed.
/// Double GEMMs are unaffected.
enum class precision { fp32, tf32, bf16 };

namespace detail {
inline precision precision_from_environment() {
  // SIMCLR_CUDA_PRECISION=fp32|tf32|bf16; the older SIMCLR_CUDA_TF32=1 means tf32.
  if (const char* p = std::getenv("SIMCLR_CUDA_PRECISION"); p != nullptr) {
    if (std::strcmp(p, "tf32") == 0) return precision::tf32;
    if (std::strcmp(p, "bf16") == 0) return precision::bf16;
    return precision::fp32;
  }
  const char* s = std::getenv("SIMCLR_CUDA_TF32");
  return s != nullptr && std::strcmp(s, "1") == 0 ? precision::tf32 : precision::fp32;
}
/// The process-wide mode, and a per-thread override (precision_scope) that wins when set.
inline std::atomic<precision>& global_precision() {
  static std::atomic<precision> p{precision_from_environment()};
  return p;
}
inline int& scoped_precision() {  // −1: no scope active on this thread
  thread_local int p = -1;
  return p;
}
}  // namespace detail

/// Sets the mode of every float GEMM issued afterwards, from any thread (see `precision`).
inline void set_precision(precision p) noexcept { detail::global_precision().store(p); }
/// The mode the calling thread's next float GEMM uses.
[[nodiscard]] inline precision current_precision() noexcept {
  const int scoped = detail::scoped_precision();
  return scoped >= 0 ? static_cast<precision>(scoped) : detail::global_precision().load();
}
/// The name of a mode: "fp32", "tf32" or "bf16".
[[nodiscard]] inline const char* to_string(precision p) noexcept {
  return p == precision::tf32 ? "tf32" : p == precision::bf16 ? "bf16" : "fp32";
}

/// Within its lifetime, the calling thread's float GEMMs use `p` whatever set_precision says
/// (scopes nest; the previous one comes back at the end). The losses hold
/// precision_scope(loss_precision()) around their GEMMs.
class precision_scope {
 public:
  explicit precision_scope(precision p) noexcept : saved_(detail::scoped_precision()) {
    detail::scoped_precision() = static_cast<int>(p);
  }
  ~precision_scope() { detail::scoped_precision() = saved_; }
  precision_scope(const precision_scope&) = delete;
  precision_scope& operator=(const precision_scope&) = delete;

 private:
  int saved_;
};

/// The mode the losses' GEMMs (similarities and their gradients) run in: the current one, except
/// bf16, which becomes full float there — a cosine rounded to 8 bits and divided by τ = 0.1 would
/// move a logit by up to 0.04 before the softmax.
[[nodiscard]] inline precision loss_precision() noexcept {
  const precision p = current_precision();
  return p == precision::bf16 ? precision::fp32 : p;
}

/// TF32 on or off: set_precision(tf32) or set_precision(fp32). SIMCLR_CUDA_TF32=1 in the
/// environment turns it on at start-up.
inline void set_tf32(bool on) noexcept { set_precision(on ? precision::tf32 : precision::fp32); }
[[nodiscard]] inline bool tf32_enabled() noexcept { return current_precision() == precision::tf32; }

}  // namespace simclr::cuda_backend
