// simclr::distributed::mpi_communicator: the communicator concept on MPI (OpenMPI or MPICH),
// for host memory. Link simclr::mpi (CMake: SIMCLR_ENABLE_MPI; Debian libopenmpi-dev or
// libmpich-dev); docs/distributed.md.
#pragma once

#if !__has_include(<mpi.h>)
#error "simclr: <simclr/distributed/mpi.hpp> needs MPI's mpi.h: link simclr::mpi (SIMCLR_ENABLE_MPI, Debian libopenmpi-dev or libmpich-dev), which adds MPI's include path"
#else  // the rest only where the header can compile: one error, not a cascade
#include <mpi.h>
#if __has_include(<mpi-ext.h>)
#include <mpi-ext.h>  // OpenMPI's extensions: MPIX_CUDA_AWARE_SUPPORT, MPIX_Query_cuda_support
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <type_traits>

#include <simclr/distributed/communicator.hpp>
#include <simclr/error.hpp>
#include <simclr/parallel/thread_pool.hpp>

namespace simclr::distributed {

namespace detail {
template <class T>
MPI_Datatype mpi_type() {
  if constexpr (std::is_same_v<T, float>) return MPI_FLOAT;
  else if constexpr (std::is_same_v<T, double>) return MPI_DOUBLE;
  else if constexpr (std::is_same_v<T, std::int64_t>) return MPI_INT64_T;
  else static_assert(!sizeof(T), "simclr: mpi_communicator: float, double or std::int64_t");
}
/// MPI counts are int: a larger buffer is a value_error naming the collective.
inline int mpi_count(std::size_t n, const char* what) {
  if (n > static_cast<std::size_t>(INT_MAX))
    throw value_error(std::string("simclr: mpi_communicator: ") + what + " of " +
                      std::to_string(n) + " elements, more than MPI's int count allows (" +
                      std::to_string(INT_MAX) + "); split the buffer");
  return static_cast<int>(n);
}
/// An MPI return code other than MPI_SUCCESS as a distributed_error with MPI's own message.
inline void check_mpi(int code, int rank, const char* collective, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  throw distributed_error(rank, collective,
                          std::string(call) + " failed: " +
                              (length > 0 ? std::string(text, static_cast<std::size_t>(length))
                                          : "MPI error " + std::to_string(code)));
}

/// Watches the blocking collectives of one communicator from its own thread: one that has not
/// finished after `timeout` seconds means another rank died or hangs, so it prints which rank
/// waited how long in which collective and ends the whole job with MPI_Abort (the launcher then
/// stops every process). A checkpoint is never half-written by this: checkpoints are written
/// to a temporary file and renamed.
class collective_watchdog {
 public:
  collective_watchdog(double timeout_s, int rank) : timeout_(timeout_s), rank_(rank) {
    thread_ = std::thread([this] { run(); });
  }
  ~collective_watchdog() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  collective_watchdog(const collective_watchdog&) = delete;
  collective_watchdog& operator=(const collective_watchdog&) = delete;

  /// Marks one collective as in progress for its lifetime.
  class guard {
   public:
    guard(collective_watchdog* w, const char* what) noexcept : w_(w) {
      if (w_ != nullptr) {
        w_->what_.store(what);
        w_->since_.store(now_ns());
      }
    }
    ~guard() {
      if (w_ != nullptr) w_->since_.store(0);
    }
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;

   private:
    collective_watchdog* w_;
  };

 private:
  static std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  void run() {
    const auto period = std::chrono::duration<double>(std::min(0.1, timeout_ / 10));
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, period, [&] { return stop_; })) {
      const std::int64_t since = since_.load();
      if (since == 0) continue;
      const double waited = double(now_ns() - since) * 1e-9;
      if (waited < timeout_) continue;
      std::fprintf(stderr,
                   "simclr: rank %d: %s has not finished after %.1f s (collective timeout %g s): "
                   "another rank has died or hangs; aborting the whole job (MPI_Abort). The "
                   "last checkpoint is intact.\n",
                   rank_, what_.load(), waited, timeout_);
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, 70);
      std::_Exit(70);  // MPI_Abort does not return; should it, this process still ends
    }
  }

  double timeout_;
  int rank_;
  std::atomic<std::int64_t> since_{0};  ///< start of the collective in progress (0: none)
  std::atomic<const char*> what_{""};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace detail

