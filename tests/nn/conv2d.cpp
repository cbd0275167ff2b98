#include <simclr/nn/conv2d.hpp>

#include <cmath>
#include <cstring>
#include <tuple>
#include <utility>

#include <doctest/doctest.h>

#include <simclr/backend/cpu/isa.hpp>
#include <simclr/parallel/thread_pool.hpp>

#include "support/layer_check.hpp"

using namespace simclr;

namespace {
/// Direct 7-loop convolution, the definition.
tensor<double> reference_conv(const tensor<double>& x, const tensor<double>& w, index_t stride,
                              index_t pad) {
  const index_t n = x.extent(0), c = x.extent(1), h = x.extent(2), wd = x.extent(3);
  const index_t co = w.extent(0), k = w.extent(2);
  const index_t ho = (h + 2 * pad - k) / stride + 1, wo = (wd + 2 * pad - k) / stride + 1;
  tensor<double> y(shape{n, co, ho, wo});
  for (index_t i = 0; i < n; ++i)
    for (index_t o = 0; o < co; ++o)
      for (index_t oy = 0; oy < ho; ++oy)
        for (index_t ox = 0; ox < wo; ++ox) {
          double s = 0;
          for (index_t ci = 0; ci < c; ++ci)
            for (index_t ky = 0; ky < k; ++ky)
              for (index_t kx = 0; kx < k; ++kx) {
                const index_t iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                if (iy >= 0 && iy < h && ix >= 0 && ix < wd)
                  s += x(i, ci, iy, ix) * w(o, ci, ky, kx);
              }
          y(i, o, oy, ox) = s;
        }
  return y;
}
/// A convolution test case: batch, channels, size, output channels, kernel, stride, padding.
struct conv_case {
  index_t n, c, h, co, k, s, p;
  bool bias = false;
};
}  // namespace

