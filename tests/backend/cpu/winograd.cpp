// Winograd F(2×2, 3×3) convolutions on the CPU (simclr/nn/cpu/winograd.hpp), through
// nn::conv2d: where they apply, against the convolution in double, against im2col, and the same
// bits on the avx2 and avx512 paths and for any thread count. (Here rather than in tests/nn: this
// area is compiled with optimisation, and 64-channel convolutions in double need it.)
#include <simclr/nn/conv2d.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <tuple>

#include <doctest/doctest.h>

#include <simclr/backend/cpu/isa.hpp>
#include <simclr/parallel/thread_pool.hpp>
#include <simclr/random/fill.hpp>

#include "support/layer_check.hpp"

using namespace simclr;

namespace {

/// A 3×3, stride-1, padding-1 convolution: batch, channels, size, output channels, bias.
struct wcase {
  index_t n, c, h, co;
  bool bias = false;
};

template <class T>
tensor<double> to_double(const tensor<T>& t) {
  tensor<double> d(t.shape(), uninitialized);
  for (index_t i = 0; i < t.numel(); ++i) d.data()[i] = static_cast<double>(t.data()[i]);
  return d;
}

/// y, dx, dw of one forward and backward pass in float (Winograd where it applies, unless
/// `im2col`), from seeded x, weights, bias and dy.
struct pass {
  tensor<float> x, y, dy, dx, dw;
};
pass run(const wcase& g, bool im2col = false) {
  if (im2col) setenv("SIMCLR_CONV_WINOGRAD", "0", 1);
  nn::conv2d<float> conv({g.c, g.co, 3, 1, 1, g.bias});
  conv.reset_parameters(random::key(31));
  if (g.bias)
    for (index_t i = 0; i < g.co; ++i) conv.bias().data()[i] = 0.125f * float(i % 7) - 0.3f;
  pass p;
  p.x = tensor<float>(shape{g.n, g.c, g.h, g.h}, uninitialized);
  random::fill_normal(p.x.view(), random::key(32));
  p.y = conv.forward(p.x, mode::train);
  p.dy = tensor<float>(p.y.shape(), uninitialized);
  random::fill_normal(p.dy.view(), random::key(33));
  p.dx = conv.backward(p.dy);
  p.dw = conv.weight_grad();
  unsetenv("SIMCLR_CONV_WINOGRAD");
  return p;
}

}  // namespace

TEST_CASE("winograd: where it applies") {
  using nn::winograd_f2x3;
  const auto g = test::square_window(4, 64, 9, 3, 1, 1);
  CHECK(winograd_f2x3::applies(g, 64, cpu_isa::avx512));
  CHECK(winograd_f2x3::applies(g, 64, cpu_isa::avx2));
  CHECK_FALSE(winograd_f2x3::applies(g, 64, cpu_isa::generic));
  CHECK_FALSE(winograd_f2x3::applies(g, 63, cpu_isa::avx512));  // too few outputs
  CHECK_FALSE(winograd_f2x3::applies(test::square_window(4, 63, 9, 3, 1, 1), 64, cpu_isa::avx512));
  CHECK_FALSE(winograd_f2x3::applies(test::square_window(4, 64, 9, 3, 2, 1), 64, cpu_isa::avx512));
  CHECK_FALSE(winograd_f2x3::applies(test::square_window(4, 64, 9, 3, 1, 0), 64, cpu_isa::avx512));
  CHECK_FALSE(winograd_f2x3::applies(test::square_window(4, 64, 9, 5, 1, 2), 64, cpu_isa::avx512));
  // The weight gradient on even maps where the batch's positions are at least 36·C (else by
  // channel rows).
  CHECK(winograd_f2x3::applies_to_weights(test::square_window(36, 64, 8, 3, 1, 1), 64,
                                          cpu_isa::avx2));
  CHECK_FALSE(winograd_f2x3::applies_to_weights(test::square_window(35, 64, 8, 3, 1, 1), 64,
                                                cpu_isa::avx2));
  CHECK_FALSE(winograd_f2x3::applies_to_weights(test::square_window(36, 64, 8, 3, 2, 1), 64,
                                                cpu_isa::avx2));
  CHECK(winograd_f2x3::applies_to_weights(test::square_window(8, 64, 18, 3, 1, 1), 64,
                                          cpu_isa::avx512));
  CHECK_FALSE(winograd_f2x3::applies_to_weights(test::square_window(8, 64, 17, 3, 1, 1), 64,
                                                cpu_isa::avx512));
}

