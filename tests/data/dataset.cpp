// Tests of <simclr/data/dataset.hpp>: image access, subsets (first, random, class-balanced),
// float batches and channel statistics.
#include <simclr/data/dataset.hpp>

#include <algorithm>
#include <set>

#include <doctest/doctest.h>

using namespace simclr;

namespace {

/// n images of 2×3×c with pixel value (i·10 + y·3 + x + k) mod 256 and label i mod classes.
data::dataset make(index_t n, index_t c, index_t classes) {
  data::dataset d;
  d.images = tensor<std::uint8_t, cpu_t>(shape{n, 2, 3, c});
  d.labels = tensor<std::int32_t, cpu_t>(shape{n});
  for (index_t i = 0; i < n; ++i) {
    d.labels(i) = static_cast<std::int32_t>(i % classes);
    for (index_t y = 0; y < 2; ++y)
      for (index_t x = 0; x < 3; ++x)
        for (index_t k = 0; k < c; ++k)
          d.images(i, y, x, k) = static_cast<std::uint8_t>((i * 10 + y * 3 + x + k) % 256);
  }
  d.num_classes = classes;
  return d;
}

}  // namespace

TEST_CASE("dataset: image(i) is an (H, W, C) copy, image_view(i) a view, bad indices throw") {
  const data::dataset d = make(4, 3, 2);
  d.validate();
  CHECK(d.size() == 4);
  const augment::image_u8 img = d.image(2);
  CHECK(img.shape() == shape{2, 3, 3});
  CHECK(img(1, 2, 1) == 20 + 3 + 2 + 1);
  const auto v = d.image_view(3);
  CHECK(v.shape() == shape{2, 3, 3});
  CHECK(v(0, 1, 0) == 31);
  CHECK(augment::to_float(img)(1, 1, 2) == doctest::Approx((20 + 3 + 2 + 1) / 255.0));
  CHECK_THROWS_AS((void)d.image(4), value_error);
  CHECK_THROWS_AS((void)d.label(-1), value_error);
  data::dataset empty;
  CHECK(empty.size() == 0);
  empty.validate();
}

TEST_CASE("dataset::validate reports a label out of range and mismatched shapes") {
  data::dataset d = make(3, 1, 3);
  d.labels(1) = 3;
  CHECK_THROWS_WITH_AS(d.validate(), doctest::Contains("label 1 is 3, expected 0..2"), value_error);
  d = make(3, 1, 3);
  d.labels = tensor<std::int32_t, cpu_t>(shape{2});
  CHECK_THROWS_AS(d.validate(), value_error);
  d = make(3, 1, 3);
  d.class_names = {"a"};
  CHECK_THROWS_WITH_AS(d.validate(), doctest::Contains("class_names has 1 names"), value_error);
}

TEST_CASE("subset and select copy the chosen images and labels") {
  const data::dataset d = make(6, 1, 3);
  const data::dataset s = data::subset(d, 2, 3);
  CHECK(s.size() == 3);
  CHECK(s.label(0) == 2);
  CHECK(s.image(2)(0, 0, 0) == 40);
  CHECK(s.num_classes == 3);
  const std::vector<index_t> idx = {5, 0, 5};
  const data::dataset t = data::select(d, idx);
  CHECK(t.image(0)(0, 0, 0) == 50);
  CHECK(t.image(1)(0, 0, 0) == 0);
  CHECK(t.label(2) == 2);
  CHECK_THROWS_AS((void)data::subset(d, 4, 3), value_error);
  const std::vector<index_t> bad = {6};
  CHECK_THROWS_WITH_AS((void)data::select(d, bad), doctest::Contains("index 6"), value_error);
}

TEST_CASE("random_subset: distinct, sorted, deterministic by seed, different across seeds") {
  const auto a = data::random_indices(1000, 100, 7);
  const auto b = data::random_indices(1000, 100, 7);
  const auto c = data::random_indices(1000, 100, 8);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(std::is_sorted(a.begin(), a.end()));
  CHECK(std::set<index_t>(a.begin(), a.end()).size() == 100);
  CHECK(a.back() < 1000);
  // Roughly uniform: the mean index of 100 draws from 0..999 is within 4 standard errors of 499.5.
  double mean = 0;
  for (index_t i : a) mean += static_cast<double>(i) / 100.0;
  CHECK(std::abs(mean - 499.5) < 4 * 288.7 / 10);
  CHECK(data::random_indices(5, 5, 1) == std::vector<index_t>{0, 1, 2, 3, 4});
  CHECK_THROWS_AS((void)data::random_indices(5, 6, 1), value_error);
  const data::dataset d = make(50, 1, 5);
  CHECK(data::random_subset(d, 10, 3).size() == 10);
}

