// simclr::distributed::staged_communicator: a host-memory communicator (MPI) used on another
// backend's memory, each collective copied through host staging buffers — how device tensors
// travel over an MPI that cannot read device memory (docs/distributed.md, "Device memory over MPI").
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

#include <simclr/backend/tags.hpp>
#include <simclr/concepts.hpp>  // communicator, pending_collective
#include <simclr/config.hpp>
#include <simclr/distributed/communicator.hpp>  // check_gather_sizes, check_root

namespace simclr::distributed {

/// How a backend's memory is staged for a host-memory communicator. A specialisation provides
///   static void* allocate(std::size_t bytes);              // a host buffer, never null
///   static void  deallocate(void* p, std::size_t bytes) noexcept;
///   static void  to_host(void* host, const void* src, std::size_t bytes);    // complete on return
///   static void  from_host(void* dst, const void* host, std::size_t bytes);  // likewise
///   template <class Host> static bool reads_directly(const Host& host);
///   static void  before_direct();   // the backend's queued writes done before the host reads
/// reads_directly: whether `host` reads and writes this backend's memory itself, so nothing
/// needs staging; before_direct runs before each such unstaged collective (a CUDA-aware MPI
/// copies on streams of its own, which do not wait for the kernels still writing the data).
/// cpu_t is below (plain memory and memcpy: with staging_mode::always it runs the staging
/// logic on the CPU, which is how the tests check it); cuda_t is in
/// <simclr/distributed/cuda/staging.cuh> (page-locked buffers, cudaMemcpy).
template <class Backend>
struct staging {
  static_assert(simclr::detail::always_false<Backend>,
                "simclr: distributed::staging<Backend>: no staging for this backend — for "
                "cuda_t include <simclr/distributed/cuda/staging.cuh> and compile with nvcc");
};

template <>
struct staging<cpu_t> {
  static void* allocate(std::size_t bytes) { return ::operator new(bytes); }
  static void deallocate(void* p, std::size_t) noexcept { ::operator delete(p); }
  static void to_host(void* host, const void* src, std::size_t bytes) {
    if (bytes > 0) std::memcpy(host, src, bytes);
  }
  static void from_host(void* dst, const void* host, std::size_t bytes) {
    if (bytes > 0) std::memcpy(dst, host, bytes);
  }
  template <class Host>
  static bool reads_directly(const Host&) noexcept {
    return true;
  }
  static void before_direct() noexcept {}
};

enum class staging_mode {
  when_needed,  ///< stage unless the host communicator reads the backend's memory itself
  always,       ///< stage every collective (tests the staging on memory that needs none)
};

/// `Host` (a communicator of host memory: mpi_communicator, local_communicator) on buffers in
/// `Backend` memory. Each collective copies its input to a host buffer, runs on the host, and
/// copies the result back, all before it returns; all_reduce_sum_async copies in, starts the
/// host all-reduce and copies back in wait(). Buffers are page-locked for cuda_t and kept in a
/// pool for reuse (sized by the largest collectives in flight at once). With
/// staging_mode::when_needed nothing is copied where the host communicator reads the memory
/// itself (host memory, or an MPI built CUDA-aware: mpi_communicator::reads_cuda_memory).
/// Same results as `Host` on the same values: the engine sums the same numbers.
/// Satisfies communicator; the pending sums it returns must be waited for (or destroyed)
/// before it is.
template <communicator Host, backend Backend>
class staged_communicator {
 public:
  using backend_type = Backend;

  explicit staged_communicator(Host& host, staging_mode mode = staging_mode::when_needed)
      : host_(&host),
        pool_(std::make_shared<pool>()),
        direct_(mode == staging_mode::when_needed && staging<Backend>::reads_directly(host)) {}

  [[nodiscard]] int rank() const { return host_->rank(); }
  [[nodiscard]] int size() const { return host_->size(); }
  /// Whether collectives go to the host communicator unstaged (see staging_mode).
  [[nodiscard]] bool direct() const noexcept { return direct_; }
  [[nodiscard]] Host& host() const noexcept { return *host_; }
  /// Host buffers kept for reuse (those of pending sums return when those are destroyed).
  [[nodiscard]] std::size_t pooled_buffers() const {
    const std::lock_guard lock(pool_->mutex);
    return pool_->free.size();
  }

  template <class T>
  void all_reduce_sum(std::span<T> x) {
    if (direct_) {
      staging<Backend>::before_direct();
      return host_->all_reduce_sum(x);
    }
    buffer b = acquire(x.size_bytes());
    const std::span<T> h = b.template as<T>(x.size());
    staging<Backend>::to_host(h.data(), x.data(), x.size_bytes());
    host_->all_reduce_sum(h);
    staging<Backend>::from_host(x.data(), h.data(), x.size_bytes());
  }

  template <class T>
  void all_gather(std::span<const T> send, std::span<T> recv) {
    if (direct_) {
      staging<Backend>::before_direct();
      return host_->all_gather(send, recv);
    }
    detail::check_gather_sizes(send.size(), recv.size(), size(), "all_gather");
    send_and_receive(send, recv, [&](std::span<const T> s, std::span<T> r) {
      host_->all_gather(s, r);
    });
  }

  template <class T>
  void reduce_scatter_sum(std::span<const T> send, std::span<T> recv) {
    if (direct_) {
      staging<Backend>::before_direct();
      return host_->reduce_scatter_sum(send, recv);
    }
    detail::check_gather_sizes(recv.size(), send.size(), size(), "reduce_scatter_sum");
    send_and_receive(send, recv, [&](std::span<const T> s, std::span<T> r) {
      host_->reduce_scatter_sum(s, r);
    });
  }

