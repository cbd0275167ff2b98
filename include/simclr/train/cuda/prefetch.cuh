// simclr::batch_prefetcher: host→device copies of the next batch on a copy stream, overlapping compute.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <cuda_runtime.h>

#include <cstddef>
#include <cstring>
#include <optional>
#include <type_traits>
#include <utility>

#include <simclr/backend/cuda/check.cuh>
#include <simclr/backend/cuda/memory.cuh>
#include <simclr/backend/tags.hpp>
#include <simclr/error.hpp>
#include <simclr/tensor.hpp>

namespace simclr {

/// Copies host batches to the device while the device computes: start(b + 1) stages the batch
/// in pinned memory and queues cudaMemcpyAsync on its own non-blocking copy stream; take()
/// makes the default stream (where every simclr kernel runs) wait for that copy's event and
/// hands over the device tensor. Two pinned staging buffers alternate, and start() waits for
/// the copy that last read a buffer before overwriting it, so the host never writes memory a
/// copy is still reading. The device tensor comes from the caching allocator, whose blocks are
/// safe for default-stream work only: the copy stream first waits for an event recorded on the
/// default stream after the allocation. One batch in flight at a time (start, take, start, ...).
/// train::fit uses it for every cuda_t model (see docs/cuda.md).
template <class T>
class batch_prefetcher {
 public:
  batch_prefetcher() = default;
  batch_prefetcher(const batch_prefetcher&) = delete;
  batch_prefetcher& operator=(const batch_prefetcher&) = delete;
  ~batch_prefetcher() {
    if (stream_ != nullptr) cudaStreamSynchronize(stream_);  // no copy outlives the buffers
    for (slot& s : slots_) {
      if (s.done != nullptr) cudaEventDestroy(s.done);
      if (s.pinned != nullptr) cudaFreeHost(s.pinned);
    }
    if (allocated_ != nullptr) cudaEventDestroy(allocated_);
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }

  /// Starts copying `host` to the device and returns once it is staged (a host memcpy into
  /// pinned memory); the copy itself runs on the copy stream.
  void start(const tensor<T, cpu_t>& host) {
    if (in_flight_) throw value_error("simclr: batch_prefetcher::start: take() the batch in flight first");
    if (stream_ == nullptr) {
      SIMCLR_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
      SIMCLR_CUDA_CHECK(cudaEventCreateWithFlags(&allocated_, cudaEventDisableTiming));
      for (slot& s : slots_) SIMCLR_CUDA_CHECK(cudaEventCreateWithFlags(&s.done, cudaEventDisableTiming));
    }
    slot& s = slots_[next_];
    next_ ^= 1;
    const auto bytes = static_cast<std::size_t>(host.numel()) * sizeof(T);
    SIMCLR_CUDA_CHECK(cudaEventSynchronize(s.done));  // the copy that last read this buffer
    if (s.capacity < bytes) {
      if (s.pinned != nullptr) SIMCLR_CUDA_CHECK(cudaFreeHost(s.pinned));
      s.pinned = nullptr;
      s.capacity = 0;
      SIMCLR_CUDA_CHECK(cudaMallocHost(&s.pinned, bytes));
      s.capacity = bytes;
    }
    if (bytes != 0) std::memcpy(s.pinned, host.data(), bytes);
    tensor<T, cuda_t> dev(host.shape(), uninitialized);
    // The block may have been freed by work still queued on the default stream.
    SIMCLR_CUDA_CHECK(cudaEventRecord(allocated_, cudaStream_t{}));
    SIMCLR_CUDA_CHECK(cudaStreamWaitEvent(stream_, allocated_, 0));
    if (bytes != 0)
      SIMCLR_CUDA_CHECK(cudaMemcpyAsync(dev.data(), s.pinned, bytes, cudaMemcpyHostToDevice, stream_));
    SIMCLR_CUDA_CHECK(cudaEventRecord(s.done, stream_));
    in_flight_.emplace(std::move(dev));
    in_flight_done_ = s.done;
  }

  /// The device copy of the last start()ed batch; work queued on the default stream from now on
  /// runs after the copy (the host does not wait).
  [[nodiscard]] tensor<T, cuda_t> take() {
    if (!in_flight_) throw value_error("simclr: batch_prefetcher::take: no batch was started");
    SIMCLR_CUDA_CHECK(cudaStreamWaitEvent(cudaStream_t{}, in_flight_done_, 0));
    tensor<T, cuda_t> out = std::move(*in_flight_);
    in_flight_.reset();
    return out;
  }

  /// Whether a started batch waits to be taken.
  [[nodiscard]] bool busy() const { return in_flight_.has_value(); }

 private:
  struct slot {
    void* pinned = nullptr;
    std::size_t capacity = 0;
    cudaEvent_t done = nullptr;  ///< recorded after the last copy that read `pinned`
  };
  slot slots_[2];
  int next_ = 0;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t allocated_ = nullptr;
  cudaEvent_t in_flight_done_ = nullptr;
  std::optional<tensor<T, cuda_t>> in_flight_;
};

/// The prefetcher train::fit uses for a cuda_t model (found by argument-dependent lookup from
/// trainer.hpp, so CPU builds never see CUDA).
template <class T>
[[nodiscard]] batch_prefetcher<T> make_batch_prefetcher(cuda_t, std::type_identity<T>) {
  return batch_prefetcher<T>{};
}

}  // namespace simclr
