// Tests of <simclr/augment/multi_crop.hpp>: the concept, layout and keys of the global views and
// the small crops, independence of threads and batching, the Fashion-MNIST preset, errors.
#include <simclr/augment/multi_crop.hpp>

#include <vector>

#include <doctest/doctest.h>

#include <simclr/random/fill.hpp>

using namespace simclr;
using namespace simclr::augment;

namespace {
std::vector<image_u8> gray_images(index_t n, std::uint64_t seed) {
  std::vector<image_u8> out;
  for (index_t i = 0; i < n; ++i) {
    image_u8 img(shape{28, 28, 1}, uninitialized);
    random::stream rng(random::derive(seed, static_cast<std::uint64_t>(i)));
    for (index_t k = 0; k < img.numel(); ++k)
      img.data()[k] = static_cast<std::uint8_t>(rng.uniform_int(256));
    out.push_back(std::move(img));
  }
  return out;
}
/// Rows [r·per, (r + 1)·per) of a batch equal `view`, bit for bit.
bool row_equals(const tensor<float>& batch, index_t r, const tensor<float>& view) {
  const index_t per = batch.numel() / batch.extent(0);
  if (view.numel() != per) return false;
  for (index_t k = 0; k < per; ++k)
    if (batch.data()[r * per + k] != view.data()[k]) return false;
  return true;
}
}  // namespace

TEST_CASE("multi_crop: a multi_crop_policy and a view_policy, not a two-view augmentation") {
  using mc = multi_crop<grayscale_policy, grayscale_policy>;
  static_assert(multi_crop_policy<mc>);
  static_assert(view_policy<mc>);
  static_assert(!augmentation<mc>);
  static_assert(view_policy<grayscale_policy>);
  static_assert(!multi_crop_policy<grayscale_policy>);
  static_assert(!multi_crop_policy<int>);
  CHECK_THROWS_WITH_AS((void)mc(fashion_mnist_policy(), fashion_mnist_policy(16), -1),
                       doctest::Contains("-1 local crops, expected ≥ 0"), value_error);
}

TEST_CASE("multi_crop: global views are two_views'; crop j of image i is view 2 + j of its key") {
  const auto crops = fashion_mnist_multi_crop(3, 16);
  const auto imgs = gray_images(5, 7);
  const std::vector<std::uint64_t> samples = {40, 3, 17, 8, 99};
  const batch_position at{11, 2, 4};
  const crop_batch b =
      multi_crop_views(crops, std::span<const image_u8>(imgs), at, std::span(samples));
  REQUIRE(b.global.shape() == shape{10, 1, 28, 28});
  REQUIRE(b.local.shape() == shape{15, 1, 16, 16});
  const tensor<float> two = two_views(crops.global_policy(), std::span<const image_u8>(imgs), at,
                                      std::span(samples));
  CHECK(std::equal(two.data(), two.data() + two.numel(), b.global.data()));
  for (index_t j = 0; j < 3; ++j)
    for (index_t i = 0; i < 5; ++i) {
      random::stream rng(view_key(at, samples[static_cast<std::size_t>(i)],
                                  static_cast<std::uint64_t>(2 + j)));
      const tensor<float> crop = crops.local_policy()(to_float(imgs[static_cast<std::size_t>(i)]), rng);
      CHECK(row_equals(b.local, j * 5 + i, crop));
    }
  // The small crops differ from each other (distinct keys).
  CHECK_FALSE(std::equal(b.local.data(), b.local.data() + 256, b.local.data() + 5 * 256));
}

TEST_CASE("multi_crop: the same crops for any thread count and any batch composition") {
  const auto crops = fashion_mnist_multi_crop(2, 12);
  const auto imgs = gray_images(6, 3);
  const std::vector<std::uint64_t> samples = {5, 4, 3, 2, 1, 0};
  const batch_position at{1, 0, 0};
  parallel::thread_pool one(1), three(3);
  const crop_batch a =
      multi_crop_views(crops, std::span<const image_u8>(imgs), at, std::span(samples), one);
  const crop_batch b =
      multi_crop_views(crops, std::span<const image_u8>(imgs), at, std::span(samples), three);
  CHECK(std::equal(a.global.data(), a.global.data() + a.global.numel(), b.global.data()));
  CHECK(std::equal(a.local.data(), a.local.data() + a.local.numel(), b.local.data()));
  // Image 2 alone (sample 3) gets the rows it had in the batch of six.
  const std::vector<image_u8> alone = {imgs[2]};
  const std::vector<std::uint64_t> its = {3};
  const crop_batch c = multi_crop_views(crops, std::span<const image_u8>(alone), at, std::span(its));
  const index_t per = 12 * 12;
  for (index_t j = 0; j < 2; ++j)
    CHECK(std::equal(c.local.data() + j * per, c.local.data() + (j + 1) * per,
                     a.local.data() + (j * 6 + 2) * per));
}

TEST_CASE("multi_crop: no local crops gives the two views and an empty local batch") {
  const auto crops = fashion_mnist_multi_crop(0);
  const auto imgs = gray_images(3, 5);
  const crop_batch b = multi_crop_views(crops, std::span<const image_u8>(imgs), {2, 1, 0});
  CHECK(b.global.shape() == shape{6, 1, 28, 28});
  CHECK(b.local.numel() == 0);
}

TEST_CASE("multi_crop: a float batch; errors name the view group") {
  const auto crops = fashion_mnist_multi_crop(1, 14);
  tensor<float> batch(shape{2, 1, 28, 28}, uninitialized);
  random::fill_uniform(batch.view(), random::key(4));
  const crop_batch b = multi_crop_views(crops, batch, {0, 0, 0});
  CHECK(b.global.shape() == shape{4, 1, 28, 28});
  CHECK(b.local.shape() == shape{2, 1, 14, 14});
  CHECK_THROWS_WITH_AS((void)multi_crop_views(crops, tensor<float>(shape{28, 28}), {0, 0, 0}),
                       doctest::Contains("multi_crop_views: the batch has shape"), shape_error);
  const std::vector<std::uint64_t> wrong = {1};
  CHECK_THROWS_WITH_AS((void)multi_crop_views(crops, batch, {0, 0, 0}, std::span(wrong)),
                       doctest::Contains("(global views): 1 sample indices for 2 images"),
                       shape_error);
}
