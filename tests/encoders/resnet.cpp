#include <simclr/encoders/resnet.hpp>

#include <cstring>
#include <map>

#include <doctest/doctest.h>

#include <simclr/concepts.hpp>
#include <simclr/parallel/thread_pool.hpp>

#include "support/layer_check.hpp"

using namespace simclr;

TEST_CASE("resnet: the encoder concept; output widths of ResNet-18/34/50") {
  static_assert(encoder<encoders::resnet<encoders::basic_block, float>>);
  static_assert(encoder<encoders::resnet<encoders::bottleneck, double>>);
  auto r18 = encoders::resnet18<float>({.base_width = 8, .stem = encoders::stem::cifar});
  CHECK(r18.output_dim() == 64);
  auto r50 = encoders::resnet50<float>({.base_width = 4, .width_multiplier = 2});
  CHECK(r50.output_dim() == 4 * 2 * 8 * 4);
  const auto h = r50.forward(tensor<float>(shape{2, 3, 32, 32}), mode::eval);
  CHECK(h.shape() == shape{2, 256});
  auto r34 = encoders::resnet34<float>({.base_width = 2, .in_channels = 1});
  CHECK(r34.forward(tensor<float>(shape{1, 1, 40, 40}), mode::eval).shape() == shape{1, 16});
}

TEST_CASE("resnet: state names and shapes are torchvision's") {
  auto net = encoders::resnet18<float>();  // full width, ImageNet stem
  std::map<std::string, shape> s;
  net.visit_state(
      [&](const nn::state_ref<float, cpu_t>& e) {
        s[e.name] = e.value != nullptr ? e.value->shape() : e.count->shape();
      },
      "");
  CHECK(s.size() == 122 - 2);  // torchvision resnet18 state_dict minus fc.weight, fc.bias
  CHECK(s.at("conv1.weight") == shape{64, 3, 7, 7});
  CHECK(s.at("bn1.running_var") == shape{64});
  CHECK(s.at("layer1.0.conv1.weight") == shape{64, 64, 3, 3});
  CHECK(s.at("layer2.0.downsample.0.weight") == shape{128, 64, 1, 1});
  CHECK(s.at("layer4.1.bn2.num_batches_tracked") == shape{});
  CHECK(s.count("layer1.0.downsample.0.weight") == 0);
  CHECK(net.parameters().size() == 62 - 2);  // torchvision: 62 with fc
  std::size_t n_params = 0;
  for (const auto& p : net.parameters()) n_params += static_cast<std::size_t>(p.value->numel());
  CHECK(n_params == 11689512 - 513000);  // torchvision's count minus the 1000-way fc
}

TEST_CASE("resnet: a whole tiny network passes the finite-difference check") {
  auto net = encoders::resnet<encoders::basic_block, double>(
      {.blocks = {1, 1}, .base_width = 2, .in_channels = 2, .stem = encoders::stem::cifar,
       .seed = 4});
  net.set_input_gradient(true);
  auto x = test::randn(shape{2, 2, 6, 6}, 5);
  const auto r = test::check_layer(net, x, 6, true, {.max_checks = 40});
  CHECK_MESSAGE(r.passed, r.message());
}

TEST_CASE("resnet: the strided stem has the cifar stem's parameters; gradients by finite differences") {
  // Its 3×3/2 convolution is conv2d's (tested against PyTorch in tests/nn); here the network
  // around it: the same parameters as with the cifar stem, and the gradients of a tiny one.
  auto net = encoders::resnet<encoders::basic_block, double>(
      {.blocks = {1, 1}, .base_width = 2, .in_channels = 2, .stem = encoders::stem::strided,
       .seed = 4});
  auto cifar = encoders::resnet<encoders::basic_block, double>(
      {.blocks = {1, 1}, .base_width = 2, .in_channels = 2, .stem = encoders::stem::cifar,
       .seed = 4});
  REQUIRE(net.parameters().size() == cifar.parameters().size());
  for (std::size_t i = 0; i < net.parameters().size(); ++i)
    CHECK(net.parameters()[i].value->shape() == cifar.parameters()[i].value->shape());
  net.set_input_gradient(true);
  auto x = test::randn(shape{2, 2, 6, 6}, 5);
  const auto r = test::check_layer(net, x, 6, true, {.max_checks = 40});
  CHECK_MESSAGE(r.passed, r.message());
  // Odd sizes round up, as a 3×3/2 convolution with padding 1 does: 7 → 4 → 2 after stage 2.
  CHECK(net.forward(test::randn(shape{1, 2, 7, 7}, 6), mode::eval).shape() == shape{1, 4});
}

