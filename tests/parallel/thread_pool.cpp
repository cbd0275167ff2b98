#include <simclr/parallel/thread_pool.hpp>

#include <atomic>
#include <cstdlib>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

using namespace simclr;

TEST_CASE("thread_pool: every chunk runs exactly once") {
  for (std::size_t threads : {1u, 2u, 3u, 8u}) {
    parallel::thread_pool pool(threads);
    CHECK(pool.size() == threads);
    std::vector<std::atomic<int>> hits(1000);
    for (int rep = 0; rep < 20; ++rep)
      pool.run_chunks(1000, [&](index_t c) { hits[static_cast<std::size_t>(c)]++; });
    for (auto& h : hits) CHECK(h.load() == 20);
  }
}

TEST_CASE("thread_pool: jobs back to back (workers awake) and after idle gaps (asleep)") {
  // Workers look for the next job awake for parallel::spin_time, then sleep: both ways in, and
  // the caller's wait for the last chunks both ways (a slow chunk outlasts the spin).
  for (std::size_t threads : {2u, 3u}) {
    parallel::thread_pool pool(threads);
    std::vector<std::atomic<int>> hits(64);
    int expected = 0;
    for (int rep = 0; rep < 200; ++rep) {
      pool.run_chunks(64, [&](index_t c) { hits[static_cast<std::size_t>(c)]++; });
      ++expected;
      if (rep % 50 == 49) {
        std::this_thread::sleep_for(parallel::spin_time * 5);
        pool.run_chunks(64, [&](index_t c) {
          if (c == 63) std::this_thread::sleep_for(parallel::spin_time * 3);
          hits[static_cast<std::size_t>(c)]++;
        });
        ++expected;
      }
    }
    for (auto& h : hits) CHECK(h.load() == expected);
  }
}

TEST_CASE("parallel_for: ranges depend on grain only and cover the range") {
  parallel::thread_pool pool(2);
  std::vector<int> owner(103, -1);
  std::atomic<int> chunks{0};
  parallel::parallel_for(
      3, 103, 10,
      [&](index_t lo, index_t hi) {
        CHECK((lo - 3) % 10 == 0);
        CHECK(hi - lo <= 10);
        for (index_t i = lo; i < hi; ++i) owner[static_cast<std::size_t>(i)] = int(lo);
        chunks++;
      },
      pool);
  CHECK(chunks.load() == 10);
  for (int i = 0; i < 3; ++i) CHECK(owner[static_cast<std::size_t>(i)] == -1);
  for (int i = 3; i < 103; ++i) CHECK(owner[static_cast<std::size_t>(i)] == 3 + (i - 3) / 10 * 10);
}

TEST_CASE("reduce: a float sum is bit-identical for any number of threads") {
  std::vector<float> x(100000);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 1.0f / float(i + 1);
  auto sum_with = [&](std::size_t threads) {
    parallel::thread_pool pool(threads);
    return parallel::reduce(
        index_t{0}, index_t(x.size()), index_t{1000}, 0.0f,
        [&](index_t lo, index_t hi) {
          float s = 0;
          for (index_t i = lo; i < hi; ++i) s += x[static_cast<std::size_t>(i)];
          return s;
        },
        [](float a, float b) { return a + b; }, pool);
  };
  const float s1 = sum_with(1);
  CHECK(s1 == sum_with(2));
  CHECK(s1 == sum_with(5));
  CHECK(std::abs(s1 - 12.0901f) < 1e-3f);  // H(100000) ≈ 12.0901
}

TEST_CASE("thread_pool: exceptions reach the caller; the pool stays usable") {
  parallel::thread_pool pool(2);
  CHECK_THROWS_WITH_AS(pool.run_chunks(100,
                                       [](index_t c) {
                                         if (c == 37) throw std::runtime_error("chunk 37 failed");
                                       }),
                       "chunk 37 failed", std::runtime_error);
  std::atomic<int> n{0};
  pool.run_chunks(50, [&](index_t) { n++; });
  CHECK(n.load() == 50);
}

TEST_CASE("thread_pool: nested parallel_for runs inline instead of deadlocking") {
  parallel::thread_pool pool(2);
  std::atomic<int> n{0};
  pool.run_chunks(4, [&](index_t) {
    parallel::parallel_for(0, 10, 1, [&](index_t lo, index_t hi) { n += int(hi - lo); }, pool);
  });
  CHECK(n.load() == 40);
}

TEST_CASE("default pool: set_num_threads and SIMCLR_NUM_THREADS validation") {
  parallel::set_num_threads(3);
  CHECK(parallel::num_threads() == 3);
  parallel::set_num_threads(2);
  CHECK(parallel::num_threads() == 2);
  CHECK_THROWS_AS(parallel::set_num_threads(0), value_error);
  ::setenv("SIMCLR_NUM_THREADS", "two", 1);
  CHECK_THROWS_WITH_AS(parallel::detail::threads_from_environment(),
                       "simclr: SIMCLR_NUM_THREADS is 'two', expected an integer in 1..1024",
                       value_error);
  ::setenv("SIMCLR_NUM_THREADS", "5", 1);
  CHECK(parallel::detail::threads_from_environment() == 5);
  // "--threads 100000" started tens of thousands of threads until the host ran out of process
  // ids; counts above max_threads are refused before a thread is started.
  ::setenv("SIMCLR_NUM_THREADS", "100000", 1);
  CHECK_THROWS_AS(parallel::detail::threads_from_environment(), value_error);
  ::unsetenv("SIMCLR_NUM_THREADS");
  CHECK_THROWS_WITH_AS(parallel::set_num_threads(100000),
                       "simclr: set_num_threads(100000): expected 1..1024 threads", value_error);
  CHECK_THROWS_WITH_AS(parallel::thread_pool(parallel::max_threads + 1),
                       "simclr: thread_pool of 1025 threads, expected 1..1024", value_error);
  CHECK(parallel::num_threads() == 2);  // unchanged by the refused calls
}