TEST_CASE("winograd: forward, input and weight gradients match the convolution in double") {
  if (current_cpu_isa() == cpu_isa::generic) return;  // im2col only: tests/nn covers it
  // Tiles walked along rows (15 × 15: the last tiles hang over the edge; 16 × 16, 14 × 14:
  // several blocks) and gathered across rows (4 × 4, 7 × 7), a bias; the weight gradient by
  // Winograd on the even maps with a batch large enough (4 × 4, 16 × 16, 14 × 14).
  for (const wcase g :
       {wcase{3, 65, 15, 70, true}, wcase{12, 65, 15, 70}, wcase{150, 64, 4, 66},
        wcase{24, 64, 16, 64}, wcase{4, 72, 7, 66, true}, wcase{12, 64, 14, 65, true}}) {
    CAPTURE(g.n);
    CAPTURE(g.h);
    const pass w = run(g);
    nn::conv2d<double> conv({g.c, g.co, 3, 1, 1, g.bias});
    {
      nn::conv2d<float> cf({g.c, g.co, 3, 1, 1, g.bias});  // the same weights as run()
      cf.reset_parameters(random::key(31));
      for (index_t i = 0; i < cf.weight().numel(); ++i)
        conv.weight().data()[i] = cf.weight().data()[i];
      if (g.bias)
        for (index_t i = 0; i < g.co; ++i) conv.bias().data()[i] = 0.125f * float(i % 7) - 0.3f;
    }
    const auto y = conv.forward(to_double(w.x), mode::train);
    const auto dx = conv.backward(to_double(w.dy));
    CHECK(test::scaled_error(w.y, y) < 2e-6);
    CHECK(test::scaled_error(w.dx, dx) < 2e-6);
    CHECK(test::scaled_error(w.dw, conv.weight_grad()) < 2e-6);
    // And Winograd did run: im2col in float rounds differently.
    const pass i = run(g, true);
    CHECK(test::scaled_error(w.y, i.y) > 0);
    CHECK(test::scaled_error(w.dx, i.dx) > 0);
    const bool weights = nn::winograd_f2x3::applies_to_weights(
        test::square_window(g.n, g.c, g.h, 3, 1, 1), g.co, current_cpu_isa());
    CHECK(weights == (g.h % 2 == 0 && g.n >= 12));
    if (weights) CHECK(test::scaled_error(w.dw, i.dw) > 0);
  }
}

TEST_CASE("winograd: the weight gradient in chunks of several blocks agrees with im2col") {
  if (current_cpu_isa() == cpu_isa::generic) return;
  // 2400 tiles in blocks of 144: 17 blocks, chunks of two (at most 16 partial sums).
  const wcase g{150, 64, 8, 64};
  CHECK(nn::winograd_f2x3::block_tiles(64, 64) == 144);
  const pass w = run(g), i = run(g, true);
  CHECK(test::scaled_error(w.dw, i.dw) < 1e-5);
  CHECK(test::scaled_error(w.dw, i.dw) > 0);
  CHECK(test::scaled_error(w.y, i.y) < 1e-5);
  CHECK(test::scaled_error(w.dx, i.dx) < 1e-5);
}

TEST_CASE("winograd: the same bits on the avx2 and avx512 paths and for 1 and 2 threads") {
  if (!cpu_supports(cpu_isa::avx2)) return;
  for (const wcase g :
       {wcase{12, 65, 15, 70, true}, wcase{150, 64, 4, 66}, wcase{150, 64, 8, 64}}) {
    CAPTURE(g.n);
    auto on = [&g](cpu_isa isa, std::size_t threads) {
      cpu_isa_scope path(isa);
      const std::size_t before = parallel::num_threads();
      parallel::set_num_threads(threads);
      pass p = run(g);
      parallel::set_num_threads(before);
      return p;
    };
    const pass a = on(cpu_isa::avx2, 2);
    const pass b = on(cpu_isa::avx2, 1);
    auto same = [](const pass& p, const pass& q) {
      CHECK(std::memcmp(p.y.data(), q.y.data(), p.y.bytes()) == 0);
      CHECK(std::memcmp(p.dx.data(), q.dx.data(), p.dx.bytes()) == 0);
      CHECK(std::memcmp(p.dw.data(), q.dw.data(), p.dw.bytes()) == 0);
    };
    same(a, b);
    if (cpu_supports(cpu_isa::avx512)) same(a, on(cpu_isa::avx512, 2));
  }
}
