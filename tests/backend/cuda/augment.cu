// Device two_views (augment/cuda/two_views.cuh) against the CPU two_views with the same keys.
#include <simclr/augment/cuda/two_views.cuh>
#include <simclr/transfer.cuh>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/augment/policy.hpp>

#include "support/user_ops.hpp"

using namespace simclr;
using namespace simclr::augment;

namespace {

/// N (H, W, C) 8-bit images (gradients, blocks of noise) and the same as one (N, H, W, C) batch.
struct image_batch {
  std::vector<image_u8> images;
  tensor<std::uint8_t> stacked;
};
image_batch make_images(index_t n, index_t h, index_t w, index_t c, std::uint64_t seed) {
  image_batch b{{}, tensor<std::uint8_t>(shape{n, h, w, c}, uninitialized)};
  for (index_t i = 0; i < n; ++i) {
    image_u8 img(shape{h, w, c}, uninitialized);
    random::stream rng(random::derive(seed, static_cast<std::uint64_t>(i)));
    for (index_t k = 0; k < h * w * c; ++k) {
      const index_t y = k / (w * c), x = (k / c) % w;
      const std::uint32_t noise = rng.uniform_int(40);
      img.data()[k] = static_cast<std::uint8_t>(((x / 5 + y / 7) % 3 == 0)
                                                    ? noise * 6
                                                    : (static_cast<std::uint32_t>(k * 7 + i * 31) + noise) % 256);
    }
    std::copy(img.data(), img.data() + h * w * c, b.stacked.data() + i * h * w * c);
    b.images.push_back(std::move(img));
  }
  return b;
}

/// max |device − CPU| over every view of the batch.
template <class Policy>
double device_vs_cpu(const Policy& policy, const image_batch& b, const batch_position& at,
                     std::span<const std::uint64_t> samples = {}) {
  const tensor<float> cpu =
      two_views(policy, std::span<const image_u8>(b.images), at, samples);
  const tensor<float, cuda_t> dev = two_views(policy, to_device(b.stacked), at, samples);
  REQUIRE(dev.shape() == cpu.shape());
  const tensor<float> back = to_host(dev);
  double worst = 0.0;
  for (index_t i = 0; i < cpu.numel(); ++i) {
    const double d = std::abs(static_cast<double>(cpu.data()[i]) - back.data()[i]);
    worst = std::isnan(d) ? INFINITY : std::max(worst, d);
  }
  return worst;
}

// The device rounds every product and sum as the host does (no FMA contraction in apply_view,
// the blur kernel computed on the host); what may differ is the order of the double sums of the
// contrast means, a last-bit change of the mean. Expected ≤ 1e-6, asserted ≤ 1e-5.
constexpr double tolerance = 1e-5;

}  // namespace

TEST_CASE("device two_views = CPU two_views: CIFAR policy, both semantics, 32 px") {
  const image_batch b = make_images(64, 32, 32, 3, 1);
  const double tv = device_vs_cpu(cifar_policy(), b, {42, 1, 3});
  const double tf = device_vs_cpu(cifar_policy(semantics::tf), b, {42, 1, 3});
  MESSAGE("cifar: torchvision " << tv << ", tf " << tf);
  CHECK(tv <= tolerance);
  CHECK(tf <= tolerance);
}

TEST_CASE("device two_views = CPU two_views: ImageNet policy with blur and solarize") {
  const image_batch b = make_images(12, 150, 180, 3, 2);
  policy_options o;
  o.solarize_p = 0.3;
  const double tv = device_vs_cpu(make_simclr_policy(o), b, {7, 2, 5});
  o.sem = semantics::tf;
  const double tf = device_vs_cpu(make_simclr_policy(o), b, {7, 2, 5});
  o.brightness = tf_brightness::additive;
  std::vector<std::uint64_t> samples;
  for (std::uint64_t i = 0; i < 12; ++i) samples.push_back(500 + 3 * i);
  const double tf1 = device_vs_cpu(make_simclr_policy(o), b, {7, 2, 5}, samples);
  MESSAGE("imagenet: torchvision " << tv << ", tf " << tf << ", tf additive " << tf1);
  CHECK(tv <= tolerance);
  CHECK(tf <= tolerance);
  CHECK(tf1 <= tolerance);
}

TEST_CASE("device two_views: a small blur scratch budget splits the views into launches") {
  // Scratch for 5 views per launch: 24 views run in 5 launches, the last one short, and give
  // the same bytes as one launch.
  const image_batch b = make_images(12, 40, 48, 3, 4);
  policy_options o;
  o.size = 32;
  o.blur_p = 1.0;  // every view blurs, so every view needs scratch
  const auto policy = make_simclr_policy(o);
  const auto images = to_device(b.stacked);
  const u8_hwc_source src{images.data(), 40, 48, 3};
  const tensor<float> whole =
      to_host(cuda_detail::two_views_on_device(policy, src, 12, {3, 1, 0}, {}));
  const tensor<float> split =
      to_host(cuda_detail::two_views_on_device(policy, src, 12, {3, 1, 0}, {}, 5 * 3 * 32 * 32));
  REQUIRE(whole.shape() == split.shape());
  CHECK(std::equal(whole.data(), whole.data() + whole.numel(), split.data()));
}

TEST_CASE("device two_views = CPU two_views: Fashion-MNIST policy, 1 channel") {
  const image_batch b = make_images(64, 28, 28, 1, 3);
  const double d = device_vs_cpu(fashion_mnist_policy(), b, {5, 0, 2});
  MESSAGE("fashion-mnist: " << d);
  CHECK(d <= tolerance);
}

TEST_CASE("device two_views = CPU two_views: a user's op (the example's cutout), ops in another order") {
  const image_batch b = make_images(24, 26, 30, 3, 6);
  const double order = device_vs_cpu(test::jitter_twice_policy(20), b, {6, 1, 2});
  const double no_crop = device_vs_cpu(test::cutout_gray_jitter_policy(), b, {6, 1, 3});
  MESSAGE("user op, any order: " << order << ", no crop " << no_crop);
  CHECK(order <= tolerance);
  CHECK(no_crop <= tolerance);
}

TEST_CASE("device two_views: bad shapes and sample counts throw before any launch") {
  const auto policy = cifar_policy();
  const tensor<std::uint8_t, cuda_t> four_channels(shape{2, 32, 32, 4});
  CHECK_THROWS_WITH_AS((void)two_views(policy, four_channels, {}),
                       doctest::Contains("(N, H, W, C) 8-bit batch"), shape_error);
  const tensor<std::uint8_t, cuda_t> rank3(shape{32, 32, 3});
  CHECK_THROWS_AS((void)two_views(policy, rank3, {}), shape_error);
  const tensor<std::uint8_t, cuda_t> ok(shape{3, 32, 32, 3});
  const std::vector<std::uint64_t> two{1, 2};
  CHECK_THROWS_WITH_AS((void)two_views(policy, ok, {}, two),
                       doctest::Contains("2 sample indices for 3 images"), shape_error);
}