TEST_CASE("balanced_subset takes per_class images of every class, label_fraction_subset rounds") {
  data::dataset d = make(100, 1, 4);  // 25 per class
  const auto idx = data::balanced_indices(d, 5, 11);
  CHECK(idx.size() == 20);
  CHECK(std::is_sorted(idx.begin(), idx.end()));
  const data::dataset s = data::balanced_subset(d, 5, 11);
  for (index_t c : data::class_counts(s)) CHECK(c == 5);
  CHECK(data::balanced_indices(d, 5, 11) == idx);
  CHECK(data::balanced_indices(d, 5, 12) != idx);
  const data::dataset ten = data::label_fraction_subset(d, 0.1, 1);  // round(0.1·100/4) = 3 (2.5 → 3)
  for (index_t c : data::class_counts(ten)) CHECK(c == 3);
  const data::dataset one = data::label_fraction_subset(d, 0.01, 1);  // at least 1 per class
  for (index_t c : data::class_counts(one)) CHECK(c == 1);
  d.class_names = {"a", "b", "c", "d"};
  CHECK_THROWS_WITH_AS((void)data::balanced_subset(d, 26, 1),
                       doctest::Contains("class 0 ('a') has 25 images, fewer than per_class = 26"),
                       value_error);
  CHECK_THROWS_AS((void)data::label_fraction_subset(d, 0.0, 1), value_error);
  CHECK_THROWS_AS((void)data::label_fraction_subset(d, 1.5, 1), value_error);
}

TEST_CASE("to_float_batch: (n, C, H, W) in 0..1, optional per-channel normalisation") {
  const data::dataset d = make(3, 3, 3);
  const tensor<float, cpu_t> b = data::to_float_batch(d, 1, 2);
  CHECK(b.shape() == shape{2, 3, 2, 3});
  CHECK(b(0, 2, 1, 0) == doctest::Approx((10 + 3 + 0 + 2) / 255.0));
  CHECK(b(1, 0, 0, 1) == doctest::Approx((20 + 1) / 255.0));
  const data::normalization n{{0.5f, 0.25f, 0.0f}, {0.5f, 2.0f, 1.0f}};
  const tensor<float, cpu_t> bn = data::to_float_batch(d, 1, 2, n);
  CHECK(bn(0, 0, 1, 2) == doctest::Approx(((10 + 3 + 2) / 255.0 - 0.5) / 0.5).epsilon(1e-6));
  CHECK(bn(1, 1, 0, 0) == doctest::Approx(((20 + 1) / 255.0 - 0.25) / 2.0).epsilon(1e-6));
  const std::vector<index_t> idx = {2, 0};
  CHECK(data::to_float_batch(d, idx)(1, 0, 0, 0) == 0.0f);
  CHECK_THROWS_AS((void)data::to_float_batch(d, 0, 2, data::normalization{{0.5f}, {0.5f}}), value_error);
  CHECK_THROWS_AS((void)data::to_float_batch(d, 0, 2, data::normalization{{0, 0, 0}, {1, 0, 1}}),
                  value_error);
  CHECK_THROWS_AS((void)data::to_float_batch(d, 2, 2), value_error);
}

TEST_CASE("channel_statistics: per-channel mean and population std of x / 255") {
  data::dataset d;
  d.images = tensor<std::uint8_t, cpu_t>(shape{2, 1, 1, 3}, {0, 255, 51, 255, 255, 51});
  d.labels = tensor<std::int32_t, cpu_t>(shape{2}, {0, 0});
  d.num_classes = 1;
  const data::normalization n = data::channel_statistics(d);
  REQUIRE(n.mean.size() == 3);
  CHECK(n.mean[0] == doctest::Approx(0.5));
  CHECK(n.std[0] == doctest::Approx(0.5));
  CHECK(n.mean[1] == doctest::Approx(1.0));
  CHECK(n.std[1] == doctest::Approx(0.0));
  CHECK(n.mean[2] == doctest::Approx(0.2));
}
