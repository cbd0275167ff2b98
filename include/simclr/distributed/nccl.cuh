// simclr::distributed::nccl_communicator: the communicator concept on NCCL, for device memory
// (cuda_t tensors), one GPU per process. Link simclr::nccl (CMake: SIMCLR_ENABLE_NCCL; NCCL
// ships with the CUDA toolkit here); docs/distributed.md.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif
#if !__has_include(<nccl.h>)
#error "simclr: <simclr/distributed/nccl.cuh> needs NCCL's nccl.h: link simclr::nccl (SIMCLR_ENABLE_NCCL; NCCL ships with the CUDA toolkit or as NVIDIA's libnccl-dev)"
#else  // the rest only where the header can compile: one error, not a cascade
#include <nccl.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include <cuda_runtime.h>

#include <simclr/backend/cuda/check.cuh>
#include <simclr/backend/cuda/device.cuh>
#include <simclr/concepts.hpp>
#include <simclr/distributed/communicator.hpp>
#include <simclr/distributed/world.hpp>
#include <simclr/error.hpp>

namespace simclr::distributed {

namespace detail {
template <class T>
constexpr ncclDataType_t nccl_type() {
  if constexpr (std::is_same_v<T, float>) return ncclFloat32;
  else if constexpr (std::is_same_v<T, double>) return ncclFloat64;
  else if constexpr (std::is_same_v<T, std::int64_t>) return ncclInt64;
  else if constexpr (std::is_same_v<T, std::int32_t>) return ncclInt32;
  else static_assert(!sizeof(T), "simclr: nccl_communicator: float, double, std::int32_t or std::int64_t");
}

/// Polls a non-blocking NCCL operation (and, when `done` is an event, the stream work behind it)
/// until it has finished, failed or run past the timeout. One place for the rules:
///   - ncclInProgress: not yet; any other NCCL status but ncclSuccess: a distributed_error
///     with NCCL's text — and, when the error came from the communicator's asynchronous state
///     (ncclCommGetAsyncError: a failed set-up, a peer gone), ncclCommAbort first, as NCCL asks:
///     its kernels may otherwise never end, and every later device-wide synchronisation hangs;
///   - a timeout (> 0) passed: ncclCommAbort — so no rank waits on a dead one forever — and a
///     distributed_error saying so (the last checkpoint is intact: checkpoints are written to a
///     temporary file and renamed).
class nccl_waiter {
 public:
  nccl_waiter(ncclComm_t* comm, int rank, double timeout) : comm_(comm), rank_(rank), timeout_(timeout) {}