  template <class T>
  void broadcast(std::span<T> x, int root) {
    if (direct_) {
      staging<Backend>::before_direct();
      return host_->broadcast(x, root);
    }
    detail::check_root(root, size(), "broadcast");
    buffer b = acquire(x.size_bytes());
    const std::span<T> h = b.template as<T>(x.size());
    const bool is_root = rank() == root;
    if (is_root) staging<Backend>::to_host(h.data(), x.data(), x.size_bytes());
    host_->broadcast(h, root);
    if (!is_root) staging<Backend>::from_host(x.data(), h.data(), x.size_bytes());
  }

  void barrier() { host_->barrier(); }

 private:
  /// Free host buffers, reused by the next collectives (smallest that fits first).
  struct pool {
    std::mutex mutex;
    std::vector<std::pair<void*, std::size_t>> free;
    pool() = default;
    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;
    ~pool() {
      for (const auto& [p, bytes] : free) staging<Backend>::deallocate(p, bytes);
    }
  };

  /// One host buffer, back to the pool when destroyed.
  class buffer {
   public:
    buffer(std::shared_ptr<pool> owner, void* p, std::size_t bytes)
        : pool_(std::move(owner)), p_(p), bytes_(bytes) {}
    buffer(buffer&& o) noexcept
        : pool_(std::move(o.pool_)), p_(std::exchange(o.p_, nullptr)), bytes_(o.bytes_) {}
    buffer(const buffer&) = delete;
    buffer& operator=(const buffer&) = delete;
    buffer& operator=(buffer&&) = delete;
    ~buffer() {
      if (p_ == nullptr) return;
      try {
        const std::lock_guard lock(pool_->mutex);
        pool_->free.emplace_back(p_, bytes_);
      } catch (...) {  // no memory for the bookkeeping: free it instead
        staging<Backend>::deallocate(p_, bytes_);
      }
    }
    template <class T>
    [[nodiscard]] std::span<T> as(std::size_t n) const noexcept {
      return {static_cast<T*>(p_), n};
    }

   private:
    std::shared_ptr<pool> pool_;
    void* p_;
    std::size_t bytes_;
  };

 public:
  /// A started all-reduce of staged values: wait() completes it on the host and copies the sums
  /// back into the span it was started on. Destroyed without wait(), it leaves that span as it
  /// was (the host communicator's own pending sum still completes its request).
  template <class T, class HostPending>
  class pending {
   public:
    pending(HostPending p, buffer b, std::span<T> dst)
        : buffer_(std::move(b)), host_(std::move(p)), dst_(dst) {}
    void wait() {
      if (done_) return;
      host_.wait();
      done_ = true;
      if (!dst_.empty())
        staging<Backend>::from_host(dst_.data(), buffer_.template as<T>(dst_.size()).data(),
                                    dst_.size_bytes());
    }

   private:
    // Destroyed in reverse: the host's pending sum (which completes its request) before the
    // buffer goes back to the pool, where another collective could take it while MPI writes.
    buffer buffer_;
    HostPending host_;
    std::span<T> dst_;
    bool done_ = false;
  };

  /// Starts the all-reduce of x (Backend memory): x is copied to a host buffer now; the sums
  /// reach x in wait(). Unstaged (direct()), the host communicator's own pending sum, wrapped.
  template <class T>
  [[nodiscard]] auto all_reduce_sum_async(std::span<T> x) {
    using host_pending = decltype(host_->all_reduce_sum_async(x));
    if (direct_) {
      // The host communicator sums x in place: the copy back is of x onto itself, skipped.
      staging<Backend>::before_direct();
      return pending<T, host_pending>(host_->all_reduce_sum_async(x), buffer(pool_, nullptr, 0),
                                      std::span<T>());
    }
    buffer b = acquire(x.size_bytes());
    const std::span<T> h = b.template as<T>(x.size());
    staging<Backend>::to_host(h.data(), x.data(), x.size_bytes());
    return pending<T, host_pending>(host_->all_reduce_sum_async(h), std::move(b), x);
  }

 private:
  /// A collective from `send` to `recv` (both Backend memory) through one host buffer holding
  /// both: send copied in, op on the host halves, recv copied out.
  template <class T, class Op>
  void send_and_receive(std::span<const T> send, std::span<T> recv, Op&& op) {
    buffer b = acquire(send.size_bytes() + recv.size_bytes());
    const std::span<T> h = b.template as<T>(send.size() + recv.size());
    staging<Backend>::to_host(h.data(), send.data(), send.size_bytes());
    op(std::span<const T>(h.first(send.size())), h.subspan(send.size()));
    staging<Backend>::from_host(recv.data(), h.data() + send.size(), recv.size_bytes());
  }

  buffer acquire(std::size_t bytes) {
    {
      const std::lock_guard lock(pool_->mutex);
      auto& free = pool_->free;
      auto best = free.end();
      for (auto it = free.begin(); it != free.end(); ++it)
        if (it->second >= bytes && (best == free.end() || it->second < best->second)) best = it;
      if (best != free.end()) {
        const auto [p, n] = *best;
        free.erase(best);
        return buffer(pool_, p, n);
      }
    }
    const std::size_t n = std::max<std::size_t>(bytes, 64);
    return buffer(pool_, staging<Backend>::allocate(n), n);
  }

  Host* host_;
  std::shared_ptr<pool> pool_;
  bool direct_;
};

static_assert(communicator<staged_communicator<local_communicator, cpu_t>>);

}  // namespace simclr::distributed
