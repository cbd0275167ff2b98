#include <simclr/train/loader.hpp>

#include <algorithm>
#include <cstring>

#include <doctest/doctest.h>

#include <simclr/augment/policy.hpp>

#include "support/toy_data.hpp"

using namespace simclr;

TEST_CASE("epoch_order: a permutation keyed by (seed, epoch)") {
  const auto a = train::epoch_order(100, 1, 0, true), b = train::epoch_order(100, 1, 0, true);
  const auto c = train::epoch_order(100, 1, 1, true);
  CHECK(a == b);
  CHECK(a != c);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) CHECK(sorted[i] == i);
  CHECK(train::epoch_order(5, 1, 0, false) == std::vector<std::uint64_t>{0, 1, 2, 3, 4});
}

TEST_CASE("two_view_loader: full batches, in order, identical for any thread count") {
  const test::toy_images data(50, 12, 4, 1);
  const auto policy = augment::fashion_mnist_policy(10);
  auto run = [&](std::size_t threads) {
    train::two_view_loader loader(data, policy, {.batch_size = 16, .seed = 3, .threads = threads});
    CHECK(loader.batches_per_epoch() == 3);  // 50 / 16, the last partial batch dropped
    loader.start_epoch(2);
    std::vector<train::view_batch> out;
    while (auto b = loader.next()) out.push_back(std::move(*b));
    CHECK(out.size() == 3);
    return out;
  };
  const auto one = run(1), two = run(2);
  for (std::size_t i = 0; i < one.size(); ++i) {
    CHECK(one[i].index == i);
    CHECK(one[i].views.shape() == shape{32, 1, 10, 10});
    CHECK(one[i].samples == two[i].samples);
    CHECK(std::memcmp(one[i].views.data(), two[i].views.data(), one[i].views.bytes()) == 0);
  }
  // The two views of an image differ (they are augmented independently).
  CHECK(std::memcmp(one[0].views.data(), one[0].views.data() + 16 * 100, 100 * sizeof(float)) != 0);
}

TEST_CASE("two_view_loader: errors reach the consumer; too small a data set is rejected") {
  const test::toy_images data(10, 12, 2, 1);
  const auto policy = augment::fashion_mnist_policy(20);  // fine: the crop resizes up
  CHECK_THROWS_AS(train::two_view_loader(data, policy, {.batch_size = 11}), value_error);
  struct broken {
    index_t size() const { return 8; }
    augment::image_u8 image(index_t i) const {
      if (i == 5) throw io_error("img5.png", "truncated");
      return augment::image_u8(shape{4, 4, 1});
    }
  } bad;
  train::two_view_loader loader(bad, policy, {.batch_size = 4, .shuffle = false});
  loader.start_epoch(0);
  CHECK(loader.next().has_value());
  CHECK_THROWS_WITH_AS((void)loader.next(), "img5.png: truncated", io_error);
}

TEST_CASE("two_view_loader raw_images: the decoded images stacked, the same samples, no views") {
  const test::toy_images data(50, 12, 4, 1);
  const auto policy = augment::fashion_mnist_policy(10);
  train::two_view_loader views(data, policy, {.batch_size = 16, .seed = 3});
  train::two_view_loader raw(data, policy, {.batch_size = 16, .seed = 3, .raw_images = true});
  views.start_epoch(1);
  raw.start_epoch(1);
  index_t batches = 0;
  while (auto r = raw.next()) {
    const auto v = views.next();
    REQUIRE(v.has_value());
    CHECK(r->index == v->index);
    CHECK(r->epoch == 1);
    CHECK(r->samples == v->samples);  // the same order: device views get the same keys
    CHECK(r->views.numel() == 0);
    REQUIRE(r->images.shape() == shape{16, 12, 12, 1});
    for (std::size_t i = 0; i < r->samples.size(); ++i) {
      const auto& img = data.image(static_cast<index_t>(r->samples[i]));
      CHECK(std::memcmp(r->images.data() + static_cast<index_t>(i) * 144, img.data(), 144) == 0);
    }
    // What the device makes from the raw batch: two_views of the same images and keys.
    std::vector<augment::image_u8> imgs;
    for (const auto s : r->samples) imgs.push_back(data.image(static_cast<index_t>(s)));
    const tensor<float> again =
        augment::two_views(policy, std::span<const augment::image_u8>(imgs), {3, 1, r->index},
                           r->samples);
    CHECK(std::memcmp(again.data(), v->views.data(), again.bytes()) == 0);
    ++batches;
  }
  CHECK(batches == 3);
}

