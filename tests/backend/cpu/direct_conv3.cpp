// The direct 3 × 3 stride-1 convolution on the CPU (simclr/nn/cpu/direct_conv3.hpp), through
// nn::conv2d: where it applies, and its forward and input gradient against the paths before it
// on the fmnist-r18w16 shapes. (Bits across paths and thread counts, floats against doubles,
// every block size and padding: tests/nn/conv2d.cpp; moments and the fused add:
// tests/nn/fusion.cpp.)
#include <simclr/nn/cpu/direct_conv3.hpp>

#include <utility>

#include <doctest/doctest.h>

#include <simclr/backend/cpu/isa.hpp>

#include "support/layer_check.hpp"

using namespace simclr;

TEST_CASE("direct_conv3: where it applies") {
  using nn::direct_conv3;
  const auto g = test::square_window(4, 16, 28, 3, 1, 1);
  CHECK(direct_conv3::applies(g, 16, cpu_isa::avx512));
  CHECK(direct_conv3::applies(g, 48, cpu_isa::avx2));
  CHECK_FALSE(direct_conv3::applies(g, 16, cpu_isa::generic));
  CHECK_FALSE(direct_conv3::applies(g, 24, cpu_isa::avx512));  // not whole 16-channel vectors
  CHECK_FALSE(direct_conv3::applies(g, 64, cpu_isa::avx512));  // the packed product's
  CHECK_FALSE(direct_conv3::applies(test::square_window(4, 1, 28, 3, 1, 1), 16, cpu_isa::avx512));
  CHECK_FALSE(direct_conv3::applies(test::square_window(4, 16, 28, 3, 2, 1), 16, cpu_isa::avx512));
  CHECK_FALSE(direct_conv3::applies(test::square_window(4, 16, 28, 5, 1, 2), 16, cpu_isa::avx512));
  CHECK(direct_conv3::applies(test::square_window(4, 16, 28, 3, 1, 2), 16, cpu_isa::avx512));
  CHECK_FALSE(direct_conv3::applies(test::square_window(4, 16, 28, 3, 1, 3), 16, cpu_isa::avx512));
}

TEST_CASE("direct_conv3: the paths before it within rounding on fmnist-r18w16's shapes") {
  const auto check = [](cpu_isa isa, const nn::conv2d_options& o, index_t h) {
    CAPTURE(to_string(isa));
    CAPTURE(o.in_channels);
    const auto direct = test::seeded_conv(o, 5, h);
    const auto before = test::seeded_conv(o, 5, h, "SIMCLR_CONV_DIRECT");
    CHECK(test::scaled_error(direct.y, before.y) < 1e-5);
    CHECK(test::scaled_error(direct.dx, before.dx) < 1e-5);
    CHECK(test::scaled_error(direct.y, before.y) > 0);  // two summation orders: both ran
    CHECK(test::scaled_error(direct.dx, before.dx) > 0);
  };
  test::on_vector_paths({std::pair{nn::conv2d_options{16, 16, 3, 1, 1}, 28},
                         std::pair{nn::conv2d_options{32, 32, 3, 1, 1}, 14}},
                        check);
}
