// The direct input gradient on the CPU (simclr/nn/cpu/direct_input_grad.hpp), through
// nn::conv2d: where it applies, and against Wᵀ·dy + col2im on fmnist-r18w16's stride-2 shapes.
// (Bits across paths and thread counts, floats against doubles, every block size:
// tests/nn/conv2d.cpp; the shortcut's add: tests/nn/fusion.cpp.)
#include <simclr/nn/cpu/direct_input_grad.hpp>

#include <utility>

#include <doctest/doctest.h>

#include <simclr/backend/cpu/isa.hpp>

#include "support/layer_check.hpp"

using namespace simclr;

TEST_CASE("direct_input_grad: where it applies") {
  using nn::direct_input_grad;
  const auto s2 = test::square_window(4, 16, 28, 3, 2, 1);
  CHECK(direct_input_grad::applies(s2, 32, cpu_isa::avx512));
  CHECK(direct_input_grad::applies(s2, 32, cpu_isa::avx2));
  CHECK_FALSE(direct_input_grad::applies(s2, 32, cpu_isa::generic));
  CHECK_FALSE(direct_input_grad::applies(s2, 4, cpu_isa::avx512));  // too few sums per block
  CHECK_FALSE(direct_input_grad::applies(test::square_window(4, 12, 28, 3, 2, 1), 32,
                                         cpu_isa::avx512));  // not whole channel vectors
  // 1 × 1: one pair per 16 channels, at least 3 needed.
  CHECK_FALSE(
      direct_input_grad::applies(test::square_window(4, 32, 14, 1, 2, 0), 64, cpu_isa::avx512));
  CHECK(direct_input_grad::applies(test::square_window(4, 64, 7, 1, 2, 0), 128, cpu_isa::avx512));
  // Stride 1: below max_stride1_channels only.
  CHECK(direct_input_grad::applies(test::square_window(4, 32, 14, 3, 1, 1), 32, cpu_isa::avx2));
  CHECK_FALSE(
      direct_input_grad::applies(test::square_window(4, 64, 7, 3, 1, 1), 64, cpu_isa::avx512));
}

TEST_CASE("direct_input_grad: col2im's within rounding on fmnist-r18w16's stride-2 shapes") {
  const auto check = [](cpu_isa isa, const nn::conv2d_options& o, index_t h) {
    CAPTURE(to_string(isa));
    CAPTURE(o.in_channels);
    const auto direct = test::seeded_conv(o, 5, h);
    const auto before = test::seeded_conv(o, 5, h, "SIMCLR_CONV_DIRECT");
    CHECK(test::scaled_error(direct.dx, before.dx) < 1e-5);
    // With 32+ channels (or a 1 × 1 window) every dx element adds its contributions in col2im's
    // order, so the bits agree; with 16, taps 0 and 2 share a block and two positions'
    // contributions to a pixel come in the other order: both paths ran.
    if (o.in_channels == 16) CHECK(test::scaled_error(direct.dx, before.dx) > 0);
  };
  test::on_vector_paths({std::pair{nn::conv2d_options{16, 32, 3, 2, 1}, 28},
                         std::pair{nn::conv2d_options{32, 64, 3, 2, 1}, 14},
                         std::pair{nn::conv2d_options{64, 128, 1, 2, 0}, 7}},
                        check);
}