TEST_CASE("two_view_loader raw_images: images of different sizes in one batch are an error") {
  struct mixed {
    index_t size() const { return 8; }
    augment::image_u8 image(index_t i) const {
      return augment::image_u8(shape{i == 6 ? 5 : 4, 4, 3});
    }
  } data;
  const auto policy = augment::cifar_policy();
  train::two_view_loader loader(data, policy,
                                {.batch_size = 4, .shuffle = false, .raw_images = true});
  loader.start_epoch(0);
  const auto first = loader.next();
  REQUIRE(first.has_value());
  CHECK(first->images.shape() == shape{4, 4, 4, 3});
  CHECK_THROWS_WITH_AS((void)loader.next(),
                       doctest::Contains("image 6 has shape (5, 4, 3), image 4 of the same batch "
                                         "(4, 4, 3)"),
                       shape_error);
}

TEST_CASE("two_view_loader shards: the slices of k shards are the global batch, view for view, also when k does not divide it") {
  const test::toy_images data(50, 12, 4, 1);
  const auto policy = augment::fashion_mnist_policy(10);
  const auto batches = [&](int shard, int shards) {
    train::two_view_loader loader(data, policy,
                                  {.batch_size = 12, .seed = 3, .shard = shard, .shards = shards});
    CHECK(loader.batches_per_epoch() == 4);  // global batches: 50 / 12
    loader.start_epoch(1);
    std::vector<train::view_batch> out;
    while (auto b = loader.next()) out.push_back(std::move(*b));
    return out;
  };
  const auto whole = batches(0, 1);
  REQUIRE(whole.size() == 4);
  const index_t per = 1 * 10 * 10;
  // k = 5 and 7 do not divide 12: slices of 2 or 3 (2, 2, 3, 2, 3) and of 1 or 2 images.
  for (const int k : {2, 3, 4, 5, 7, 12}) {
    CAPTURE(k);
    index_t next = 0;  // the slices are contiguous and cover the batch
    for (int r = 0; r < k; ++r) {
      const auto [first, n] = train::slice_of_batch(12, r, k);
      CHECK(first == next);
      CHECK((n == 12 / k || n == 12 / k + 1));
      next = first + n;
      const auto part = batches(r, k);
      REQUIRE(part.size() == whole.size());
      for (std::size_t b = 0; b < part.size(); ++b) {
        CHECK(part[b].views.shape() == shape{2 * n, 1, 10, 10});
        // Samples first … first + n − 1 of the global batch, and exactly their two views.
        CHECK(std::equal(part[b].samples.begin(), part[b].samples.end(),
                         whole[b].samples.begin() + first));
        for (index_t half = 0; half < 2; ++half)
          CHECK(std::memcmp(part[b].views.data() + half * n * per,
                            whole[b].views.data() + (half * 12 + first) * per,
                            static_cast<std::size_t>(n * per) * sizeof(float)) == 0);
      }
    }
    CHECK(next == 12);
  }
  CHECK_THROWS_WITH_AS(train::two_view_loader(data, policy, {.batch_size = 12, .shard = 0, .shards = 13}),
                       doctest::Contains("at least one image per process"), value_error);
  CHECK_THROWS_WITH_AS(train::two_view_loader(data, policy, {.batch_size = 12, .shard = 2, .shards = 2}),
                       doctest::Contains("shard 2 of 2"), value_error);
}