/// Options of mpi_communicator.
struct mpi_options {
  /// A collective that has not finished after this many seconds (another rank died or hangs)
  /// ends the whole job with MPI_Abort and a message naming the rank and the collective, rather
  /// than waiting forever. 0 turns the watchdog off. The environment variable
  /// SIMCLR_COLLECTIVE_TIMEOUT (seconds) overrides it.
  double timeout_seconds = 600;
};

/// This machine's processes of the job (MPI_COMM_TYPE_SHARED): how many, and which one this
/// is. MPI must be initialised.
struct machine_share {
  int local_rank = 0;
  int local_size = 1;
};
[[nodiscard]] inline machine_share processes_on_this_machine() {
  MPI_Comm node = MPI_COMM_NULL;
  detail::check_mpi(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL,
                                        &node),
                    -1, "init", "MPI_Comm_split_type");
  machine_share share;
  MPI_Comm_rank(node, &share.local_rank);
  MPI_Comm_size(node, &share.local_size);
  MPI_Comm_free(&node);
  return share;
}

/// Sizes simclr's CPU thread pool to this process's share of the machine — its hardware
/// threads divided by the job's processes on it, at least 1 — so k processes on one machine do
/// not oversubscribe its cores. SIMCLR_NUM_THREADS, when set, wins. Returns the thread count.
inline std::size_t use_share_of_cores() {
  const char* env = std::getenv("SIMCLR_NUM_THREADS");
  if (env != nullptr && *env != '\0') return parallel::num_threads();
  const std::size_t hw = std::max(1u, std::thread::hardware_concurrency());
  const auto local = static_cast<std::size_t>(processes_on_this_machine().local_size);
  parallel::set_num_threads(std::max<std::size_t>(1, hw / local));
  return parallel::num_threads();
}

/// MPI for the lifetime of the object: MPI_Init_thread (MPI_THREAD_FUNNELED: only the thread
/// that made it calls MPI) unless MPI is initialised already, and MPI_Finalize at the end if it
/// initialised it. Make one in main before any mpi_communicator. With `share_cores` (the
/// default) it also sizes the CPU thread pool to this process's share of the machine
/// (use_share_of_cores; SIMCLR_NUM_THREADS wins).
class mpi_environment {
 public:
  mpi_environment() : mpi_environment(nullptr, nullptr) {}
  mpi_environment(int* argc, char*** argv, bool share_cores = true) {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (!initialised) {
      int provided = 0;
      detail::check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), 0, "init",
                        "MPI_Init_thread");
      owns_ = true;
    }
    if (share_cores) (void)use_share_of_cores();
  }
  mpi_environment(const mpi_environment&) = delete;
  mpi_environment& operator=(const mpi_environment&) = delete;
  ~mpi_environment() {
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (owns_ && !finalised) MPI_Finalize();
  }

 private:
  bool owns_ = false;
};