TEST_CASE("resnet: h pooled from every stage — widths, columns, gradients by finite differences") {
  const encoders::resnet_options o{.blocks = {1, 1}, .base_width = 2, .in_channels = 2,
                                   .stem = encoders::stem::cifar,
                                   .pooling = encoders::pooling::every_stage, .seed = 4};
  auto net = encoders::resnet<encoders::basic_block, double>(o);
  CHECK(net.output_dim() == 2 + 4);
  CHECK(encoders::resnet18<float>({.base_width = 16, .pooling = encoders::pooling::every_stage})
            .output_dim() == 240);
  CHECK(encoders::resnet50<float>({.base_width = 4, .pooling = encoders::pooling::every_stage})
            .output_dim() == 16 + 32 + 64 + 128);
  // The same parameters as pooling::last_stage, whose h is the last stage's columns.
  auto last = encoders::resnet<encoders::basic_block, double>(
      {.blocks = {1, 1}, .base_width = 2, .in_channels = 2, .stem = encoders::stem::cifar,
       .seed = 4});
  auto x = test::randn(shape{2, 2, 6, 6}, 5);
  const auto h = net.forward(x, mode::eval), h_last = last.forward(x, mode::eval);
  REQUIRE(h.shape() == shape{2, 6});
  for (index_t i = 0; i < 2; ++i)
    for (index_t j = 0; j < 4; ++j) CHECK(h(i, 2 + j) == h_last(i, j));
  net.set_input_gradient(true);
  const auto r = test::check_layer(net, x, 6, true, {.max_checks = 40});
  CHECK_MESSAGE(r.passed, r.message());
  (void)net.forward(x, mode::train);
  CHECK_THROWS_WITH_AS(net.backward(tensor<double>(shape{2, 4})),
                       "simclr: resnet::backward: dh has shape (2, 4), expected (N, 6)",
                       shape_error);
  CHECK_THROWS_AS(net.backward(tensor<double>(shape{3, 6})), shape_error);
}

TEST_CASE("resnet: stages pooled over a grid — widths, columns, gradients by finite differences") {
  // Two stages of widths 2 and 4; 8 × 8 inputs leave them 8 × 8 and 4 × 4: grid 2 splits both
  // into equal cells, grid 3 into overlapping ones.
  const auto make = [](encoders::pooling pooling, index_t grid) {
    return encoders::resnet<encoders::basic_block, double>(
        {.blocks = {1, 1}, .base_width = 2, .in_channels = 2, .stem = encoders::stem::cifar,
         .pooling = pooling, .pool_grid = grid, .seed = 4});
  };
  auto every = make(encoders::pooling::every_stage, 1);
  auto grid2 = make(encoders::pooling::every_stage, 2);
  auto last3 = make(encoders::pooling::last_stage, 3);
  CHECK(grid2.output_dim() == (2 + 4) * 4);
  CHECK(last3.output_dim() == 4 * 9);
  CHECK(encoders::resnet18<float>(
            {.base_width = 16, .pooling = encoders::pooling::every_stage, .pool_grid = 2})
            .output_dim() == 960);
  auto x = test::randn(shape{2, 2, 8, 8}, 5);
  const auto h = every.forward(x, mode::eval), h2 = grid2.forward(x, mode::eval);
  REQUIRE(h2.shape() == shape{2, 24});
  // Channel c's four cells (columns 4c … 4c + 3) average to its global mean (equal cells).
  for (index_t i = 0; i < 2; ++i)
    for (index_t c = 0; c < 6; ++c) {
      const double mean =
          (h2(i, 4 * c) + h2(i, 4 * c + 1) + h2(i, 4 * c + 2) + h2(i, 4 * c + 3)) / 4;
      CHECK(mean == doctest::Approx(h(i, c)).epsilon(1e-12));
    }
  for (auto* net : {&grid2, &last3}) {
    net->set_input_gradient(true);
    const auto r = test::check_layer(*net, x, 6, true, {.max_checks = 40});
    CHECK_MESSAGE(r.passed, r.message());
  }
  (void)grid2.forward(x, mode::train);
  CHECK_THROWS_WITH_AS(grid2.backward(tensor<double>(shape{2, 6})),
                       "simclr: resnet::backward: dh has shape (2, 6), expected (N, 24)",
                       shape_error);
  CHECK_THROWS_WITH_AS(make(encoders::pooling::last_stage, 0),
                       "simclr: resnet options: pool_grid is 0, expected 1 to 64", value_error);
  CHECK_THROWS_AS(make(encoders::pooling::last_stage, 65), value_error);
}

