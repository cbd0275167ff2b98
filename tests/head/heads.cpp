// Projection heads: mlp v1/v2 (BN on and off), linear, identity.
#include <simclr/head/linear.hpp>
#include <simclr/head/mlp.hpp>

#include <doctest/doctest.h>

#include <simclr/concepts.hpp>

#include "support/layer_check.hpp"

using namespace simclr;

TEST_CASE("heads satisfy projection_head") {
  static_assert(projection_head<head::mlp<float>>);
  static_assert(projection_head<head::mlp<double>>);
  static_assert(projection_head<head::linear<float>>);
  static_assert(projection_head<head::identity<float>>);
  CHECK(head::mlp<float>::v1({.in = 512}).output_dim() == 128);
}

TEST_CASE("head::mlp v1: layout, names, gradients with and without BN") {
  for (bool bn : {true, false}) {
    auto g = head::mlp<double>::v1({.in = 6, .hidden = 5, .out = 3, .batch_norm = bn, .seed = 1});
    std::vector<std::string> names;
    g.visit_state([&](const nn::state_ref<double, cpu_t>& s) { names.push_back(s.name); }, "");
    if (bn) {
      CHECK(names == std::vector<std::string>{"0.weight", "1.weight", "1.bias", "1.running_mean",
                                              "1.running_var", "1.num_batches_tracked",
                                              "3.weight", "3.bias"});
    } else {
      CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
    }
    auto h = test::randn(shape{7, 6}, 2);
    CHECK(g.forward(h, mode::eval).shape() == shape{7, 3});
    const auto r = test::check_layer(g, h);
    CHECK_MESSAGE(r.passed, r.message());
  }
}

TEST_CASE("head::mlp v2: three layers, BN after each, first-layer features") {
  auto g = head::mlp<double>::v2({.in = 4, .out = 2, .seed = 3});
  CHECK(g.layers() == 3);
  CHECK(g.parameters().size() == 3 + 3 * 2);  // 3 weights without bias, 3 BN (γ, β)
  auto h = test::randn(shape{6, 4}, 4);
  const auto r = test::check_layer(g, h);
  CHECK_MESSAGE(r.passed, r.message());
  const auto f = g.first_layer_features(h);
  CHECK(f.shape() == shape{6, 4});
  for (double v : f.values()) CHECK(v >= 0.0);  // after the ReLU
}

TEST_CASE("head::mlp: a width mismatch names both widths") {
  auto g = head::mlp<float>::v1({.in = 512});
  CHECK_THROWS_WITH_AS(
      (void)g.forward(tensor<float>(shape{2, 128}), mode::train),
      "simclr: head::mlp: input has shape (2, 128), expected (N, 512) — the head's `in` must "
      "equal the encoder's output_dim()",
      shape_error);
  CHECK_THROWS_AS((void)head::mlp<float>::v1({.in = 0}), value_error);
}

TEST_CASE("head::linear and head::identity") {
  head::linear<double> lin(5, 3, 1);
  auto h = test::randn(shape{4, 5}, 5);
  const auto r = test::check_layer(lin, h);
  CHECK_MESSAGE(r.passed, r.message());
  head::identity<double> id(5);
  const auto z = id.forward(h, mode::train);
  CHECK(z(2, 3) == h(2, 3));
  CHECK(id.backward(z)(1, 1) == h(1, 1));
  CHECK(id.parameters().empty());
  CHECK_THROWS_AS((void)id.forward(tensor<double>(shape{4, 4}), mode::train), shape_error);
}
