// Tests of <simclr/augment/resized_crop.hpp>: resize against torchvision, the two crop samplers.
#include <simclr/augment/resized_crop.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "support/fixture.hpp"
#include "support/statistics.hpp"

using namespace simclr;
using namespace simclr::augment;

namespace {

const test::fixture_file& samplers() {
  static const test::fixture_file f(test::fixtures_dir() / "augment" / "sampler.bin");
  return f;
}

struct crop_stats {
  std::vector<double> area;       // h·w / (H·W)
  std::vector<double> log_ratio;  // log(w / h)
};

crop_stats stats_of(const std::vector<float>& hw, index_t H, index_t W) {
  crop_stats s;
  for (std::size_t i = 0; i + 1 < hw.size(); i += 2) {
    const double h = hw[i], w = hw[i + 1];
    s.area.push_back(h * w / static_cast<double>(H * W));
    s.log_ratio.push_back(std::log(w / h));
  }
  return s;
}

template <class Sampler>
crop_stats draw(Sampler&& sampler, index_t H, index_t W, int n, std::uint64_t seed) {
  std::vector<float> hw;
  for (int i = 0; i < n; ++i) {
    random::stream rng(random::derive(seed, static_cast<std::uint64_t>(i)));
    const crop_box b = sampler(rng);
    REQUIRE(b.height >= 1);
    REQUIRE(b.width >= 1);
    REQUIRE(b.top >= 0);
    REQUIRE(b.left >= 0);
    REQUIRE(b.top + b.height <= H);
    REQUIRE(b.left + b.width <= W);
    hw.push_back(static_cast<float>(b.height));
    hw.push_back(static_cast<float>(b.width));
  }
  return stats_of(hw, H, W);
}

}  // namespace

TEST_CASE("resized_crop matches torchvision resized_crop with antialias off") {
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  for (const std::string mode : {"bilinear", "bicubic"}) {
    for (const std::string name : {"up", "down", "same", "mixed", "strip"}) {
      CAPTURE(mode);
      CAPTURE(name);
      const auto& p = test::augment_ops().at("crop_" + mode + "_" + name + "_box").values;
      const crop_box box{static_cast<index_t>(p[0]), static_cast<index_t>(p[1]),
                         static_cast<index_t>(p[2]), static_cast<index_t>(p[3])};
      const tensor<float> out =
          resized_crop(img, box, static_cast<index_t>(p[4]), static_cast<index_t>(p[5]),
                       mode == "bilinear" ? interpolation::bilinear : interpolation::bicubic);
      CHECK(test::max_abs_diff(out, test::augment_ops().tensor_at("crop_" + mode + "_" + name)) <= 1e-5);
    }
  }
}

TEST_CASE("bicubic_tf matches TF2 resize_bicubic with half-pixel centres") {
  // Reference: a restatement of TF's kernel in tests/fixtures/generate_augment.py.
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  for (const std::string name : {"up", "down", "same", "mixed", "strip"}) {
    CAPTURE(name);
    const auto& p = test::augment_ops().at("crop_bicubic_" + name + "_box").values;
    const crop_box box{static_cast<index_t>(p[0]), static_cast<index_t>(p[1]),
                       static_cast<index_t>(p[2]), static_cast<index_t>(p[3])};
    const tensor<float> out = resized_crop(img, box, static_cast<index_t>(p[4]),
                                           static_cast<index_t>(p[5]), interpolation::bicubic_tf);
    CHECK(test::max_abs_diff(out, test::augment_ops().tensor_at("crop_bicubic_tf_" + name)) <= 1e-5);
    if (name == "up") {  // a = −0.5 and dropped edge taps: not torch's bicubic
      CHECK(test::max_abs_diff(out, test::augment_ops().tensor_at("crop_bicubic_up")) > 1e-3);
    }
  }
}

TEST_CASE("resize of a 1-channel image matches torchvision") {
  const tensor<float> img = test::augment_ops().tensor_at("img1");
  CHECK(test::max_abs_diff(resize(img, 13, 4, interpolation::bilinear),
                           test::augment_ops().tensor_at("crop_bilinear_gray")) <= 1e-5);
  CHECK(test::max_abs_diff(resize(img, 13, 4, interpolation::bicubic),
                           test::augment_ops().tensor_at("crop_bicubic_gray")) <= 1e-5);
}

