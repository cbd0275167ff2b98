// cuBLAS GEMM through the tag-dispatched API, against the CPU backend.
#include <simclr/ops/cuda/gemm.cuh>
#include <simclr/ops/gemm.hpp>
#include <simclr/transfer.cuh>

#include <array>
#include <cmath>

#include <doctest/doctest.h>

#include <simclr/random/fill.hpp>

using namespace simclr;

namespace {
template <class T>
tensor<T> host_random(index_t r, index_t c, std::uint64_t seed) {
  tensor<T> t(shape{r, c}, uninitialized);
  random::fill_uniform<T>(t.view(), random::key(seed), T(-1), T(1));
  return t;
}
}  // namespace

TEST_CASE_TEMPLATE("cuda gemm equals cpu gemm for every transpose case", T, float, double) {
  // Tolerance: float sums of up to 300 products of values in [-1, 1] in a different order.
  const double tol = std::is_same_v<T, float> ? 1e-4 : 1e-11;
  for (const auto [m, n, k] : {std::array<index_t, 3>{7, 5, 3}, {256, 130, 300}}) {
    for (int t = 0; t < 4; ++t) {
      const ops::gemm_options opt{.transpose_a = (t & 1) != 0, .transpose_b = (t & 2) != 0,
                                  .alpha = 1.5, .beta = -0.5};
      const auto a = opt.transpose_a ? host_random<T>(k, m, 1) : host_random<T>(m, k, 1);
      const auto b = opt.transpose_b ? host_random<T>(n, k, 2) : host_random<T>(k, n, 2);
      auto c_cpu = host_random<T>(m, n, 3);
      auto c_gpu = to_device(c_cpu);
      ops::gemm(a, b, c_cpu, opt);
      ops::gemm(to_device(a), to_device(b), c_gpu, opt);
      const auto c_back = to_host(c_gpu);
      double worst = 0;
      for (index_t i = 0; i < c_cpu.numel(); ++i)
        worst = std::max(worst, std::abs(double(c_cpu.data()[i]) - double(c_back.data()[i])));
      CAPTURE(m);
      CAPTURE(t);
      CHECK(worst < tol);
    }
  }
}

TEST_CASE("cuda matmul returns a device tensor; bad shapes throw before launch") {
  const auto a = to_device(host_random<float>(4, 3, 5));
  const auto c = ops::matmul(a, a, {.transpose_b = true});
  static_assert(std::is_same_v<std::remove_const_t<decltype(c)>, tensor<float, cuda_t>>);
  CHECK(c.shape() == shape{4, 4});
  tensor<float, cuda_t> wrong(shape{3, 3});
  CHECK_THROWS_AS(ops::gemm(a, a, wrong, {.transpose_b = true}), shape_error);
}
