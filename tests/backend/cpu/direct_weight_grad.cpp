// The direct weight gradient of float convolutions on the CPU (simclr/nn/cpu/
// direct_weight_grad.hpp), through nn::conv2d: where it applies, and against im2col + GEMM on
// the fmnist-r18w16 shapes it was made for. (Bits across paths and thread counts, and floats
// against doubles: tests/nn/conv2d.cpp.)
#include <simclr/nn/cpu/direct_weight_grad.hpp>

#include <cstdlib>
#include <utility>

#include <doctest/doctest.h>

#include <simclr/backend/cpu/isa.hpp>

#include "support/layer_check.hpp"

using namespace simclr;

TEST_CASE("direct weight gradient: where it applies") {
  using nn::direct_weight_grad;
  const auto g = test::square_window(4, 16, 28, 3, 1, 1);
  CHECK(direct_weight_grad::applies(g, 16, cpu_isa::avx512));
  CHECK(direct_weight_grad::applies(g, 16, cpu_isa::avx2));
  CHECK_FALSE(direct_weight_grad::applies(g, 16, cpu_isa::generic));
  CHECK_FALSE(direct_weight_grad::applies(g, 12, cpu_isa::avx512));  // outputs not a block
  CHECK_FALSE(
      direct_weight_grad::applies(test::square_window(4, 8, 28, 3, 1, 1), 16, cpu_isa::avx2));
  CHECK_FALSE(
      direct_weight_grad::applies(test::square_window(4, 16, 28, 1, 2, 0), 32, cpu_isa::avx512));
  CHECK(direct_weight_grad::applies(test::square_window(4, 32, 14, 3, 2, 1), 64, cpu_isa::avx512));
  CHECK_FALSE(
      direct_weight_grad::applies(test::square_window(4, 64, 7, 3, 2, 1), 128, cpu_isa::avx512));
  CHECK_FALSE(
      direct_weight_grad::applies(test::square_window(4, 128, 16, 3, 2, 1), 256, cpu_isa::avx512));
  setenv("SIMCLR_CONV_DIRECT", "0", 1);
  CHECK_FALSE(direct_weight_grad::applies(g, 16, cpu_isa::avx512));
  unsetenv("SIMCLR_CONV_DIRECT");
}

TEST_CASE("direct weight gradient: im2col + GEMM's within rounding on fmnist-r18w16's shapes") {
  const auto check = [](cpu_isa isa, const nn::conv2d_options& o, index_t h) {
    CAPTURE(to_string(isa));
    CAPTURE(o.in_channels);
    CAPTURE(o.stride);
    const auto direct = test::seeded_conv(o, 6, h).dw;
    const auto im2col = test::seeded_conv(o, 6, h, "SIMCLR_CONV_DIRECT").dw;
    CHECK(test::scaled_error(direct, im2col) < 1e-5);
    CHECK(test::scaled_error(direct, im2col) > 0);  // two summation orders: two algorithms ran
  };
  test::on_vector_paths({std::pair{nn::conv2d_options{16, 16, 3, 1, 1}, 28},
                         std::pair{nn::conv2d_options{16, 32, 3, 2, 1}, 28},
                         std::pair{nn::conv2d_options{32, 32, 3, 1, 1}, 14},
                         std::pair{nn::conv2d_options{32, 64, 3, 2, 1}, 14},
                         std::pair{nn::conv2d_options{64, 64, 3, 1, 1}, 7}},
                        check);
}
