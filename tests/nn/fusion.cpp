// What a residual block fuses across its layers on the CPU: the convolution's output moments
// handed to BatchNorm, the shortcut's gradient joined inside the first convolution's backward,
// and a block that keeps no copy of its output. Each must give what the unfused layers give.
#include <cstring>
#include <tuple>

#include <doctest/doctest.h>

#include <simclr/backend/cpu/isa.hpp>
#include <simclr/encoders/basic_block.hpp>
#include <simclr/nn/batch_norm.hpp>
#include <simclr/nn/conv2d.hpp>
#include <simclr/nn/cpu/moments.hpp>
#include <simclr/nn/plane_moments.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/random/fill.hpp>

#include "support/layer_check.hpp"

using namespace simclr;

namespace {

template <class T>
bool same_bits(const tensor<T>& a, const tensor<T>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.bytes()) == 0;
}

template <class T>
tensor<T> normal(const shape& s, std::uint64_t seed) {
  tensor<T> t(s, uninitialized);
  random::fill_normal(t.view(), random::key(seed));
  return t;
}

/// n, c_in, size, c_out, kernel, stride, padding.
struct fused_case {
  index_t n, c, h, co, k, s, p;
};

// im2col with masked loads, the packed convolution (64 outputs), Winograd (64 in and out, float
// on avx2 / avx512), gathers (stride 2), a 1×1 shortcut, planes of one value, the direct
// gradients (16 input channels, stride 1 and 2; float on avx2 / avx512).
constexpr fused_case cases[] = {{3, 5, 28, 16, 3, 1, 1}, {2, 8, 7, 64, 3, 1, 1},
                                {2, 64, 8, 64, 3, 1, 1}, {3, 4, 9, 6, 3, 2, 1},
                                {4, 6, 8, 10, 1, 2, 0},  {5, 3, 2, 4, 3, 2, 1},
                                {3, 16, 9, 16, 3, 1, 1}, {2, 16, 8, 32, 3, 2, 1}};

/// f(case) for every case on every CPU path this machine runs.
template <class F>
void on_every_path(const F& f) {
  for (const cpu_isa isa : {cpu_isa::generic, cpu_isa::avx2, cpu_isa::avx512}) {
    if (!cpu_supports(isa)) continue;
    cpu_isa_scope path(isa);
    CAPTURE(to_string(isa));
    for (const fused_case& g : cases) {
      CAPTURE(g.c);
      CAPTURE(g.co);
      CAPTURE(g.h);
      CAPTURE(g.s);
      f(g);
    }
  }
}

}  // namespace

TEST_CASE(
    "conv2d → batch_norm: the convolution's output moments are BatchNorm's own, bit for bit") {
  on_every_path([](const fused_case& g) {
    nn::conv2d<float> conv({g.c, g.co, g.k, g.s, g.p});
    conv.reset_parameters(random::key(3));
    const auto x = normal<float>(shape{g.n, g.c, g.h, g.h}, 4);
    nn::activation_moments mom;
    const auto y = conv.forward(x, mode::train, &mom);
    REQUIRE(mom.size() == static_cast<std::size_t>(g.n * g.co));
    // What BatchNorm computes from memory.
    const index_t l = y.extent(2) * y.extent(3);
    nn::activation_moments own(mom.size());
    nn::cpu_moments::all_planes(g.n, g.co, l, y.data(), own.data());
    bool equal = true;
    for (std::size_t r = 0; r < own.size(); ++r)
      equal = equal && own[r].shift == mom[r].shift && own[r].rest == mom[r].rest &&
              own[r].squares == mom[r].squares;
    CHECK(equal);
    // BatchNorm with them: the same output and running statistics as without.
    nn::batch_norm<float> given({g.co}), computed({g.co});
    const auto a = given.forward(tensor<float>(y), mode::train, {.relu = true}, &mom);
    const auto b = computed.forward(tensor<float>(y), mode::train, {.relu = true});
    CHECK(same_bits(a, b));
    CHECK(same_bits(given.running_mean(), computed.running_mean()));
    CHECK(same_bits(given.running_var(), computed.running_var()));
    // Evaluation computes none (BatchNorm uses its running statistics).
    (void)conv.forward(x, mode::eval, &mom);
    CHECK(mom.empty());
  });
}

