// The umbrella header brings in the whole CPU library (and no CUDA or I/O).
#include <simclr/simclr.hpp>

#include <doctest/doctest.h>

TEST_CASE("simclr.hpp: the CPU library in one include") {
  simclr::tensor<float> a(simclr::shape{2, 2}, {1, 0, 0, 1});
  simclr::random::fill_normal(a.view(), simclr::random::key(3));
  const auto b = simclr::ops::matmul(a, a, {.transpose_b = true});
  CHECK(b(0, 1) == doctest::Approx(b(1, 0)));
  CHECK(simclr::parallel::num_threads() >= 1);
  static_assert(simclr::backend<simclr::cpu_t>);
}