/// A communicator over a duplicate of an MPI communicator (MPI_COMM_WORLD by default), with
/// errors returned rather than fatal: each failing call becomes a distributed_error naming this
/// rank, the collective and MPI's message. A collective still waiting after the timeout
/// (mpi_options; 10 minutes by default) ends the whole job (detail::collective_watchdog). Sums are MPI_SUM (the engine's order: the same for
/// the same group size, which is what determinism needs). Host memory; copy device tensors to
/// the host first (the NCCL communicator keeps them on the device).
class mpi_communicator {
 public:
  explicit mpi_communicator(MPI_Comm parent = MPI_COMM_WORLD, const mpi_options& o = {}) {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (!initialised)
      throw error("simclr: mpi_communicator: MPI is not initialised (make an "
                  "simclr::distributed::mpi_environment in main first)");
    MPI_Comm dup = MPI_COMM_NULL;
    detail::check_mpi(MPI_Comm_dup(parent, &dup), -1, "init", "MPI_Comm_dup");
    comm_.reset(new MPI_Comm(dup));
    MPI_Comm_set_errhandler(*comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(*comm_, &rank_);
    MPI_Comm_size(*comm_, &size_);
    timeout_ = detail::collective_timeout(o.timeout_seconds);
    if (!(o.timeout_seconds >= 0))
      throw value_error("simclr: mpi_communicator: timeout_seconds is " +
                        std::to_string(o.timeout_seconds) + ", expected ≥ 0 (0: no watchdog)");
    if (timeout_ > 0 && size_ > 1)
      watchdog_ = std::make_unique<detail::collective_watchdog>(timeout_, rank_);
  }
  explicit mpi_communicator(const mpi_options& o) : mpi_communicator(MPI_COMM_WORLD, o) {}

  /// The subgroup of the ranks that pass the same `color` (MPI_Comm_split, ranks in their
  /// order here), with this communicator's timeout. Every rank must call it.
  [[nodiscard]] mpi_communicator split(int color) const {
    MPI_Comm sub = MPI_COMM_NULL;
    detail::check_mpi(MPI_Comm_split(*comm_, color, rank_, &sub), rank_, "split", "MPI_Comm_split");
    return mpi_communicator(adopt{}, sub, timeout_);
  }

  /// The collective timeout in force (seconds; 0: none).
  [[nodiscard]] double timeout_seconds() const noexcept { return timeout_; }

  [[nodiscard]] int rank() const noexcept { return rank_; }
  [[nodiscard]] int size() const noexcept { return size_; }
  [[nodiscard]] MPI_Comm native() const noexcept { return *comm_; }

  /// Whether the MPI library reads and writes CUDA device memory itself (OpenMPI built
  /// CUDA-aware: MPIX_Query_cuda_support). When it does, staged_communicator<…, cuda_t> hands
  /// device buffers straight to MPI instead of staging them (<simclr/distributed/staged.hpp>).
  /// Debian's OpenMPI and MPICH: false.
  [[nodiscard]] static bool reads_cuda_memory() noexcept {
#if defined(MPIX_CUDA_AWARE_SUPPORT) && MPIX_CUDA_AWARE_SUPPORT
    return MPIX_Query_cuda_support() == 1;
#else
    return false;
#endif
  }

  template <class T>
  void all_reduce_sum(std::span<T> x) {
    const detail::collective_watchdog::guard g(watchdog_.get(), "all_reduce_sum");
    detail::check_mpi(MPI_Allreduce(MPI_IN_PLACE, x.data(), detail::mpi_count(x.size(), "all_reduce_sum"),
                                    detail::mpi_type<T>(), MPI_SUM, *comm_),
                      rank_, "all_reduce_sum", "MPI_Allreduce");
  }
  template <class T>
  void all_gather(std::span<const T> send, std::span<T> recv) {
    detail::check_gather_sizes(send.size(), recv.size(), size_, "all_gather");
    (void)detail::mpi_count(recv.size(), "all_gather");
    const detail::collective_watchdog::guard g(watchdog_.get(), "all_gather");
    detail::check_mpi(MPI_Allgather(send.data(), detail::mpi_count(send.size(), "all_gather"),
                                    detail::mpi_type<T>(), recv.data(),
                                    static_cast<int>(send.size()), detail::mpi_type<T>(), *comm_),
                      rank_, "all_gather", "MPI_Allgather");
  }
  template <class T>
  void reduce_scatter_sum(std::span<const T> send, std::span<T> recv) {
    detail::check_gather_sizes(recv.size(), send.size(), size_, "reduce_scatter_sum");
    (void)detail::mpi_count(send.size(), "reduce_scatter_sum");
    const detail::collective_watchdog::guard g(watchdog_.get(), "reduce_scatter_sum");
    detail::check_mpi(MPI_Reduce_scatter_block(send.data(), recv.data(),
                                               static_cast<int>(recv.size()),
                                               detail::mpi_type<T>(), MPI_SUM, *comm_),
                      rank_, "reduce_scatter_sum", "MPI_Reduce_scatter_block");
  }
  template <class T>
  void broadcast(std::span<T> x, int root) {
    detail::check_root(root, size_, "broadcast");
    const detail::collective_watchdog::guard g(watchdog_.get(), "broadcast");
    detail::check_mpi(MPI_Bcast(x.data(), detail::mpi_count(x.size(), "broadcast"),
                                detail::mpi_type<T>(), root, *comm_),
                      rank_, "broadcast", "MPI_Bcast");
  }
  void barrier() {
    const detail::collective_watchdog::guard g(watchdog_.get(), "barrier");
    detail::check_mpi(MPI_Barrier(*comm_), rank_, "barrier", "MPI_Barrier");
  }

  /// A started MPI_Iallreduce; wait() completes it (and is called by the destructor, so a
  /// request is never left behind).
  class pending {
   public:
    pending(MPI_Request r, int rank, detail::collective_watchdog* w)
        : request_(r), rank_(rank), watchdog_(w) {}
    pending(pending&& o) noexcept : request_(o.request_), rank_(o.rank_), watchdog_(o.watchdog_) {
      o.request_ = MPI_REQUEST_NULL;
    }
    pending(const pending&) = delete;
    pending& operator=(const pending&) = delete;
    pending& operator=(pending&&) = delete;
    ~pending() {
      if (request_ == MPI_REQUEST_NULL) return;
      const detail::collective_watchdog::guard g(watchdog_, "all_reduce_sum_async (wait)");
      MPI_Wait(&request_, MPI_STATUS_IGNORE);
    }
    void wait() {
      if (request_ == MPI_REQUEST_NULL) return;
      const detail::collective_watchdog::guard g(watchdog_, "all_reduce_sum_async (wait)");
      detail::check_mpi(MPI_Wait(&request_, MPI_STATUS_IGNORE), rank_, "all_reduce_sum_async",
                        "MPI_Wait");
    }

   private:
    MPI_Request request_;
    int rank_;
    detail::collective_watchdog* watchdog_;
  };
  template <class T>
  [[nodiscard]] pending all_reduce_sum_async(std::span<T> x) {
    MPI_Request r = MPI_REQUEST_NULL;
    detail::check_mpi(MPI_Iallreduce(MPI_IN_PLACE, x.data(),
                                     detail::mpi_count(x.size(), "all_reduce_sum_async"),
                                     detail::mpi_type<T>(), MPI_SUM, *comm_, &r),
                      rank_, "all_reduce_sum_async", "MPI_Iallreduce");
    return {r, rank_, watchdog_.get()};
  }

 private:
  struct adopt {};
  mpi_communicator(adopt, MPI_Comm c, double timeout) : comm_(new MPI_Comm(c)), timeout_(timeout) {
    MPI_Comm_set_errhandler(*comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(*comm_, &rank_);
    MPI_Comm_size(*comm_, &size_);
    if (timeout_ > 0 && size_ > 1)
      watchdog_ = std::make_unique<detail::collective_watchdog>(timeout_, rank_);
  }

  struct comm_free {
    void operator()(MPI_Comm* c) const noexcept {
      int finalised = 0;
      MPI_Finalized(&finalised);
      if (!finalised && *c != MPI_COMM_NULL) MPI_Comm_free(c);
      delete c;
    }
  };
  std::unique_ptr<MPI_Comm, comm_free> comm_;
  int rank_ = 0, size_ = 1;
  double timeout_ = 0;
  std::unique_ptr<detail::collective_watchdog> watchdog_;  ///< null: no timeout, or one rank
};

static_assert(communicator<mpi_communicator>);

}  // namespace simclr::distributed

#endif  // __has_include