TEST_CASE("resnet: same seed same weights; train step bit-identical on 1 and 2 threads") {
  auto run = [](std::size_t threads) {
    parallel::set_num_threads(threads);
    auto net = encoders::resnet18<float>(
        {.base_width = 4, .in_channels = 1, .stem = encoders::stem::cifar, .seed = 9});
    tensor<float> x(shape{12, 1, 12, 12}, uninitialized);
    random::fill_normal(x.view(), random::key(1));
    auto h = net.forward(x, mode::train);
    tensor<float> dh(h.shape(), uninitialized);
    random::fill_normal(dh.view(), random::key(2));
    net.backward(dh);
    std::vector<float> flat;
    for (const auto& p : net.parameters())
      flat.insert(flat.end(), p.grad->values().begin(), p.grad->values().end());
    return std::make_pair(h, flat);
  };
  const auto [h1, g1] = run(1);
  const auto [h2, g2] = run(2);
  parallel::set_num_threads(2);
  CHECK(std::memcmp(h1.data(), h2.data(), h1.bytes()) == 0);
  REQUIRE(g1.size() == g2.size());
  CHECK(std::memcmp(g1.data(), g2.data(), g1.size() * sizeof(float)) == 0);
  auto a = encoders::resnet18<float>({.base_width = 4, .seed = 3});
  auto b = encoders::resnet18<float>({.base_width = 4, .seed = 3});
  auto c = encoders::resnet18<float>({.base_width = 4, .seed = 4});
  CHECK(std::memcmp(a.parameters()[0].value->data(), b.parameters()[0].value->data(),
                    a.parameters()[0].value->bytes()) == 0);
  CHECK(std::memcmp(a.parameters()[0].value->data(), c.parameters()[0].value->data(),
                    a.parameters()[0].value->bytes()) != 0);
}

TEST_CASE("resnet: bad options and inputs") {
  CHECK_THROWS_AS((void)encoders::resnet18<float>({.base_width = 0}), value_error);
  CHECK_THROWS_AS((encoders::resnet<encoders::basic_block, float>({.blocks = {}})), value_error);
  auto net = encoders::resnet18<float>({.base_width = 2, .in_channels = 1});
  CHECK_THROWS_WITH_AS((void)net.forward(tensor<float>(shape{1, 3, 32, 32}), mode::eval),
                       "simclr: resnet: input has shape (1, 3, 32, 32), expected (N, 1, H, W)",
                       shape_error);
}

TEST_CASE("resnet: an eval forward between a train forward and backward changes nothing") {
  auto make = [] {
    return encoders::resnet18<double>({.base_width = 2, .in_channels = 1,
                                       .stem = encoders::stem::cifar, .seed = 3});
  };
  auto a = make(), b = make();
  const auto x = test::randn(shape{4, 1, 8, 8}, 1), other = test::randn(shape{2, 1, 8, 8}, 2);
  const auto h = a.forward(x, mode::train);
  (void)b.forward(x, mode::train);
  (void)b.forward(other, mode::eval);  // e.g. a monitor in the middle of a step
  const auto dh = test::randn(h.shape(), 3);
  a.backward(dh);
  b.backward(dh);
  const auto pa = a.parameters(), pb = b.parameters();
  for (std::size_t i = 0; i < pa.size(); ++i)
    CHECK(std::memcmp(pa[i].grad->data(), pb[i].grad->data(), pa[i].grad->bytes()) == 0);
}
