#include <simclr/ops/cpu/gemm.hpp>

#include <doctest/doctest.h>

#include "support/naive.hpp"

TEST_CASE("gemm_kernel<cpu_t>: row blocks depend on the problem, never on threads") {
  using k = simclr::ops::gemm_kernel<simclr::cpu_t>;
  CHECK(k::row_block(8, 8, 8) == 8);           // small: one block
  CHECK(k::row_block(1024, 1024, 1024) == 64);  // large: 16 blocks
  CHECK(k::row_block(100, 2000, 2000) == 32);
}

TEST_CASE("gemm_kernel<cpu_t>: leading dimensions larger than the width") {
  // A 3×2 matrix stored with row stride 5, B 2×2 with stride 3, C 3×2 with stride 4.
  std::vector<double> a(15, 99.0), b(6, 99.0), c(12, 77.0);
  const double av[3][2] = {{1, 2}, {3, 4}, {5, 6}};
  const double bv[2][2] = {{1, -1}, {2, 0.5}};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 2; ++j) a[i * 5 + j] = av[i][j];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) b[i * 3 + j] = bv[i][j];
  simclr::ops::gemm_kernel<simclr::cpu_t>::run(false, false, 3, 2, 2, 1.0, a.data(), 5, b.data(),
                                               3, 0.0, c.data(), 4);
  CHECK(c[0] == 5.0);
  CHECK(c[1] == 0.0);
  CHECK(c[2 * 4 + 0] == 17.0);
  CHECK(c[2 * 4 + 1] == -2.0);
  CHECK(c[2] == 77.0);  // padding untouched
}
