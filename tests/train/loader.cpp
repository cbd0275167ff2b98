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
