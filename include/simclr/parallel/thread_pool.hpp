// simclr::parallel: a small persistent thread pool and deterministic parallel_for / reduce.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <vector>

#include <simclr/config.hpp>
#include <simclr/error.hpp>

namespace simclr::parallel {

/// A fixed set of worker threads that run the chunks of one job at a time; the calling thread
/// works too, so a pool of size 1 has no worker and runs everything inline.
///
/// Determinism: work is split into chunks whose boundaries depend only on the problem size and
/// the grain the caller picks, never on the number of threads. A kernel that writes each output
/// from one chunk, or reduces per chunk and combines chunks in order (`reduce` below), gives
/// bit-identical results for any pool size.
///
/// A call made from inside a job (nested parallelism) runs inline on the calling worker.
/// Concurrent jobs from different outside threads are serialised.
/// The most threads a pool may have: a count from a command line or an environment variable
/// ("--threads 100000") is refused instead of exhausting the host's process ids.
inline constexpr std::size_t max_threads = 1024;

/// How long an idle worker, and a caller waiting for the workers' last chunks, stay awake before
/// sleeping on a condition variable.
inline constexpr std::chrono::microseconds spin_time{100};

class thread_pool {
 public:
  /// `threads` is the total parallelism including the caller (1..max_threads; 0 means 1).
  /// Throws value_error above max_threads, and error (with the workers already started stopped
  /// again) when the system cannot start a thread.
  explicit thread_pool(std::size_t threads) : size_(std::max<std::size_t>(1, threads)) {
    if (size_ > max_threads)
      throw value_error("simclr: thread_pool of " + std::to_string(size_) +
                        " threads, expected 1.." + std::to_string(max_threads));
    workers_.reserve(size_ - 1);
    try {
      for (std::size_t i = 0; i + 1 < size_; ++i) workers_.emplace_back([this] { worker_loop(); });
    } catch (const std::system_error& e) {
      const std::size_t started = workers_.size();
      stop_workers();
      throw error("simclr: thread_pool: could only start " + std::to_string(started) + " of " +
                  std::to_string(size_ - 1) + " worker threads (" + e.what() + ")");
    }
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  ~thread_pool() { stop_workers(); }

  /// Total parallelism, the calling thread included.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  /// Calls `f(chunk)` once for every chunk in [0, n_chunks), spread over the pool; returns when
  /// all are done. The first exception thrown by `f` is rethrown here (remaining chunks are
  /// skipped).
  template <class F>
  void run_chunks(index_t n_chunks, F&& f) {
    if (n_chunks <= 0) return;
    if (size_ == 1 || n_chunks == 1 || inside_job()) {
      for (index_t c = 0; c < n_chunks; ++c) f(c);
      return;
    }
    std::lock_guard submit(submit_mutex_);
    job j;
    j.n_chunks = n_chunks;
    j.context = std::addressof(f);
    j.call = [](void* ctx, index_t c) { (*static_cast<std::remove_reference_t<F>*>(ctx))(c); };
    {
      std::lock_guard lock(mutex_);
      job_ = &j;
      published_.store(++generation_, std::memory_order_release);
    }
    wake_.notify_all();  // no system call when every worker is still spinning
    work_on(j);
    // The workers' last chunks usually end within microseconds: wait for them awake first.
    spin([&] {
      return j.finished.load(std::memory_order_acquire) >= j.n_chunks &&
             busy_workers_.load(std::memory_order_acquire) == 0;
    });
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return j.finished.load() >= j.n_chunks && busy_workers_.load() == 0; });
    job_ = nullptr;
    lock.unlock();
    if (j.failure) std::rethrow_exception(j.failure);
  }

 private:
  void stop_workers() noexcept {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      stopping_flag_.store(true, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }
  /// Waits awake until `ready()` or spin_time has passed (then the caller sleeps on a condition
  /// variable). Not at all when the pool has more threads than the machine has hardware
  /// threads: spinning would take the core from the thread being waited for.
  template <class Ready>
  void spin(Ready&& ready) const {
    if (!spin_) return;
    auto start = std::chrono::steady_clock::now();
    for (unsigned i = 1;; ++i) {
      if (ready()) return;
      cpu_relax();
      if (i % 64 == 0 && std::chrono::steady_clock::now() - start > spin_time) return;
    }
  }
  static void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }
  struct job {
    index_t n_chunks = 0;
    void* context = nullptr;
    void (*call)(void*, index_t) = nullptr;
    std::atomic<index_t> next{0};
    std::atomic<index_t> finished{0};  // written under mutex_, read by the caller's spin
    std::exception_ptr failure;  // guarded by mutex_
  };

  static bool& inside_job() noexcept {
    thread_local bool inside = false;
    return inside;
  }

  void work_on(job& j) {
    const bool was_inside = inside_job();
    inside_job() = true;
    index_t done_here = 0;
    std::exception_ptr failure;
    for (index_t c = j.next.fetch_add(1); c < j.n_chunks; c = j.next.fetch_add(1)) {
      if (!failure) {
        try {
          j.call(j.context, c);
        } catch (...) {
          failure = std::current_exception();
          j.next.store(j.n_chunks);  // stop handing out new chunks
        }
      }
      ++done_here;
    }
    inside_job() = was_inside;
    std::lock_guard lock(mutex_);
    if (failure && !j.failure) j.failure = failure;
    // Chunks skipped after a failure still count as finished, so the caller can return.
    const index_t finished = failure || j.failure ? j.n_chunks : j.finished.load() + done_here;
    j.finished.store(finished, std::memory_order_release);
    if (finished >= j.n_chunks) done_.notify_all();
  }