TEST_CASE("conv2d: a hand-computed 2x2 convolution") {
  nn::conv2d<double> conv({.in_channels = 1, .out_channels = 1, .kernel_size = 2});
  conv.weight().fill(1.0);
  const tensor<double> x(shape{1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const auto y = conv.forward(x, mode::eval);
  CHECK(y.shape() == shape{1, 1, 2, 2});
  CHECK(y(0, 0, 0, 0) == 12.0);
  CHECK(y(0, 0, 0, 1) == 16.0);
  CHECK(y(0, 0, 1, 0) == 24.0);
  CHECK(y(0, 0, 1, 1) == 28.0);
}

TEST_CASE("conv2d: matches the direct definition for strides, padding and small maps") {
  for (const conv_case g : {conv_case{2, 3, 7, 4, 3, 1, 1}, conv_case{3, 2, 8, 5, 3, 2, 1},
                            conv_case{5, 4, 4, 3, 1, 1, 0}, conv_case{4, 3, 6, 2, 1, 2, 0},
                            conv_case{2, 1, 9, 3, 7, 2, 3}, conv_case{40, 2, 2, 3, 3, 1, 1}}) {
    nn::conv2d<double> conv({g.c, g.co, g.k, g.s, g.p});
    conv.reset_parameters(random::key(3));
    const auto x = test::randn(shape{g.n, g.c, g.h, g.h}, 5);
    const auto y = conv.forward(x, mode::eval);
    const auto expected = reference_conv(x, conv.weight(), g.s, g.p);
    REQUIRE(y.shape() == expected.shape());
    double worst = 0;
    for (index_t i = 0; i < y.numel(); ++i)
      worst = std::max(worst, std::abs(y.data()[i] - expected.data()[i]));
    CAPTURE(g.k);
    CAPTURE(g.s);
    CHECK(worst < 1e-12);
  }
}

TEST_CASE("conv2d: gradients by finite differences") {
  for (const conv_case g :
       {conv_case{2, 2, 5, 3, 3, 1, 1, false}, conv_case{2, 3, 6, 2, 3, 2, 1, true},
        conv_case{3, 2, 3, 2, 1, 1, 0, true}, conv_case{2, 2, 5, 2, 1, 2, 0, false},
        conv_case{30, 1, 2, 2, 3, 1, 1, false}}) {
    nn::conv2d<double> conv({g.c, g.co, g.k, g.s, g.p, g.bias});
    conv.reset_parameters(random::key(11));
    auto x = test::randn(shape{g.n, g.c, g.h, g.h}, 12);
    const auto r = test::check_layer(conv, x);
    CHECK_MESSAGE(r.passed, r.message());
  }
}

TEST_CASE("conv2d: the float kernel agrees with the double one (y, dx, dw, db)") {
  // Covers the float register-tile path: stride 1 (dx as a convolution), stride 2, 1×1,
  // several image groups and weight-gradient chunks, the weight gradient by channel blocks
  // (the last config), row and column remainders, a bias.
  for (const conv_case g :
       {conv_case{70, 8, 4, 20, 3, 1, 1, false}, conv_case{3, 5, 28, 16, 3, 1, 1, true},
        conv_case{9, 6, 13, 33, 3, 2, 1, false}, conv_case{11, 7, 10, 12, 1, 2, 0, true},
        conv_case{4, 3, 9, 5, 5, 1, 1, false}, conv_case{600, 2, 2, 9, 1, 1, 0, false},
        conv_case{3, 40, 4, 24, 3, 1, 1, true}, conv_case{2, 40, 12, 19, 3, 1, 1, false},
        conv_case{2, 12, 16, 9, 5, 1, 2, true}, conv_case{40, 16, 10, 8, 3, 1, 1, false},
        conv_case{33, 32, 12, 16, 3, 2, 1, true}, conv_case{3, 32, 9, 8, 5, 1, 2, false},
        conv_case{3, 64, 8, 16, 1, 2, 0, false}, conv_case{40, 16, 10, 16, 3, 1, 1, false},
        conv_case{3, 8, 9, 32, 5, 1, 2, false}, conv_case{5, 8, 11, 48, 3, 1, 1, false},
        conv_case{4, 16, 6, 32, 3, 1, 0, false}}) {
    nn::conv2d<float> cf({g.c, g.co, g.k, g.s, g.p, g.bias});
    nn::conv2d<double> cd({g.c, g.co, g.k, g.s, g.p, g.bias});
    cf.reset_parameters(random::key(7));
    for (index_t i = 0; i < cf.weight().numel(); ++i) cd.weight().data()[i] = cf.weight().data()[i];
    if (g.bias)
      for (index_t i = 0; i < g.co; ++i)
        cd.bias().data()[i] = cf.bias().data()[i] = 0.25f * float(i);
    const auto xd = test::randn(shape{g.n, g.c, g.h, g.h}, 8);
    tensor<float> xf(xd.shape(), uninitialized);
    for (index_t i = 0; i < xd.numel(); ++i) xf.data()[i] = static_cast<float>(xd.data()[i]);
    const auto yf = cf.forward(xf, mode::train);
    const auto yd = cd.forward(xd, mode::train);
    const auto dyd = test::randn(yd.shape(), 9);
    tensor<float> dyf(dyd.shape(), uninitialized);
    for (index_t i = 0; i < dyd.numel(); ++i) dyf.data()[i] = static_cast<float>(dyd.data()[i]);
    const auto dxf = cf.backward(dyf);
    const auto dxd = cd.backward(dyd);
    auto worst = [](const tensor<float>& a, const tensor<double>& b) {
      double err = 0, scale = 1e-30;
      for (index_t i = 0; i < b.numel(); ++i) {
        err = std::max(err, std::abs(static_cast<double>(a.data()[i]) - b.data()[i]));
        scale = std::max(scale, std::abs(b.data()[i]));
      }
      return err / scale;
    };
    CAPTURE(g.n);
    CAPTURE(g.k);
    CAPTURE(g.s);
    CHECK(worst(yf, yd) < 1e-5);
    CHECK(worst(dxf, dxd) < 1e-5);
    CHECK(worst(cf.weight_grad(), cd.weight_grad()) < 1e-5);
    if (g.bias) CHECK(worst(cf.bias_grad(), cd.bias_grad()) < 1e-5);
  }
}

TEST_CASE("conv2d: every CPU path agrees: avx2 = avx512 bit for bit, generic within rounding") {
  // The direct weight and input gradients (16, 32 and 64 input channels, stride 1 and 2, 3×3,
  // 5×5, 7×7, 2×2 and 1×1 windows: blocks of 3, 2 and 1 (tap, channel vector) pairs and of 1
  // to 8 positions, several image chunks); the direct stride-1 3×3 forward and input gradient
  // (16, 32 and 48 channels: 24 × 1 and 12 × 2 blocks; padding 0, 1 and 2) and the scattered
  // forward of other windows (5×5).
  // Masked im2col (8 and 16 lanes, rows that end mid-vector), both weight-gradient orders,
  // gathered im2col (stride 2 and 3, 1×1 stride 2, a narrower output), the register
  // transposes of dy. The packed convolution (64+ output channels): vectors of positions that
  // run into the next image (7×7 planes), k blocks (K = 360) and row blocks (130 channels),
  // tile row remainders, a 7×7 window; 3×3 planes are packed on avx2 only (8 lanes fit, 16 do
  // not), so avx2 = avx512 compares the packed product with im2col + GEMM bit for bit; 2×2
  // planes and a 9×9 window are never packed.
  for (const conv_case g :
       {conv_case{70, 8, 4, 20, 3, 1, 1, false},  conv_case{3, 5, 28, 16, 3, 1, 1, true},
        conv_case{9, 6, 13, 33, 3, 2, 1, false},  conv_case{11, 7, 10, 12, 1, 2, 0, true},
        conv_case{4, 3, 9, 5, 5, 1, 1, false},    conv_case{2, 40, 12, 19, 3, 1, 1, false},
        conv_case{5, 3, 7, 17, 3, 1, 1, true},    conv_case{5, 6, 7, 70, 3, 1, 1, true},
        conv_case{3, 40, 9, 130, 3, 1, 1, false}, conv_case{4, 3, 3, 64, 3, 1, 1, false},
        conv_case{3, 2, 2, 64, 3, 1, 1, false},   conv_case{2, 3, 8, 64, 7, 1, 3, false},
        conv_case{2, 2, 10, 64, 9, 1, 4, false},  conv_case{2, 4, 9, 70, 5, 3, 2, false},
        conv_case{3, 4, 8, 66, 1, 2, 0, false},   conv_case{2, 3, 10, 8, 3, 1, 0, true},
        conv_case{5, 16, 9, 8, 3, 1, 1, false},   conv_case{4, 32, 12, 16, 3, 2, 1, true},
        conv_case{2, 32, 9, 8, 5, 1, 2, false},   conv_case{3, 16, 8, 24, 7, 1, 3, false},
        conv_case{35, 16, 8, 8, 2, 1, 0, false},  conv_case{3, 64, 8, 16, 1, 2, 0, false},
        conv_case{5, 16, 9, 16, 3, 1, 1, false},  conv_case{3, 8, 10, 32, 3, 1, 1, false},
        conv_case{2, 12, 7, 16, 5, 1, 2, false},  conv_case{2, 8, 6, 48, 3, 1, 1, false},
        conv_case{3, 16, 8, 16, 3, 1, 0, false},  conv_case{2, 16, 5, 16, 3, 1, 2, false}}) {
    auto run = [&g](cpu_isa isa) {
      cpu_isa_scope path(isa);
      nn::conv2d<float> conv({g.c, g.co, g.k, g.s, g.p, g.bias});
      conv.reset_parameters(random::key(11));
      tensor<float> x(shape{g.n, g.c, g.h, g.h}, uninitialized);
      random::fill_normal(x.view(), random::key(12));
      auto y = conv.forward(x, mode::train);
      tensor<float> dy(y.shape(), uninitialized);
      random::fill_normal(dy.view(), random::key(13));
      auto dx = conv.backward(dy);
      return std::make_tuple(y, dx, conv.weight_grad());
    };
    CAPTURE(g.n);
    CAPTURE(g.h);
    CAPTURE(g.k);
    CAPTURE(g.s);
    const auto [yg, dxg, dwg] = run(cpu_isa::generic);
    for (cpu_isa isa : {cpu_isa::avx2, cpu_isa::avx512}) {
      if (!cpu_supports(isa)) continue;
      CAPTURE(to_string(isa));
      const auto [y, dx, dw] = run(isa);
      CHECK(test::scaled_error(y, yg) < 1e-5);
      CHECK(test::scaled_error(dx, dxg) < 1e-5);
      CHECK(test::scaled_error(dw, dwg) < 1e-5);
    }
    if (cpu_supports(cpu_isa::avx512)) {
      const auto [y2, dx2, dw2] = run(cpu_isa::avx2);
      const auto [y5, dx5, dw5] = run(cpu_isa::avx512);
      CHECK(std::memcmp(y2.data(), y5.data(), y2.bytes()) == 0);
      CHECK(std::memcmp(dx2.data(), dx5.data(), dx2.bytes()) == 0);
      CHECK(std::memcmp(dw2.data(), dw5.data(), dw2.bytes()) == 0);
    }
  }
}

TEST_CASE("conv2d: bit-identical forward and backward for 1 and 2 threads") {
  // Weight gradient by image chunks (stride 2, stride 1) and by channel blocks (64 channels).
  // And larger maps (16×16: other image groups and column panels). The direct weight gradient
  // (16 input channels; at 64 × 64 a chunk's images in two groups).
  for (const auto& [o, size, images] : {std::tuple{nn::conv2d_options{8, 16, 3, 2, 1}, 9, 37},
                                        std::tuple{nn::conv2d_options{8, 16, 3, 1, 1}, 9, 37},
                                        std::tuple{nn::conv2d_options{64, 16, 3, 2, 1}, 9, 37},
                                        std::tuple{nn::conv2d_options{8, 16, 3, 1, 1}, 16, 37},
                                        std::tuple{nn::conv2d_options{16, 8, 3, 1, 1}, 9, 37},
                                        std::tuple{nn::conv2d_options{16, 8, 3, 1, 1}, 64, 130}}) {
    const nn::conv2d_options opt = o;
    const index_t side = size, n = images;
    auto run = [&opt, side, n](std::size_t threads) {
      parallel::set_num_threads(threads);
      nn::conv2d<float> conv(opt);
      conv.reset_parameters(random::key(1));
      tensor<float> x(shape{n, opt.in_channels, side, side}, uninitialized);
      random::fill_normal(x.view(), random::key(2));
      auto y = conv.forward(x, mode::train);
      tensor<float> dy(y.shape(), uninitialized);
      random::fill_normal(dy.view(), random::key(3));
      auto dx = conv.backward(dy);
      return std::make_tuple(y, dx, conv.weight_grad());
    };
    const auto [y1, dx1, dw1] = run(1);
    const auto [y2, dx2, dw2] = run(2);
    parallel::set_num_threads(2);
    CHECK(std::memcmp(y1.data(), y2.data(), y1.bytes()) == 0);
    CHECK(std::memcmp(dx1.data(), dx2.data(), dx1.bytes()) == 0);
    CHECK(std::memcmp(dw1.data(), dw2.data(), dw1.bytes()) == 0);
  }
}

TEST_CASE("conv2d: options and shapes are checked") {
  CHECK_THROWS_AS(nn::conv2d<float>({.in_channels = 0, .out_channels = 4}), value_error);
  CHECK_THROWS_AS(nn::conv2d<float>({.in_channels = 1, .out_channels = 4, .stride = 0}),
                  value_error);
  nn::conv2d<float> conv({.in_channels = 3, .out_channels = 4});
  CHECK_THROWS_WITH_AS((void)conv.forward(tensor<float>(shape{2, 1, 8, 8}), mode::train),
                       "simclr: conv2d: input has shape (2, 1, 8, 8), expected (N, 3, H, W)",
                       shape_error);
  CHECK_THROWS_AS((void)conv.forward(tensor<float>(shape{2, 3, 2, 2}), mode::train), shape_error);
  CHECK_THROWS_AS((void)conv.backward(tensor<float>(shape{2, 4, 8, 8})), error);
  (void)conv.forward(tensor<float>(shape{2, 3, 8, 8}), mode::train);
  CHECK_THROWS_WITH_AS((void)conv.backward(tensor<float>(shape{2, 4, 7, 7})),
                       "simclr: conv2d::backward: dy has shape (2, 4, 7, 7), expected (2, 4, 6, 6)",
                       shape_error);
}

TEST_CASE("conv2d: Kaiming-normal init has std sqrt(2 / fan_out)") {
  nn::conv2d<double> conv({.in_channels = 64, .out_channels = 128, .kernel_size = 3});
  conv.reset_parameters(random::key(9));
  double s2 = 0;
  for (double v : conv.weight().values()) s2 += v * v;
  const double std_dev = std::sqrt(s2 / double(conv.weight().numel()));
  CHECK(std_dev == doctest::Approx(std::sqrt(2.0 / (128 * 9))).epsilon(0.02));
}
