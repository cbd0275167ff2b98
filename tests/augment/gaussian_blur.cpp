// Tests of <simclr/augment/gaussian_blur.hpp>: kernel and blur against torchvision and TF.
#include <simclr/augment/gaussian_blur.hpp>

#include <numeric>
#include <string>

#include <doctest/doctest.h>

#include "support/fixture.hpp"

using namespace simclr;
using namespace simclr::augment;

namespace {
/// The kernels of tests/fixtures: size, σ and the fixture's name.
struct blur_case {
  index_t size;
  float sigma;
  const char* name;
};
constexpr blur_case blur_cases[] = {
    {5, 1.3f, "5_1.3"}, {3, 0.5f, "3_0.5"}, {17, 2.0f, "17_2.0"}, {9, 0.1f, "9_0.1"}};
}  // namespace

TEST_CASE("gaussian_kernel matches torchvision") {
  for (const blur_case& c : blur_cases) {
    CAPTURE(c.name);
    const std::vector<float> k = gaussian_kernel(c.size, c.sigma);
    const auto& ref = test::augment_ops().at(std::string("kernel_") + c.name).values;
    REQUIRE(k.size() == ref.size());
    for (std::size_t i = 0; i < k.size(); ++i) CHECK(k[i] == doctest::Approx(ref[i]).epsilon(1e-6));
    CHECK(std::accumulate(k.begin(), k.end(), 0.0) == doctest::Approx(1.0).epsilon(1e-6));
  }
}

TEST_CASE("gaussian_blur matches torchvision with reflect padding and TF with zero padding") {
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  for (const blur_case& c : blur_cases) {
    CAPTURE(c.name);
    CHECK(test::max_abs_diff(gaussian_blur(img, c.size, c.sigma),
                             test::augment_ops().tensor_at(std::string("blur_") + c.name)) <= 1e-5);
    CHECK(test::max_abs_diff(gaussian_blur(img, c.size, c.sigma, blur_padding::zero),
                             test::augment_ops().tensor_at(std::string("blur_tf_") + c.name)) <=
          1e-5);
  }
  CHECK(test::max_abs_diff(gaussian_blur(test::augment_ops().tensor_at("img1"), 7, 1.0f),
                           test::augment_ops().tensor_at("blur_gray_7_1.0")) <= 1e-5);
}

TEST_CASE("blur fixed points: size 1 and a constant image") {
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  CHECK(test::max_abs_diff(gaussian_blur(img, 1, 1.0f), img) == 0.0);
  tensor<float> flat(shape{3, 6, 5});
  flat.fill(0.25f);
  const tensor<float> out = gaussian_blur(flat, 5, 1.5f);
  for (const float v : out.values()) CHECK(v == doctest::Approx(0.25f).epsilon(1e-6));
}

TEST_CASE("a kernel wider than the image reflects again instead of failing") {
  tensor<float> img(shape{1, 2, 3});
  img.fill(0.5f);
  const tensor<float> out = gaussian_blur(img, 9, 2.0f);
  for (const float v : out.values()) CHECK(v == doctest::Approx(0.5f).epsilon(1e-6));
}

TEST_CASE("blur_kernel_size is 10 percent of the side made odd") {
  CHECK(blur_kernel_size(224) == 23);
  CHECK(blur_kernel_size(96) == 9);
  CHECK(blur_kernel_size(32) == 3);
  CHECK(blur_kernel_size(5) == 1);
  CHECK_THROWS_AS((void)blur_kernel_size(224, 0.0), value_error);
}

TEST_CASE("random_gaussian_blur draws sigma in its range and TF mode fixes it per batch") {
  const tensor<float> img = test::augment_ops().tensor_at("img3");
  const random_gaussian_blur blur({0.1f, 2.0f}, 5);
  random::stream a(random::key(1)), b(random::key(1)), c(random::key(2));
  const tensor<float> out_a = blur(img, a);
  CHECK(test::max_abs_diff(out_a, blur(img, b)) == 0.0);  // same stream, same blur
  CHECK(test::max_abs_diff(out_a, blur(img, c)) > 1e-4);  // another stream, another σ
  // The σ drawn matches an explicit call with that σ.
  random::stream d(random::key(1));
  const float sigma = d.uniform(0.1f, 2.0f);
  CHECK(test::max_abs_diff(out_a, gaussian_blur(img, 5, sigma)) == 0.0);

  const random_gaussian_blur tf_blur({0.1f, 2.0f}, 5, 0.1, semantics::tf);
  const random_gaussian_blur fixed = tf_blur.for_batch(random::key(7));
  REQUIRE(fixed.fixed_sigma);
  random::stream e(random::key(3)), f(random::key(4));
  CHECK(test::max_abs_diff(fixed(img, e), fixed(img, f)) == 0.0);  // one σ for the batch
  CHECK(test::max_abs_diff(fixed(img, e),
                           gaussian_blur(img, 5, *fixed.fixed_sigma, blur_padding::zero)) == 0.0);
  CHECK_FALSE(blur.for_batch(random::key(7)).fixed_sigma);  // torchvision: per image
}

TEST_CASE("gaussian blur rejects bad parameters") {
  const tensor<float> img(shape{3, 8, 8});
  CHECK_THROWS_AS((void)gaussian_blur(img, 4, 1.0f), value_error);
  CHECK_THROWS_AS((void)gaussian_blur(img, 3, 0.0f), value_error);
  CHECK_THROWS_AS(random_gaussian_blur({2.0f, 0.1f}), value_error);
  CHECK_THROWS_AS(random_gaussian_blur({0.0f, 1.0f}), value_error);
  CHECK_THROWS_AS(random_gaussian_blur({0.1f, 2.0f}, 6), value_error);
  CHECK_THROWS_AS(random_gaussian_blur({0.1f, 2.0f}, 0, 1.5), value_error);
}
