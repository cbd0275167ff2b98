// Tests of simclr::methods::crop_pass, the second copy of an online network that multi-crop's
// small crops run through: its output is the network's own on that batch, the running
// statistics come back to the network, and backward adds the crops' gradients to the network's.
#include <simclr/methods/crop_pass.hpp>

#include <algorithm>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/head/mlp.hpp>
#include <simclr/random/fill.hpp>

#include "support/run_dir.hpp"

namespace {

using crop_mlp = simclr::head::mlp<float>;  // BatchNorm inside: running statistics to return

crop_mlp crop_encoder() { return crop_mlp::v1({.in = 6, .hidden = 8, .out = 5, .seed = 11}); }
crop_mlp crop_head() { return crop_mlp::v1({.in = 5, .hidden = 8, .out = 4, .seed = 12}); }

simclr::tensor<float> crop_batch(simclr::index_t rows, std::uint64_t seed) {
  simclr::tensor<float> x(simclr::shape{rows, 6});
  simclr::random::fill_normal(x.view(), simclr::random::key(seed));
  return x;
}

}  // namespace

TEST_CASE("crop_pass: the network's own output and running statistics; gradients added") {
  using namespace simclr;
  auto f = crop_encoder();
  auto g = crop_head();
  auto f_ref = crop_encoder();
  auto g_ref = crop_head();
  methods::crop_pass<crop_mlp, crop_mlp> pass;
  for (std::uint64_t step = 0; step < 2; ++step) {  // made at the first use, re-synced after
    const auto crops = crop_batch(6, 90 + step);
    const auto z = pass.forward(f, g, crops);
    const auto z_ref = g_ref.forward(f_ref.forward(crops, mode::train), mode::train);
    REQUIRE(z.shape() == z_ref.shape());
    CHECK(std::equal(z.data(), z.data() + z.numel(), z_ref.data()));
    // The running statistics moved in f and g as in the networks that saw the crops.
    CHECK(test::flat_state(f) == test::flat_state(f_ref));
    CHECK(test::flat_state(g) == test::flat_state(g_ref));

    tensor<float> dz(z.shape());
    random::fill_normal(dz.view(), random::key(95 + step));
    nn::zero_grad_of<float, cpu_t>(f);
    nn::zero_grad_of<float, cpu_t>(g);
    std::vector<parameter<float, cpu_t>> into = nn::parameters_of<float, cpu_t>(f);
    for (const auto& p : nn::parameters_of<float, cpu_t>(g)) into.push_back(p);
    for (const auto& p : into) p.grad->data()[0] = 1.f;  // gradients already there are kept
    pass.backward_into(dz, into);
    nn::zero_grad_of<float, cpu_t>(f_ref);
    nn::zero_grad_of<float, cpu_t>(g_ref);
    (void)f_ref.backward(g_ref.backward(dz));
    std::vector<parameter<float, cpu_t>> want = nn::parameters_of<float, cpu_t>(f_ref);
    for (const auto& p : nn::parameters_of<float, cpu_t>(g_ref)) want.push_back(p);
    REQUIRE(into.size() == want.size());
    for (std::size_t k = 0; k < into.size(); ++k)
      for (index_t i = 0; i < into[k].grad->numel(); ++i)
        CHECK(into[k].grad->data()[i] == want[k].grad->data()[i] + (i == 0 ? 1.f : 0.f));
    // The network's parameters change between steps (an optimizer step): the copy follows.
    for (const auto& p : nn::parameters_of<float, cpu_t>(f)) p.value->data()[0] += 0.25f;
    for (const auto& p : nn::parameters_of<float, cpu_t>(f_ref)) p.value->data()[0] += 0.25f;
  }
}
