// basic_block, bottleneck and their common residual_block: finite-difference checks of whole
// residual blocks.
#include <simclr/encoders/basic_block.hpp>
#include <simclr/encoders/bottleneck.hpp>
#include <simclr/encoders/residual_block.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "support/layer_check.hpp"

using namespace simclr;

namespace {
template <class Block>
void randomise(Block& b, std::uint64_t seed) {
  b.visit_state(
      [&](const nn::state_ref<double, cpu_t>& s) {
        if (s.kind == nn::state_kind::parameter)
          random::fill_normal(s.value->view(), random::key(seed).fold_in(nn::init::name_id(s.name)),
                              0.0, 0.5);
      },
      "");
}
}  // namespace

TEST_CASE("basic_block: gradients by finite differences, identity and downsample shortcut") {
  for (const auto& entry : {std::array<index_t, 3>{3, 3, 1}, {2, 4, 2}}) {
    const auto& in = std::get<0>(entry);
    const auto& planes = std::get<1>(entry);
    const auto& stride = std::get<2>(entry);
    encoders::basic_block<double> block(in, planes, stride, false);
    randomise(block, 1);
    auto x = test::randn(shape{2, in, 5, 5}, 2);
    const auto r = test::check_layer(block, x);
    CAPTURE(stride);
    CHECK_MESSAGE(r.passed, r.message());
  }
}

TEST_CASE("bottleneck: gradients by finite differences; stride on the 3x3") {
  encoders::bottleneck<double> block(4, 2, 2, false);
  randomise(block, 3);
  auto x = test::randn(shape{2, 4, 5, 5}, 4);
  const auto y = block.forward(x, mode::eval);
  CHECK(y.shape() == shape{2, 8, 3, 3});
  const auto r = test::check_layer(block, x);
  CHECK_MESSAGE(r.passed, r.message());
  std::vector<std::string> names;
  block.visit_state([&](const nn::state_ref<double, cpu_t>& s) { names.push_back(s.name); },
                    "layer2.0");
  CHECK(std::find(names.begin(), names.end(), "layer2.0.conv3.weight") != names.end());
  CHECK(std::find(names.begin(), names.end(), "layer2.0.downsample.1.running_var") !=
        names.end());
}

TEST_CASE("blocks: zero-initialised last BN makes a block the identity plus ReLU") {
  encoders::basic_block<double> block(3, 3, 1, true);
  const auto x = test::randn(shape{2, 3, 4, 4}, 5);
  const auto y = block.forward(x, mode::train);
  for (index_t i = 0; i < x.numel(); ++i) CHECK(y.data()[i] == std::max(0.0, x.data()[i]));
}

TEST_CASE("residual_block: a chain of one's own — gradients, names, copies, an empty chain named") {
  // A one-conv block with a 5x5 kernel and stride 2: the shortcut becomes a downsample.
  encoders::residual_block<double> block("my_block", 3, {{4, 5, 2}}, false);
  randomise(block, 5);
  auto x = test::randn(shape{2, 3, 6, 6}, 6);
  CHECK(block.forward(x, mode::eval).shape() == shape{2, 4, 3, 3});
  const auto r = test::check_layer(block, x);
  CHECK_MESSAGE(r.passed, r.message());
  std::vector<std::string> names;
  block.visit_state([&](const nn::state_ref<double, cpu_t>& s) { names.push_back(s.name); }, "");
  CHECK(names.front() == "conv1.weight");
  CHECK(std::find(names.begin(), names.end(), "downsample.0.weight") != names.end());
  // A copy computes what the original computes, on its own activations.
  auto copy = block;
  const auto a = block.forward(x, mode::eval), b = copy.forward(x, mode::eval);
  CHECK(std::equal(a.values().begin(), a.values().end(), b.values().begin()));
  CHECK_THROWS_WITH_AS(encoders::residual_block<double>("my_block", 3, {}, false),
                       doctest::Contains("my_block: empty chain"), value_error);
  encoders::residual_block<double> fresh("my_block", 3, {{3, 3, 1}}, false);
  CHECK_THROWS_WITH_AS((void)fresh.backward(x),
                       doctest::Contains("my_block::backward without a preceding forward"), error);
}
