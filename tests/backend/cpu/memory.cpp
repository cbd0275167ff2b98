#include <simclr/backend/cpu/memory.hpp>

#include <cstdint>

#include <doctest/doctest.h>

TEST_CASE("memory<cpu_t>: aligned allocation, zero and copy") {
  using mem = simclr::memory<simclr::cpu_t>;
  auto* p = static_cast<float*>(mem::allocate(100 * sizeof(float)));
  auto* q = static_cast<float*>(mem::allocate(100 * sizeof(float)));
  CHECK(reinterpret_cast<std::uintptr_t>(p) % 64 == 0);
  for (int i = 0; i < 100; ++i) p[i] = static_cast<float>(i);
  mem::copy(q, p, 100 * sizeof(float));
  CHECK(q[99] == 99.f);
  mem::zero(q, 100 * sizeof(float));
  CHECK(q[99] == 0.f);
  void* empty = mem::allocate(0);  // zero-byte requests still return a unique pointer
  CHECK(empty != nullptr);
  mem::deallocate(empty, 0);
  mem::deallocate(p, 100 * sizeof(float));
  mem::deallocate(q, 100 * sizeof(float));
}

TEST_CASE("memory<cpu_t>: large freed blocks are reused, small ones are not cached") {
  using mem = simclr::memory<simclr::cpu_t>;
  mem::release_cache();
  const std::size_t big = 3 << 20;
  void* a = mem::allocate(big);
  mem::deallocate(a, big);
  CHECK(mem::cached_bytes() == big);
  void* b = mem::allocate(big);  // the same block comes back: no new pages to fault in
  CHECK(b == a);
  CHECK(mem::cached_bytes() == 0);
  mem::deallocate(b, big);
  void* small = mem::allocate(1000);
  mem::deallocate(small, 1000);
  CHECK(mem::cached_bytes() == big);
  mem::release_cache();
  CHECK(mem::cached_bytes() == 0);
}

TEST_CASE("thread_scratch: per owner and slot, from a cache line, kept while large enough") {
  using simclr::detail::align_to_line;
  using simclr::detail::thread_scratch;
  struct owner_a {};
  struct owner_b {};
  float* a0 = thread_scratch<float, owner_a>(100, 0);
  float* a1 = thread_scratch<float, owner_a>(100, 1);
  float* b0 = thread_scratch<float, owner_b>(100, 0);
  for (float* p : {a0, a1, b0}) CHECK(reinterpret_cast<std::uintptr_t>(p) % 64 == 0);
  CHECK(a0 != a1);
  CHECK(a0 != b0);
  a0[99] = 7.f;
  CHECK(thread_scratch<float, owner_a>(50, 0) == a0);  // smaller: the same buffer, kept
  CHECK(a0[99] == 7.f);
  float* grown = thread_scratch<float, owner_a>(100000, 0);
  CHECK(reinterpret_cast<std::uintptr_t>(grown) % 64 == 0);
  grown[99999] = 1.f;  // within the buffer (ASan)
  double d[24];
  for (int shift = 0; shift < 8; ++shift) {
    double* p = align_to_line(d + shift);
    CHECK(reinterpret_cast<std::uintptr_t>(p) % 64 == 0);
    CHECK(p >= d + shift);
    CHECK(p < d + shift + 8);
  }
}