  void operator()(ncclResult_t status, cudaEvent_t done, const char* collective,
                  const char* call) const {
    const auto start = std::chrono::steady_clock::now();
    // The call's own status (an argument error) leaves the communicator usable.
    if (status != ncclSuccess && status != ncclInProgress) fail(status, collective, call, false);
    for (int spins = 0;; ++spins) {
      if (status == ncclInProgress && *comm_ != nullptr)
        (void)ncclCommGetAsyncError(*comm_, &status);
      if (status != ncclSuccess && status != ncclInProgress) fail(status, collective, call, true);
      if (status == ncclSuccess) {
        if (done == nullptr) return;
        const cudaError_t e = cudaEventQuery(done);
        if (e == cudaSuccess) return;
        if (e == cudaErrorNotReady)
          (void)cudaGetLastError();  // recorded as the thread's last error: cleared, or the
                                     // next kernel launch's check would report it
        else
          cuda_backend::check(e, "cudaEventQuery (after an NCCL collective)", __FILE__, __LINE__);
        // The kernels run: an asynchronous NCCL error (a peer gone) shows here.
        ncclResult_t async = ncclSuccess;
        if (*comm_ != nullptr && ncclCommGetAsyncError(*comm_, &async) == ncclSuccess &&
            async != ncclSuccess && async != ncclInProgress)
          fail(async, collective, call, true);
      }
      const double waited =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (timeout_ > 0 && waited >= timeout_) {
        if (*comm_ != nullptr) {
          (void)ncclCommAbort(*comm_);
          *comm_ = nullptr;
        }
        throw distributed_error(
            rank_, collective,
            "has not finished after " + std::to_string(waited) + " s (collective timeout " +
                std::to_string(timeout_) + " s): another rank has died or hangs; the NCCL "
                "communicator was aborted (ncclCommAbort). The last checkpoint is intact.");
      }
      if (spins > 64) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

 private:
  /// Throws the distributed_error of a failed call; `asynchronous`: the communicator's own
  /// state failed, so it is aborted (and set to null: later collectives say so by name).
  [[noreturn]] void fail(ncclResult_t status, const char* collective, const char* call,
                         bool asynchronous) const {
    std::string text = std::string(call) + " failed: " + ncclGetErrorString(status);
    if (*comm_ != nullptr) {
      const char* last = ncclGetLastError(*comm_);
      if (last != nullptr && *last != '\0') text += std::string(" (") + last + ")";
      if (asynchronous) {
        (void)ncclCommAbort(*comm_);
        *comm_ = nullptr;
        text += "; the NCCL communicator was aborted (ncclCommAbort)";
      }
    }
    throw distributed_error(rank_, collective, text);
  }

  ncclComm_t* comm_;
  int rank_;
  double timeout_;
};

/// A value_error unless `p` is device (or managed) memory: NCCL moves device memory only.
inline void check_device_memory(const void* p, std::size_t n, const char* what) {
  if (n == 0) return;
  cudaPointerAttributes a{};
  const cudaError_t e = cudaPointerGetAttributes(&a, p);
  if (e != cudaSuccess) (void)cudaGetLastError();
  if (e != cudaSuccess || (a.type != cudaMemoryTypeDevice && a.type != cudaMemoryTypeManaged))
    throw value_error(std::string("simclr: nccl_communicator: ") + what +
                      ": the buffer is not device memory; NCCL moves the data of cuda_t "
                      "tensors (host tensors go through mpi_communicator)");
}

struct event_free {
  void operator()(cudaEvent_t e) const noexcept { (void)cudaEventDestroy(e); }
};
}  // namespace detail

/// Options of nccl_communicator.
struct nccl_options {
  /// A collective (or the set-up) that has not finished after this many seconds — another
  /// rank died or hangs — aborts the communicator (ncclCommAbort) and throws a
  /// distributed_error naming the rank and the collective. 0: wait forever. The environment
  /// variable SIMCLR_COLLECTIVE_TIMEOUT (seconds) overrides it, as for mpi_communicator.
  double timeout_seconds = 600;
  /// This process's CUDA device; -1 takes its local rank from the launcher's environment
  /// (OpenMPI, MPICH, torchrun's LOCAL_RANK): one GPU per process, as NCCL requires.
  int device = -1;
};

/// A fresh NCCL unique id (ncclGetUniqueId): rank 0 makes it and every rank must receive it.
/// With NCCL_COMM_ID=<host>:<port> set, every rank gets the same id from here and rank 0
/// listens on that address when the communicator is made (the torchrun-style launch).
[[nodiscard]] inline ncclUniqueId nccl_unique_id() {
  ncclUniqueId id{};
  const ncclResult_t r = ncclGetUniqueId(&id);
  if (r != ncclSuccess)
    throw distributed_error(0, "init", std::string("ncclGetUniqueId failed: ") + ncclGetErrorString(r));
  return id;
}

/// The processes of one NCCL communicator (non-blocking, with a timeout on every wait), each on
/// its own GPU. Every collective is ordered after the work already queued on the CUDA default
/// stream (where simclr's kernels run), runs on the communicator's own stream, and — blocking
/// or, for all_reduce_sum_async, at wait() — returns once the result is in device memory.
/// Sums are ncclSum (the same order for the same group). The spans hold device memory.
///
/// Three ways to start one:
///   auto c = nccl_communicator::over(mpi);          // mpirun: rank 0's id sent over MPI
///   auto c = nccl_communicator::from_environment(); // RANK, WORLD_SIZE, NCCL_COMM_ID (torchrun)
///   nccl_communicator c(id, rank, size);            // an id sent by any other means
class nccl_communicator {
 public:
  /// Its collectives take device memory (distributed::communicator_backend).
  using backend_type = cuda_t;

  nccl_communicator(const ncclUniqueId& id, int rank, int size, const nccl_options& o = {})
      : rank_(rank), size_(size), timeout_(detail::collective_timeout(o.timeout_seconds)) {
    if (!(o.timeout_seconds >= 0))
      throw value_error("simclr: nccl_communicator: timeout_seconds is " +
                        std::to_string(o.timeout_seconds) + ", expected ≥ 0 (0: no timeout)");
    if (size < 1 || rank < 0 || rank >= size)
      throw value_error("simclr: nccl_communicator: rank " + std::to_string(rank) + " of " +
                        std::to_string(size) + ", expected 0 ≤ rank < size");
    device_ = pick_device(o.device);
    try {  // a failed set-up frees what it made (the destructor does not run)
      SIMCLR_CUDA_CHECK(cudaSetDevice(device_));
      make_stream_and_buffers();
      ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
      config.blocking = 0;  // every wait polls, so the timeout holds during set-up too
      ncclUniqueId copy = id;
      waiter()(ncclCommInitRankConfig(&comm_, size_, copy, rank_, &config), nullptr, "init",
               "ncclCommInitRankConfig");
    } catch (...) {
      release();
      throw;
    }
  }

