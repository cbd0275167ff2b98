// nn::gradients_ready: the ResNet (per block, then the stem) and the MLP head announce every
// parameter gradient exactly once, after it is final, in backward's order; no listener, no
// calls; multi-crop's two summed passes announce nothing.
#include <simclr/nn/gradient_ready.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/encoders/resnet.hpp>
#include <simclr/head/mlp.hpp>
#include <simclr/loss/nt_xent.hpp>
#include <simclr/model.hpp>
#include <simclr/random/fill.hpp>

using namespace simclr;

namespace {
/// Records the announced gradients, and for each a copy of it at that moment.
struct recorder final : nn::gradient_listener {
  std::vector<const void*> order;
  void ready(const void* grad) override { order.push_back(grad); }
};
template <class M>
std::vector<parameter<float>> params_of(M& m) {
  return nn::parameters_of<float, cpu_t>(m);
}
}  // namespace

TEST_CASE("gradients_ready: the ResNet announces each gradient once, last block first") {
  auto f = encoders::resnet18<float>({.base_width = 2, .in_channels = 1,
                                      .stem = encoders::stem::cifar, .seed = 1});
  tensor<float> x(shape{4, 1, 8, 8}, uninitialized);
  random::fill_normal(x.view(), random::key(2));
  const tensor<float> h = f.forward(x, mode::train);
  tensor<float> dh(h.shape());
  random::fill_normal(dh.view(), random::key(3));
  recorder seen;
  {
    nn::gradient_ready_scope scope(&seen);
    (void)f.backward(dh);
  }
  const auto params = params_of(f);
  REQUIRE(seen.order.size() == params.size());
  std::set<const void*> unique(seen.order.begin(), seen.order.end());
  CHECK(unique.size() == params.size());
  for (const auto& p : params) CHECK(unique.count(p.grad->data()) == 1);
  const auto name_of = [&](const void* g) {
    for (const auto& p : params)
      if (p.grad->data() == g) return p.name;
    return std::string("?");
  };
  CHECK(name_of(seen.order.front()).rfind("layer4.1.", 0) == 0);
  CHECK(name_of(seen.order.back()) == "conv1.weight");
  // Without a listener backward announces nothing (and the scope above is gone).
  recorder idle;
  (void)f.forward(x, mode::train);
  (void)f.backward(dh);
  CHECK(idle.order.empty());
}

TEST_CASE("gradients_ready: the MLP head announces its gradients; multi-crop's passes none") {
  auto g = head::mlp<float>::v1({.in = 8, .hidden = 6, .out = 4, .seed = 1});
  tensor<float> h(shape{6, 8}, uninitialized);
  random::fill_normal(h.view(), random::key(4));
  const tensor<float> z = g.forward(h, mode::train);
  recorder seen;
  {
    nn::gradient_ready_scope scope(&seen);
    (void)g.backward(z);
  }
  CHECK(seen.order.size() == params_of(g).size());

  model net{encoders::resnet18<float>({.base_width = 2, .in_channels = 1,
                                       .stem = encoders::stem::cifar, .seed = 1}),
            head::mlp<float>::v1({.in = 16, .hidden = 6, .out = 4, .seed = 1}),
            loss::nt_xent<float>(loss::nt_xent_options{})};
  tensor<float> views(shape{8, 1, 8, 8}, uninitialized), crops(shape{8, 1, 4, 4}, uninitialized);
  random::fill_normal(views.view(), random::key(5));
  random::fill_normal(crops.view(), random::key(6));
  recorder during_crops, during_two;
  {
    nn::gradient_ready_scope scope(&during_crops);
    (void)net.forward_backward(views, crops);  // two passes summed: nothing final before the sum
  }
  CHECK(during_crops.order.empty());
  {
    nn::gradient_ready_scope scope(&during_two);
    (void)net.forward_backward(views);
  }
  CHECK(during_two.order.size() == net.parameters().size());
}
