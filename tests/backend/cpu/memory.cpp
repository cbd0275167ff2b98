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
