// Test helpers for layers: a full finite-difference check of a layer's backward, in double.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <initializer_list>
#include <utility>
#include <vector>

#include <simclr/backend/cpu/isa.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/conv2d.hpp>
#include <simclr/nn/kernels.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/random/fill.hpp>
#include <simclr/testing/gradcheck.hpp>

namespace simclr::test {

/// max |a − b| / max |b| over two tensors of one size (b the reference): the error of a result
/// relative to the reference's scale, for kernels that agree up to summation order.
template <class A, class B>
double scaled_error(const tensor<A>& a, const tensor<B>& b) {
  double err = 0, scale = 1e-30;
  for (index_t i = 0; i < b.numel(); ++i) {
    err = std::max(err, std::abs(double(a.data()[i]) - double(b.data()[i])));
    scale = std::max(scale, std::abs(double(b.data()[i])));
  }
  return err / scale;
}

/// The geometry of a square convolution: batch, channels, size, kernel, stride, padding.
inline nn::window2d square_window(index_t n, index_t c, index_t h, index_t k, index_t s,
                                  index_t p) {
  nn::window2d g;
  g.n = n;
  g.channels = c;
  g.height = g.width = h;
  g.kernel_h = g.kernel_w = k;
  g.stride = s;
  g.padding = p;
  return g;
}

/// The output, input gradient and weight gradient of one seeded float convolution of n images
/// of h × h pixels; with `off`, that environment switch is 0 while it runs (e.g.
/// "SIMCLR_CONV_DIRECT": the same pass without the direct kernels).
struct conv_pass {
  tensor<float> y, dx, dw;
};
inline conv_pass seeded_conv(const nn::conv2d_options& o, index_t n, index_t h,
                             const char* off = nullptr) {
  if (off != nullptr) setenv(off, "0", 1);
  nn::conv2d<float> conv(o);
  conv.reset_parameters(random::key(41));
  tensor<float> x(shape{n, o.in_channels, h, h}, uninitialized);
  random::fill_normal(x.view(), random::key(42));
  conv_pass p;
  p.y = conv.forward(x, mode::train);
  tensor<float> dy(p.y.shape(), uninitialized);
  random::fill_normal(dy.view(), random::key(43));
  p.dx = conv.backward(dy);
  p.dw = conv.weight_grad();
  if (off != nullptr) unsetenv(off);
  return p;
}

/// f(isa, options, size) for every case on each of the avx2 and avx512 paths this CPU runs
/// (with that path forced): the direct kernels' comparisons with the paths before them.
template <class F>
void on_vector_paths(std::initializer_list<std::pair<nn::conv2d_options, index_t>> cases,
                     const F& f) {
  for (const cpu_isa isa : {cpu_isa::avx2, cpu_isa::avx512}) {
    if (!cpu_supports(isa)) continue;
    cpu_isa_scope path(isa);
    for (const auto& [options, size] : cases) f(isa, options, size);
  }
}

/// Checks backward of `layer` at input `x`: the scalar ⟨forward(x), r⟩ for a fixed random r is
/// differentiated numerically with respect to x (if `check_input`) and every parameter, and
/// compared with backward(r) and the accumulated parameter gradients.
template <class Layer>
testing::gradcheck_result check_layer(Layer& layer, tensor<double>& x, std::uint64_t seed = 7,
                                      bool check_input = true,
                                      testing::gradcheck_options opt = {}) {
  const tensor<double> y0 = layer.forward(x, mode::train);
  tensor<double> r(y0.shape(), uninitialized);
  random::fill_normal(r.view(), random::key(seed));
  nn::zero_grad_of<double, cpu_t>(layer);
  (void)layer.forward(x, mode::train);
  const tensor<double> dx = layer.backward(r);

  std::deque<tensor<double>> grads;  // stable addresses for gradcheck_input references
  std::vector<testing::gradcheck_input> inputs;
  layer.visit_state(
      [&](const nn::state_ref<double, cpu_t>& s) {
        if (s.kind != nn::state_kind::parameter) return;
        grads.push_back(*s.grad);
        inputs.push_back({s.name, *s.value, grads.back()});
      },
      "");
  if (check_input) inputs.push_back({"x", x, dx});
  auto f = [&] { return testing::dot(layer.forward(x, mode::train), r); };
  return testing::gradcheck(f, inputs, opt);
}

/// A tensor of the given shape with N(0, 1) entries from `seed`.
template <class T = double>
tensor<T> randn(const shape& s, std::uint64_t seed) {
  tensor<T> t(s, uninitialized);
  random::fill_normal(t.view(), random::key(seed));
  return t;
}

}  // namespace simclr::test