TEST_CASE("resize to the same size is the identity") {
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  CHECK(test::max_abs_diff(resize(img, 9, 11), img) == 0.0);
  CHECK(test::max_abs_diff(resize(img, 9, 11, interpolation::bicubic), img) == 0.0);
  CHECK(test::max_abs_diff(resize(img, 9, 11, interpolation::bicubic_tf), img) == 0.0);
}

TEST_CASE("resized_crop rejects boxes outside the image and empty sizes") {
  const tensor<float> img(shape{3, 8, 8});
  CHECK_THROWS_AS((void)resized_crop(img, {0, 0, 9, 8}, 4, 4), value_error);
  CHECK_THROWS_AS((void)resized_crop(img, {-1, 0, 4, 4}, 4, 4), value_error);
  CHECK_THROWS_AS((void)resized_crop(img, {0, 0, 0, 4}, 4, 4), value_error);
  CHECK_THROWS_AS((void)resized_crop(img, {0, 0, 4, 4}, 0, 4), value_error);
  CHECK_THROWS_AS((void)resized_crop(tensor<float>(shape{2, 8, 8}), {0, 0, 4, 4}, 4, 4),
                  shape_error);
}

TEST_CASE("torchvision crop sampler matches RandomResizedCrop.get_params in distribution") {
  for (const auto& entry : {std::pair<index_t, index_t>{32, 32}, {300, 400}}) {
    const auto& H = std::get<0>(entry);
    const auto& W = std::get<1>(entry);
    CAPTURE(H);
    CAPTURE(W);
    const std::string size = std::to_string(H) + "x" + std::to_string(W);
    const crop_stats ref = stats_of(samplers().at("torchvision_" + size).values, H, W);
    const crop_stats ours = draw(
        [&](random::stream& rng) {
          return sample_crop_torchvision(H, W, {0.08, 1.0}, {3.0 / 4.0, 4.0 / 3.0}, rng);
        },
        H, W, 20000, 11);
    CHECK(test::ks_statistic(ours.area, ref.area) < test::ks_critical(20000, ref.area.size()));
    CHECK(test::ks_statistic(ours.log_ratio, ref.log_ratio) <
          test::ks_critical(20000, ref.log_ratio.size()));
  }
}

TEST_CASE("TF crop sampler matches sample_distorted_bounding_box in distribution") {
  for (const auto& entry : {std::pair<index_t, index_t>{32, 32}, {300, 400}}) {
    const auto& H = std::get<0>(entry);
    const auto& W = std::get<1>(entry);
    CAPTURE(H);
    CAPTURE(W);
    const std::string size = std::to_string(H) + "x" + std::to_string(W);
    const crop_stats ref = stats_of(samplers().at("tf_" + size).values, H, W);
    const crop_stats ours = draw(
        [&](random::stream& rng) {
          return sample_crop_tf(H, W, {0.08, 1.0}, {3.0 / 4.0, 4.0 / 3.0}, rng);
        },
        H, W, 20000, 12);
    CHECK(test::ks_statistic(ours.area, ref.area) < test::ks_critical(20000, ref.area.size()));
    CHECK(test::ks_statistic(ours.log_ratio, ref.log_ratio) <
          test::ks_critical(20000, ref.log_ratio.size()));
    // TF's crops cover at least 10% of the image.
    CHECK(*std::min_element(ours.area.begin(), ours.area.end()) >= 0.1 - 1e-6);
  }
}

TEST_CASE("the KS check tells the two samplers apart") {
  // The test above can fail: torchvision's sampler is not TF's (log-uniform ratio, area-uniform
  // size, min area 0.08 instead of 0.1).
  const crop_stats tf_ref = stats_of(samplers().at("tf_300x400").values, 300, 400);
  const crop_stats tv = draw(
      [&](random::stream& rng) {
        return sample_crop_torchvision(300, 400, {0.08, 1.0}, {3.0 / 4.0, 4.0 / 3.0}, rng);
      },
      300, 400, 20000, 13);
  CHECK(test::ks_statistic(tv.area, tf_ref.area) > test::ks_critical(20000, tf_ref.area.size()));
}

