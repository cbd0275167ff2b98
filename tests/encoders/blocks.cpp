// basic_block and bottleneck: finite-difference checks of whole residual blocks.
#include <simclr/encoders/basic_block.hpp>
#include <simclr/encoders/bottleneck.hpp>

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
  for (const auto [in, planes, stride] : {std::array<index_t, 3>{3, 3, 1}, {2, 4, 2}}) {
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