TEST_CASE("batch_norm: moments for another number of planes are refused") {
  nn::batch_norm<float> bn({4});
  nn::activation_moments mom(7);
  CHECK_THROWS_WITH_AS((void)bn.forward(normal<float>(shape{2, 4, 3, 3}, 1), mode::train, {}, &mom),
                       doctest::Contains("moments of 7 planes given for an input of 8 planes"),
                       value_error);
}

TEST_CASE("conv2d::backward with `add`: dx + add, the weight gradient unchanged") {
  // Stride 1 (dx is a convolution: the add joins its output; Winograd for 64 channels on
  // avx2 / avx512; the direct input gradient adds it to its result) and stride 2 (col2im
  // accumulates onto the add: within rounding).
  auto run = [](auto zero, const fused_case& g) {
    using T = decltype(zero);
    nn::conv2d<T> plain({g.c, g.co, g.k, g.s, g.p}), joined({g.c, g.co, g.k, g.s, g.p});
    plain.reset_parameters(random::key(5));
    joined.reset_parameters(random::key(5));
    const auto x = normal<T>(shape{g.n, g.c, g.h, g.h}, 6);
    const auto y = plain.forward(x, mode::train);
    (void)joined.forward(x, mode::train);
    const auto dy = normal<T>(y.shape(), 7), add = normal<T>(x.shape(), 8);
    auto expect = plain.backward(dy);
    for (index_t e = 0; e < expect.numel(); ++e) expect.data()[e] += add.data()[e];
    const auto dx = joined.backward(dy, &add);
    CHECK(same_bits(plain.weight_grad(), joined.weight_grad()));
    double worst = 0;
    for (index_t e = 0; e < dx.numel(); ++e)
      worst = std::max(worst, std::abs(double(dx.data()[e]) - double(expect.data()[e])) /
                                  (1.0 + std::abs(double(expect.data()[e]))));
    if (g.s == 1) {
      CHECK(same_bits(dx, expect));
    } else {
      CHECK(worst < (sizeof(T) == 4 ? 1e-5 : 1e-13));
    }
    const tensor<T> wrong(shape{g.n, g.c + 1, g.h, g.h});
    CHECK_THROWS_WITH_AS((void)joined.backward(dy, &wrong),
                         doctest::Contains("conv2d::backward: add"), shape_error);
  };
  on_every_path([&](const fused_case& g) {
    run(float{}, g);
    if (g.c < 64) run(double{}, g);
  });
}

TEST_CASE("residual_block: keep_output(false) and backward(dy, y) give backward(dy)'s gradients") {
  for (const index_t stride : {1, 2}) {  // identity and downsample shortcut
    CAPTURE(stride);
    encoders::basic_block<float> kept(4, stride == 1 ? 4 : 8, stride, false);
    kept.visit_state(
        [](const nn::state_ref<float, cpu_t>& s) {
          if (s.kind == nn::state_kind::parameter)
            random::fill_normal(s.value->view(), random::key(9).fold_in(nn::init::name_id(s.name)),
                                0.0f, 0.5f);
        },
        "");
    auto lent = kept;
    lent.keep_output(false);
    const auto x = normal<float>(shape{3, 4, 6, 6}, 10);
    const auto y = kept.forward(x, mode::train);
    const auto y2 = lent.forward(x, mode::train);
    CHECK(same_bits(y, y2));
    CHECK(same_bits(lent.input(), x));
    const auto dy = normal<float>(y.shape(), 11);
    CHECK_THROWS_WITH_AS((void)lent.backward(dy), doctest::Contains("call backward(dy, y)"), error);
    CHECK(same_bits(kept.backward(dy), lent.backward(dy, y2)));
    const auto pk = nn::parameters_of<float, cpu_t>(kept),
               pl = nn::parameters_of<float, cpu_t>(lent);
    for (std::size_t i = 0; i < pk.size(); ++i) CHECK(same_bits(*pk[i].grad, *pl[i].grad));
  }
}