  /// Rank 0's unique id sent to every rank over `host` (an mpi_communicator under mpirun, or
  /// any other communicator); this communicator has host's ranks and size.
  template <communicator Host>
  [[nodiscard]] static nccl_communicator over(Host& host, const nccl_options& o = {}) {
    ncclUniqueId id{};
    if (host.rank() == 0) id = nccl_unique_id();
    std::array<std::int64_t, (sizeof(ncclUniqueId) + 7) / 8> words{};
    std::memcpy(words.data(), &id, sizeof id);
    host.broadcast(std::span<std::int64_t>(words), 0);
    std::memcpy(&id, words.data(), sizeof id);
    return nccl_communicator(id, static_cast<int>(host.rank()), static_cast<int>(host.size()), o);
  }

  /// The launch without MPI: rank and size from the launcher's environment (RANK and
  /// WORLD_SIZE, or OpenMPI's / MPICH's), the rendezvous from NCCL_COMM_ID=<host>:<port>,
  /// where rank 0 listens.
  [[nodiscard]] static nccl_communicator from_environment(const nccl_options& o = {}) {
    const char* env = std::getenv("NCCL_COMM_ID");
    if (env == nullptr || *env == '\0')
      throw value_error("simclr: nccl_communicator::from_environment: NCCL_COMM_ID is not set; "
                        "expected <host>:<port> of rank 0 (or start the job with mpirun and use "
                        "nccl_communicator::over(mpi_communicator))");
    const world_info w = world_from_environment();
    return nccl_communicator(nccl_unique_id(), w.rank, w.size, o);
  }

  nccl_communicator(nccl_communicator&& o) noexcept
      : rank_(o.rank_), size_(o.size_), device_(o.device_), timeout_(o.timeout_),
        comm_(std::exchange(o.comm_, nullptr)), stream_(std::exchange(o.stream_, nullptr)),
        queued_(std::exchange(o.queued_, nullptr)), done_(std::exchange(o.done_, nullptr)),
        scratch_(std::exchange(o.scratch_, nullptr)) {}
  nccl_communicator(const nccl_communicator&) = delete;
  nccl_communicator& operator=(const nccl_communicator&) = delete;
  nccl_communicator& operator=(nccl_communicator&&) = delete;
  ~nccl_communicator() { release(); }

  [[nodiscard]] int rank() const noexcept { return rank_; }
  [[nodiscard]] int size() const noexcept { return size_; }
  /// The CUDA device this process uses.
  [[nodiscard]] int device() const noexcept { return device_; }
  /// The collective timeout in force (seconds; 0: none).
  [[nodiscard]] double timeout_seconds() const noexcept { return timeout_; }
  [[nodiscard]] ncclComm_t native() const noexcept { return comm_; }
  /// The stream the collectives run on.
  [[nodiscard]] cudaStream_t stream() const noexcept { return stream_; }

  /// The subgroup of the ranks that pass the same `color` (ncclCommSplit, ranks in their order
  /// here), with this communicator's timeout and device. Every rank must call it.
  [[nodiscard]] nccl_communicator split(int color) {
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    ncclComm_t sub = nullptr;
    if (color < 0)
      throw value_error("simclr: nccl_communicator::split: color " + std::to_string(color) +
                        ", expected ≥ 0");
    // On a non-blocking parent ncclCommSplit may return ncclSuccess while the split still runs
    // on NCCL's thread: the parent stays ncclInProgress, and `sub` unset, until it is done
    // (NVIDIA/nccl#1472). So the parent is always polled to the end.
    const ncclResult_t started = ncclCommSplit(live("split"), color, rank_, &sub, &config);
    waiter()(started == ncclSuccess ? ncclInProgress : started, nullptr, "split",
             "ncclCommSplit");
    if (sub == nullptr)
      throw distributed_error(rank_, "split", "ncclCommSplit returned no communicator");
    nccl_waiter_for(&sub)(ncclInProgress, nullptr, "split", "ncclCommSplit (the new group)");
    return nccl_communicator(adopt{}, sub, device_, timeout_);
  }

