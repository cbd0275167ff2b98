// Tests of <simclr/augment/two_views.hpp>: layout, keys, thread-count and batching independence.
#include <simclr/augment/two_views.hpp>

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/augment/gaussian_blur.hpp>
#include <simclr/augment/policy.hpp>
#include <simclr/random/fill.hpp>

#include "support/fixture.hpp"

using namespace simclr;
using namespace simclr::augment;

namespace {
std::vector<image_f32> images(index_t n, index_t h, index_t w, std::uint64_t seed) {
  std::vector<image_f32> out;
  for (index_t i = 0; i < n; ++i) {
    image_f32 img(shape{3, h + i, w + 2 * i}, uninitialized);  // sizes differ
    random::fill_uniform(img.view(), random::derive(seed, static_cast<std::uint64_t>(i)));
    out.push_back(std::move(img));
  }
  return out;
}
tensor<float> row(const tensor<float>& batch, index_t r) {
  const index_t per = batch.numel() / batch.extent(0);
  tensor<float> out(shape{batch.extent(1), batch.extent(2), batch.extent(3)}, uninitialized);
  std::copy(batch.data() + r * per, batch.data() + (r + 1) * per, out.data());
  return out;
}
}  // namespace

TEST_CASE("rows i and i+N are the two views of image i under their keys") {
  const simclr_policy policy = cifar_policy();
  const std::vector<image_f32> imgs = images(5, 36, 40, 1);
  const batch_position at{42, 3, 7};
  const tensor<float> batch = two_views(policy, std::span<const image_f32>(imgs), at);
  REQUIRE(batch.shape() == shape{10, 3, 32, 32});
  for (index_t i = 0; i < 5; ++i) {
    for (std::uint64_t v = 0; v < 2; ++v) {
      random::stream rng(random::derive(42, 3, 7 * 5 + static_cast<std::uint64_t>(i), v));
      const tensor<float> expected = policy(imgs[static_cast<std::size_t>(i)], rng);
      CHECK(test::max_abs_diff(row(batch, static_cast<index_t>(v) * 5 + i), expected) == 0.0);
    }
    CHECK(test::max_abs_diff(row(batch, i), row(batch, i + 5)) > 0.0);  // two different views
  }
}

TEST_CASE("two_views is bit-identical for any number of threads") {
  const simclr_policy policy = imagenet_policy();
  const std::vector<image_f32> imgs = images(6, 60, 70, 2);
  const batch_position at{1, 2, 3};
  parallel::thread_pool one(1), two(2), three(3);
  const tensor<float> a = two_views(policy, std::span<const image_f32>(imgs), at, {}, one);
  const tensor<float> b = two_views(policy, std::span<const image_f32>(imgs), at, {}, two);
  const tensor<float> c = two_views(policy, std::span<const image_f32>(imgs), at, {}, three);
  REQUIRE(a.shape() == shape{12, 3, 224, 224});
  CHECK(std::equal(a.values().begin(), a.values().end(), b.values().begin()));
  CHECK(std::equal(a.values().begin(), a.values().end(), c.values().begin()));
}

TEST_CASE("a sample's views do not depend on the batch it is in") {
  const simclr_policy policy = cifar_policy();
  const std::vector<image_f32> imgs = images(4, 32, 32, 3);
  const std::vector<std::uint64_t> ids{100, 7, 55, 9};
  const tensor<float> all = two_views(policy, std::span<const image_f32>(imgs), {5, 1, 0}, ids);
  const std::vector<image_f32> tail(imgs.begin() + 2, imgs.end());
  const std::vector<std::uint64_t> tail_ids(ids.begin() + 2, ids.end());
  const tensor<float> part =
      two_views(policy, std::span<const image_f32>(tail), {5, 1, 9}, tail_ids);
  CHECK(test::max_abs_diff(row(all, 2), row(part, 0)) == 0.0);
  CHECK(test::max_abs_diff(row(all, 3), row(part, 1)) == 0.0);
  CHECK(test::max_abs_diff(row(all, 6), row(part, 2)) == 0.0);
  CHECK(test::max_abs_diff(row(all, 7), row(part, 3)) == 0.0);
  // Another epoch gives other views.
  const tensor<float> next = two_views(policy, std::span<const image_f32>(imgs), {5, 2, 0}, ids);
  CHECK(test::max_abs_diff(row(all, 0), row(next, 0)) > 0.0);
}