  void worker_loop() {
    std::uint64_t seen = 0;
    std::unique_lock lock(mutex_);
    for (;;) {
      // Kernels run parallel loops back to back: look for the next job awake for a while
      // before sleeping on the condition variable (a wake-up costs a system call and a
      // context switch on each side).
      lock.unlock();
      spin([&] {
        return published_.load(std::memory_order_acquire) != seen ||
               stopping_flag_.load(std::memory_order_acquire);
      });
      lock.lock();
      wake_.wait(lock, [&] { return stopping_ || (job_ != nullptr && generation_ != seen); });
      if (stopping_) return;
      seen = generation_;
      job* j = job_;
      ++busy_workers_;
      lock.unlock();
      work_on(*j);
      lock.lock();
      if (--busy_workers_ == 0) done_.notify_all();
    }
  }

  std::size_t size_;
  bool spin_ = size_ <= std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> workers_;
  std::mutex submit_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  job* job_ = nullptr;
  std::uint64_t generation_ = 0;
  std::atomic<std::uint64_t> published_{0};  // generation_, for the spinning workers
  std::atomic<int> busy_workers_{0};         // written under mutex_
  bool stopping_ = false;
  std::atomic<bool> stopping_flag_{false};   // stopping_, for the spinning workers
};

namespace detail {
inline std::size_t threads_from_environment() {
  if (const char* s = std::getenv("SIMCLR_NUM_THREADS"); s != nullptr && *s != '\0') {
    char* end = nullptr;
    const long n = std::strtol(s, &end, 10);
    if (end != nullptr && *end == '\0' && n >= 1 && static_cast<unsigned long>(n) <= max_threads)
      return static_cast<std::size_t>(n);
    throw value_error(std::string("simclr: SIMCLR_NUM_THREADS is '") + s +
                      "', expected an integer in 1.." + std::to_string(max_threads));
  }
  return std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, max_threads);
}
inline std::unique_ptr<thread_pool>& default_pool_slot() {
  static std::unique_ptr<thread_pool> pool;
  return pool;
}
inline std::mutex& default_pool_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace detail

/// The process-wide pool CPU kernels use. Sized by SIMCLR_NUM_THREADS, else by the number of
/// hardware threads; change it with set_num_threads.
inline thread_pool& default_pool() {
  std::lock_guard lock(detail::default_pool_mutex());
  auto& slot = detail::default_pool_slot();
  if (!slot) slot = std::make_unique<thread_pool>(detail::threads_from_environment());
  return *slot;
}

/// Replaces the default pool by one of `n` threads (≥ 1). Not to be called while a kernel runs.
inline void set_num_threads(std::size_t n) {
  if (n == 0 || n > max_threads)
    throw value_error("simclr: set_num_threads(" + std::to_string(n) + "): expected 1.." +
                      std::to_string(max_threads) + " threads");
  std::lock_guard lock(detail::default_pool_mutex());
  auto& slot = detail::default_pool_slot();
  if (!slot || slot->size() != n) {
    slot.reset();
    slot = std::make_unique<thread_pool>(n);
  }
}

/// Parallelism of the default pool.
inline std::size_t num_threads() { return default_pool().size(); }

/// Calls `f(lo, hi)` on the ranges [begin + k·grain, min(end, begin + (k+1)·grain)) for every k,
/// in parallel on `pool`. The ranges depend on (begin, end, grain) only.
template <class F>
void parallel_for(index_t begin, index_t end, index_t grain, F&& f,
                  thread_pool& pool = default_pool()) {
  if (end <= begin) return;
  grain = std::max<index_t>(1, grain);
  const index_t n_chunks = (end - begin + grain - 1) / grain;
  pool.run_chunks(n_chunks, [&](index_t c) {
    const index_t lo = begin + c * grain;
    f(lo, std::min(end, lo + grain));
  });
}

/// Deterministic parallel reduction: `map(lo, hi)` gives one partial result per chunk of `grain`
/// indices, and the partials are combined left to right with `combine`, starting from `init`.
/// The result is bit-identical for any number of threads.
template <class R, class Map, class Combine>
[[nodiscard]] R reduce(index_t begin, index_t end, index_t grain, R init, Map&& map,
                       Combine&& combine, thread_pool& pool = default_pool()) {
  if (end <= begin) return init;
  grain = std::max<index_t>(1, grain);
  const index_t n_chunks = (end - begin + grain - 1) / grain;
  std::vector<R> partial(static_cast<std::size_t>(n_chunks), init);
  pool.run_chunks(n_chunks, [&](index_t c) {
    const index_t lo = begin + c * grain;
    partial[static_cast<std::size_t>(c)] = map(lo, std::min(end, lo + grain));
  });
  R result = init;
  for (auto& p : partial) result = combine(result, p);
  return result;
}

}  // namespace simclr::parallel