  template <class T>
  void all_reduce_sum(std::span<T> x) {
    detail::check_device_memory(x.data(), x.size(), "all_reduce_sum");
    run("all_reduce_sum", "ncclAllReduce", [&](ncclComm_t c) {
      return ncclAllReduce(x.data(), x.data(), x.size(), detail::nccl_type<T>(), ncclSum, c, stream_);
    });
  }
  template <class T>
  void all_gather(std::span<const T> send, std::span<T> recv) {
    detail::check_gather_sizes(send.size(), recv.size(), size_, "all_gather");
    detail::check_device_memory(send.data(), send.size(), "all_gather");
    detail::check_device_memory(recv.data(), recv.size(), "all_gather");
    run("all_gather", "ncclAllGather", [&](ncclComm_t c) {
      return ncclAllGather(send.data(), recv.data(), send.size(), detail::nccl_type<T>(), c, stream_);
    });
  }
  template <class T>
  void reduce_scatter_sum(std::span<const T> send, std::span<T> recv) {
    detail::check_gather_sizes(recv.size(), send.size(), size_, "reduce_scatter_sum");
    detail::check_device_memory(send.data(), send.size(), "reduce_scatter_sum");
    detail::check_device_memory(recv.data(), recv.size(), "reduce_scatter_sum");
    run("reduce_scatter_sum", "ncclReduceScatter", [&](ncclComm_t c) {
      return ncclReduceScatter(send.data(), recv.data(), recv.size(), detail::nccl_type<T>(),
                               ncclSum, c, stream_);
    });
  }
  template <class T>
  void broadcast(std::span<T> x, int root) {
    detail::check_root(root, size_, "broadcast");
    detail::check_device_memory(x.data(), x.size(), "broadcast");
    run("broadcast", "ncclBroadcast", [&](ncclComm_t c) {
      return ncclBroadcast(x.data(), x.data(), x.size(), detail::nccl_type<T>(), root, c, stream_);
    });
  }
  /// Every rank has reached it (NCCL has no barrier: a one-element all-reduce).
  void barrier() {
    run("barrier", "ncclAllReduce", [&](ncclComm_t c) {
      return ncclAllReduce(scratch_, scratch_, 1, ncclInt32, ncclSum, c, stream_);
    });
  }

  /// A started all-reduce: wait() returns once the sum is in device memory (the destructor
  /// waits too, so none is left behind).
  class pending {
   public:
    pending(nccl_communicator* c, cudaEvent_t e) : comm_(c), done_(e) {}
    pending(pending&& o) noexcept : comm_(o.comm_), done_(std::move(o.done_)) {}
    pending(const pending&) = delete;
    pending& operator=(const pending&) = delete;
    pending& operator=(pending&&) = delete;
    ~pending() {
      try {
        wait();
      } catch (...) {  // a destructor must not throw; wait() reports failures to callers
      }
    }
    void wait() {
      if (!done_) return;
      const auto event = std::move(done_);
      comm_->waiter()(ncclSuccess, event.get(), "all_reduce_sum_async", "ncclAllReduce");
    }

   private:
    nccl_communicator* comm_;
    std::unique_ptr<std::remove_pointer_t<cudaEvent_t>, detail::event_free> done_;
  };
  template <class T>
  [[nodiscard]] pending all_reduce_sum_async(std::span<T> x) {
    detail::check_device_memory(x.data(), x.size(), "all_reduce_sum_async");
    SIMCLR_CUDA_CHECK(cudaSetDevice(device_));  // the event belongs to this device
    cudaEvent_t done = nullptr;
    SIMCLR_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
    pending p(this, done);
    enqueue("all_reduce_sum_async", "ncclAllReduce", [&](ncclComm_t c) {
      return ncclAllReduce(x.data(), x.data(), x.size(), detail::nccl_type<T>(), ncclSum, c, stream_);
    });
    SIMCLR_CUDA_CHECK(cudaEventRecord(done, stream_));
    return p;
  }

 private:
  struct adopt {};
  nccl_communicator(adopt, ncclComm_t c, int device, double timeout)
      : device_(device), timeout_(timeout), comm_(c) {
    try {  // as the public constructor: a failure frees what was made, the new group included
      SIMCLR_CUDA_CHECK(cudaSetDevice(device_));
      waiter()(ncclCommUserRank(comm_, &rank_), nullptr, "split", "ncclCommUserRank");
      waiter()(ncclCommCount(comm_, &size_), nullptr, "split", "ncclCommCount");
      make_stream_and_buffers();
    } catch (...) {
      release();
      throw;
    }
  }