TEST_CASE("8-bit and (N C H W) inputs give the same batch as float images") {
  const simclr_policy policy = cifar_policy();
  std::vector<image_u8> u8;
  std::vector<image_f32> f32;
  tensor<float> nchw(shape{3, 3, 32, 32}, uninitialized);
  for (index_t i = 0; i < 3; ++i) {
    image_u8 img(shape{32, 32, 3}, uninitialized);
    for (index_t k = 0; k < img.numel(); ++k)
      img.data()[k] = static_cast<std::uint8_t>((k * 7 + i * 31) % 256);
    f32.push_back(to_float(img));
    std::copy(f32.back().data(), f32.back().data() + f32.back().numel(),
              nchw.data() + i * 3 * 32 * 32);
    u8.push_back(std::move(img));
  }
  const batch_position at{9, 0, 4};
  const tensor<float> a = two_views(policy, std::span<const image_f32>(f32), at);
  const tensor<float> b = two_views(policy, std::span<const image_u8>(u8), at);
  const tensor<float> c = two_views(policy, nchw, at);
  CHECK(test::max_abs_diff(a, b) == 0.0);
  CHECK(test::max_abs_diff(a, c) == 0.0);
}

TEST_CASE("TF blur uses one sigma per batch and view") {
  // Policy: TF blur, always on. Every view v of every image is blurred with the σ drawn from the
  // key of (batch, view v).
  const auto policy =
      compose(random_apply(1.0, random_gaussian_blur({0.1f, 2.0f}, 5, 0.1, semantics::tf)));
  std::vector<image_f32> imgs;
  for (std::uint64_t i = 0; i < 3; ++i) {
    image_f32 img(shape{3, 16, 16}, uninitialized);
    random::fill_uniform(img.view(), random::derive(4, i));
    imgs.push_back(std::move(img));
  }
  const batch_position at{11, 0, 2};
  const tensor<float> batch = two_views(policy, std::span<const image_f32>(imgs), at);
  const auto sigma_of_view = [&](std::uint64_t v) {
    return *std::get<0>(policy.for_batch(batch_view_key(at, v)).ops).op.fixed_sigma;
  };
  const float s0 = sigma_of_view(0), s1 = sigma_of_view(1);
  CHECK(s0 != s1);
  for (index_t i = 0; i < 3; ++i) {
    const image_f32& img = imgs[static_cast<std::size_t>(i)];
    CHECK(test::max_abs_diff(row(batch, i), gaussian_blur(img, 5, s0, blur_padding::zero)) == 0.0);
    CHECK(test::max_abs_diff(row(batch, i + 3), gaussian_blur(img, 5, s1, blur_padding::zero)) ==
          0.0);
  }
}

TEST_CASE("views of different sizes and empty batches are errors") {
  const auto keep_size = compose(random_horizontal_flip());
  const std::vector<image_f32> imgs = images(2, 8, 8, 5);  // 8×8 and 9×10
  CHECK_THROWS_AS((void)two_views(keep_size, std::span<const image_f32>(imgs), {}), shape_error);
  CHECK_THROWS_AS((void)two_views(keep_size, std::span<const image_f32>(), {}), shape_error);
  const std::vector<std::uint64_t> ids{1};
  CHECK_THROWS_AS((void)two_views(cifar_policy(), std::span<const image_f32>(imgs), {}, ids),
                  shape_error);
}

namespace {
/// A policy whose output is (1, S, S) with S = 4, except view `odd_view` of image `odd_image`
/// (found from the stream's first number), which is 5 × 5; or a (S, S) matrix with `flat`.
struct odd_size_policy {
  std::uint32_t odd_draw = 0;  ///< the first u32 of the odd view's stream
  bool flat = false;
  tensor<float> operator()(const tensor<float>&, random::stream& rng) const {
    const index_t s = rng.next_u32() == odd_draw && !flat ? 5 : 4;
    return flat ? tensor<float>(shape{s, s}) : tensor<float>(shape{1, s, s});
  }
};
std::string message_of(const auto& call) {
  try {
    (void)call();
  } catch (const shape_error& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST_CASE("a view of another shape or rank is named, the same on any number of threads") {
  const std::vector<image_f32> imgs = images(40, 4, 4, 7);
  const batch_position at{.seed = 3, .epoch = 1, .batch_index = 0};
  // The odd view: view 1 of image 29, deep in the second thread's share.
  odd_size_policy policy{.odd_draw = random::stream(view_key(at, 29, 1)).next_u32()};
  for (const std::size_t threads : {1, 2, 3}) {
    CAPTURE(threads);
    parallel::thread_pool pool(threads);
    const auto call = [&] {
      return two_views(policy, std::span<const image_f32>(imgs), at, {}, pool);
    };
    CHECK(message_of(call) ==
          "simclr: augment::two_views: view 1 of image 29 has shape (1, 5, 5), the first "
          "view (1, 4, 4); the policy must give one size");
    policy.flat = true;
    CHECK(message_of(call) ==
          "simclr: augment::two_views: the policy returned shape (4, 4), expected (C, S, S)");
    policy.flat = false;
    // Without the odd view, the same policy gives the (2N, 1, 4, 4) batch.
    odd_size_policy even{.odd_draw = policy.odd_draw + 1};
    CHECK(two_views(even, std::span<const image_f32>(imgs), at, {}, pool).shape() ==
          shape{80, 1, 4, 4});
  }
}