TEST_CASE("torchvision sampler falls back to a central crop clamped to the ratio range") {
  // A 10×100 strip: no 3/4..4/3 box of area ≥ 0.9 fits, so every draw falls back.
  random::stream rng(random::key(5));
  const crop_box b = sample_crop_torchvision(10, 100, {0.9, 1.0}, {3.0 / 4.0, 4.0 / 3.0}, rng);
  CHECK(b == crop_box{0, 43, 10, 13});  // w = round(10 · 4/3) = 13, centred
  const crop_box t = sample_crop_torchvision(100, 10, {0.9, 1.0}, {3.0 / 4.0, 4.0 / 3.0}, rng);
  CHECK(t == crop_box{43, 0, 13, 10});  // h = round(10 / (3/4)) = 13
  const crop_box whole = sample_crop_tf(10, 100, {0.9, 1.0}, {3.0 / 4.0, 4.0 / 3.0}, rng);
  CHECK(whole == crop_box{0, 0, 10, 100});
}

TEST_CASE("torchvision sampler positions are uniform over the free range") {
  // A 40×40 image, area fraction 0.25, ratio 1: always a 20×20 box, its top uniform in [0, 20].
  std::vector<int> tops(21, 0);
  for (int i = 0; i < 21000; ++i) {
    random::stream rng(random::derive(9, static_cast<std::uint64_t>(i)));
    const crop_box b = sample_crop_torchvision(40, 40, {0.25, 0.25}, {1.0, 1.0}, rng);
    REQUIRE(b.height == 20);
    REQUIRE(b.width == 20);
    ++tops[static_cast<std::size_t>(b.top)];
  }
  for (const int n : tops) CHECK(test::binomial_ok(static_cast<std::size_t>(n), 21000, 1.0 / 21.0));
}

TEST_CASE("random_resized_crop gives the requested size and validates its parameters") {
  const tensor<float> img(shape{3, 50, 70});
  random::stream rng(random::key(1));
  const random_resized_crop crop(32);
  CHECK(crop(img, rng).shape() == shape{3, 32, 32});
  const random_resized_crop tf_crop(24, {0.08, 1.0}, {0.75, 4.0 / 3.0}, interpolation::bicubic,
                                    semantics::tf);
  CHECK(tf_crop(img, rng).shape() == shape{3, 24, 24});
  CHECK_THROWS_AS(random_resized_crop(0), value_error);
  CHECK_THROWS_AS(random_resized_crop(32, {0.5, 0.2}), value_error);
  CHECK_THROWS_AS(random_resized_crop(32, {0.0, 1.0}), value_error);
  CHECK_THROWS_AS(random_resized_crop(32, {0.1, 1.5}), value_error);
  CHECK_THROWS_AS(random_resized_crop(32, {0.1, 1.0}, {2.0, 1.0}), value_error);
}

TEST_CASE("bicubic random_resized_crop output is clamped to the unit interval") {
  // A checkerboard overshoots under bicubic upsampling; the transform clamps it.
  tensor<float> img(shape{1, 8, 8});
  for (index_t y = 0; y < 8; ++y)
    for (index_t x = 0; x < 8; ++x) img(0, y, x) = static_cast<float>((x + y) % 2);
  const tensor<float> raw = resize(img, 29, 29, interpolation::bicubic);
  CHECK(*std::max_element(raw.values().begin(), raw.values().end()) > 1.0f);
  random::stream rng(random::key(2));
  const tensor<float> out =
      random_resized_crop(29, {1.0, 1.0}, {1.0, 1.0}, interpolation::bicubic)(img, rng);
  CHECK(*std::max_element(out.values().begin(), out.values().end()) <= 1.0f);
  CHECK(*std::min_element(out.values().begin(), out.values().end()) >= 0.0f);
}