  [[nodiscard]] static int pick_device(int wanted) {
    const int count = cuda_backend::device_count();
    if (count == 0)
      throw error("simclr: nccl_communicator: no CUDA device (" + cuda_backend::unavailable_reason() + ")");
    if (wanted >= 0) {
      if (wanted >= count)
        throw value_error("simclr: nccl_communicator: device " + std::to_string(wanted) +
                          ", expected 0 ≤ device < " + std::to_string(count));
      return wanted;
    }
    const world_info w = world_from_environment();
    if (w.local_size > count)
      throw value_error("simclr: nccl_communicator: " + std::to_string(w.local_size) +
                        " processes on this machine (" + w.launcher + ") and " +
                        std::to_string(count) + " CUDA devices: NCCL needs a GPU of its own for "
                        "each process; start at most " + std::to_string(count) +
                        " per machine (or use mpi_communicator, which stages through the host)");
    return w.local_rank;
  }

  /// The communicator's stream, its two events and the barrier's zeroed scratch integer.
  void make_stream_and_buffers() {
    SIMCLR_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    SIMCLR_CUDA_CHECK(cudaEventCreateWithFlags(&queued_, cudaEventDisableTiming));
    SIMCLR_CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
    SIMCLR_CUDA_CHECK(cudaMalloc(&scratch_, sizeof(std::int32_t)));
    SIMCLR_CUDA_CHECK(cudaMemset(scratch_, 0, sizeof(std::int32_t)));
  }

  /// Frees everything (the destructor, and a constructor that failed part-way): a live
  /// communicator finishes what is queued (ncclCommFinalize, polled up to the timeout) and is
  /// destroyed; one that cannot finish, or had failed, is aborted.
  void release() noexcept {
    (void)cudaSetDevice(device_);
    if (comm_ != nullptr) {
      ncclResult_t r = ncclCommFinalize(comm_);
      const auto start = std::chrono::steady_clock::now();
      while (r == ncclInProgress &&
             (timeout_ <= 0 || std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                              start).count() < timeout_))
        (void)ncclCommGetAsyncError(comm_, &r);
      if (r == ncclSuccess) (void)ncclCommDestroy(comm_);
      else (void)ncclCommAbort(comm_);
      comm_ = nullptr;
    }
    if (scratch_ != nullptr) (void)cudaFree(std::exchange(scratch_, nullptr));
    if (queued_ != nullptr) (void)cudaEventDestroy(std::exchange(queued_, nullptr));
    if (done_ != nullptr) (void)cudaEventDestroy(std::exchange(done_, nullptr));
    if (stream_ != nullptr) (void)cudaStreamDestroy(std::exchange(stream_, nullptr));
  }

  [[nodiscard]] detail::nccl_waiter waiter() { return nccl_waiter_for(&comm_); }
  [[nodiscard]] detail::nccl_waiter nccl_waiter_for(ncclComm_t* c) const {
    return detail::nccl_waiter(c, rank_, timeout_);
  }
  [[nodiscard]] ncclComm_t live(const char* collective) const {
    if (comm_ == nullptr)
      throw distributed_error(rank_, collective,
                              "the NCCL communicator was aborted after an earlier failure");
    return comm_;
  }

  /// Queues `call` on the communicator's stream after the default stream's queued work.
  template <class Call>
  void enqueue(const char* collective, const char* name, Call&& call) {
    const ncclComm_t c = live(collective);
    SIMCLR_CUDA_CHECK(cudaSetDevice(device_));
    SIMCLR_CUDA_CHECK(cudaEventRecord(queued_, cudaStreamLegacy));
    SIMCLR_CUDA_CHECK(cudaStreamWaitEvent(stream_, queued_, 0));
    waiter()(call(c), nullptr, collective, name);
  }
  /// enqueue, then wait for the result.
  template <class Call>
  void run(const char* collective, const char* name, Call&& call) {
    enqueue(collective, name, std::forward<Call>(call));
    SIMCLR_CUDA_CHECK(cudaEventRecord(done_, stream_));
    waiter()(ncclSuccess, done_, collective, name);
  }

  int rank_ = 0, size_ = 1, device_ = 0;
  double timeout_ = 0;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t queued_ = nullptr, done_ = nullptr;
  std::int32_t* scratch_ = nullptr;
};

static_assert(communicator<nccl_communicator>);

}  // namespace simclr::distributed

#endif  // __has_include
