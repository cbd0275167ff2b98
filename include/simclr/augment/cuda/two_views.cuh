// simclr::augment::two_views on the device: the (2N, C, S, S) two-view batch of a device image batch.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <simclr/augment/apply_view.hpp>
#include <simclr/augment/two_views.hpp>
#include <simclr/augment/view_params.hpp>
#include <simclr/backend/cuda/check.cuh>
#include <simclr/backend/cuda/launch.cuh>
#include <simclr/backend/cuda/memory.cuh>
#include <simclr/error.hpp>
#include <simclr/tensor.hpp>

namespace simclr::augment {

namespace cuda_detail {

/// apply_view's executor for the threads of one block: block-strided loops, a block reduction
/// in double (fixed order: run-to-run identical) and __syncthreads.
struct block_executor {
  template <class F>
  SIMCLR_HOST_DEVICE void for_each(index_t n, F&& f) const {
#if defined(__CUDA_ARCH__)
    for (index_t i = threadIdx.x; i < n; i += blockDim.x) f(i);
#else
    (void)n;
    (void)f;
#endif
  }
  template <class F>
  [[nodiscard]] SIMCLR_HOST_DEVICE double sum(index_t n, F&& f) const {
#if defined(__CUDA_ARCH__)
    double s = 0.0;
    for (index_t i = threadIdx.x; i < n; i += blockDim.x) s += f(i);
    return cuda_backend::block_sum(s);
#else
    (void)n;
    (void)f;
    return 0.0;
#endif
  }
  SIMCLR_HOST_DEVICE void sync() const {
#if defined(__CUDA_ARCH__)
    __syncthreads();
#endif
  }
};

/// Threads per view block (a multiple of 32, as block_sum needs).
inline constexpr unsigned view_threads = 256;

/// Floats of blur scratch one launch may use (256 MiB): views beyond it run in further launches.
inline constexpr index_t view_scratch_budget = index_t{1} << 26;

/// One block per view: view `job` = first + blockIdx.x (= v·N + i) of image i, written to row
/// job. `src` points at image 0; image i starts `image_stride` elements later. Each block of
/// the launch has its own `scratch_per_view` floats of `scratch`.
template <class Policy, class Source>
__global__ void __launch_bounds__(view_threads)
    two_views_kernel(const view_params<Policy>* params, Source src, index_t image_stride,
                     index_t n, index_t first, float* out, index_t per_view, float* scratch,
                     index_t scratch_per_view) {
  using record = view_params<Policy>;
  const index_t job = first + blockIdx.x;
  // The record in shared memory (raw bytes: a __shared__ object may not have initialisers).
  __shared__ alignas(alignof(record)) unsigned char raw[sizeof(record)];
  const auto* from = reinterpret_cast<const unsigned char*>(params + job);
  for (unsigned i = threadIdx.x; i < sizeof(record); i += blockDim.x) raw[i] = from[i];
  __syncthreads();
  const record& p = *reinterpret_cast<const record*>(raw);
  Source s = src;
  s.data += (job % n) * image_stride;
  apply_view(block_executor{}, p, s, out + job * per_view,
             scratch_per_view > 0 ? scratch + blockIdx.x * scratch_per_view : nullptr);
}

/// Draws the 2N records on the host, copies them to the device and runs one block per view, in
/// launches of as many views as `scratch_budget` floats of blur scratch hold (all of them when no
/// op blurs).
template <class Policy, class Source>
[[nodiscard]] tensor<float, cuda_t> two_views_on_device(const Policy& policy, Source src,
                                                        index_t n, const batch_position& at,
                                                        std::span<const std::uint64_t> samples,
                                                        index_t scratch_budget = view_scratch_budget) {
  using record = view_params<Policy>;
  static_assert(sizeof(record) <= 16384,
                "simclr: augment::two_views (device): one view's params take more than 16 KiB "
                "(they are staged in shared memory); keep an op's params small");
  const std::vector<record> params =
      draw_two_views_params(policy, n, src.h, src.w, src.c, at, samples);
  const record& first = params.front();
  index_t scratch_per_view = 0;
  for (const record& p : params) {
    if (p.out_h != first.out_h || p.out_w != first.out_w)
      throw shape_error("simclr: augment::two_views (device): the views come out " +
                        std::to_string(first.out_h) + "×" + std::to_string(first.out_w) + " and " +
                        std::to_string(p.out_h) + "×" + std::to_string(p.out_w) +
                        "; the policy must give one size");
    scratch_per_view = std::max(scratch_per_view, view_scratch_size(p));
  }
  const index_t c = first.channels, per_view = c * first.out_h * first.out_w;
  tensor<float, cuda_t> out(shape{2 * n, c, first.out_h, first.out_w},
                            uninitialized);  // (2N, C, S, S): rows i and i + N are image i's views
  const auto bytes = static_cast<index_t>(params.size() * sizeof(record));
  tensor<std::uint8_t, cuda_t> records(shape{bytes}, uninitialized);  // (2N) view_params
  SIMCLR_CUDA_CHECK(cudaMemcpy(records.data(), params.data(), static_cast<std::size_t>(bytes),
                               cudaMemcpyHostToDevice));
  const index_t views = 2 * n;
  const index_t per_launch =
      scratch_per_view > 0
          ? std::clamp<index_t>(scratch_budget / scratch_per_view, 1, views)
          : views;
  tensor<float, cuda_t> scratch(shape{std::max<index_t>(1, per_launch * scratch_per_view)},
                                uninitialized);  // (views per launch, C, S, S) blur passes
  const index_t image_stride = src.h * src.w * src.c;
  // Launches run in order on the default stream, so each reuses the scratch of the last.
  for (index_t first = 0; first < views; first += per_launch) {
    const auto blocks = static_cast<unsigned>(std::min(per_launch, views - first));
    two_views_kernel<Policy, Source><<<blocks, view_threads>>>(
        reinterpret_cast<const record*>(records.data()), src, image_stride, n, first,
        out.data(), per_view, scratch.data(), scratch_per_view);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }
  return out;  // `records` and `scratch` go back to the cache; later work on the default
               // stream (the only stream simclr uses) runs after this kernel
}

}  // namespace cuda_detail

/// Two views of every image of a device batch `images` (N, H, W, C) 8-bit (C = 1 or 3, as
/// decoded and stacked: train::two_view_loader's raw mode), made on the device: a
/// (2N, C, S, S) float batch whose rows i and i + N are the two views of image i, with the CPU
/// two_views' layout and keys (view v of image i from stream(view_key(at, sample_indices[i] or
/// batch_index·N + i, v)) and the policy's for_batch(batch_view_key(at, v))). The parameters
/// are drawn on the host by draw_two_views_params with the policy's own draws; the views agree
/// with the CPU ones to float rounding (tests/backend/cuda/augment.cu). The policy must be a
/// device_augmentation (a static_assert says so). Asynchronous on the default stream.
template <class Policy>
[[nodiscard]] tensor<float, cuda_t> two_views(const Policy& policy,
                                              const tensor<std::uint8_t, cuda_t>& images,
                                              const batch_position& at,
                                              std::span<const std::uint64_t> sample_indices = {}) {
  if (images.rank() != 4 || (images.extent(3) != 1 && images.extent(3) != 3) ||
      images.extent(0) < 1 || images.extent(1) < 1 || images.extent(2) < 1)
    throw shape_error("simclr: augment::two_views (device) takes an (N, H, W, C) 8-bit batch "
                      "with N, H, W ≥ 1 and C = 1 or 3, got shape " +
                      images.shape().to_string());
  return cuda_detail::two_views_on_device(
      policy,
      u8_hwc_source{images.data(), images.extent(1), images.extent(2), images.extent(3)},
      images.extent(0), at, sample_indices);
}

/// Two views of every image of a device (N, C, H, W) float batch (values in [0, 1]).
template <class Policy>
[[nodiscard]] tensor<float, cuda_t> two_views(const Policy& policy,
                                              const tensor<float, cuda_t>& images,
                                              const batch_position& at,
                                              std::span<const std::uint64_t> sample_indices = {}) {
  if (images.rank() != 4 || (images.extent(1) != 1 && images.extent(1) != 3) ||
      images.extent(0) < 1 || images.extent(2) < 1 || images.extent(3) < 1)
    throw shape_error("simclr: augment::two_views (device) takes an (N, C, H, W) float batch "
                      "with N, H, W ≥ 1 and C = 1 or 3, got shape " +
                      images.shape().to_string());
  return cuda_detail::two_views_on_device(
      policy,
      f32_chw_source{images.data(), images.extent(2), images.extent(3), images.extent(1)},
      images.extent(0), at, sample_indices);
}

}  // namespace simclr::augment
