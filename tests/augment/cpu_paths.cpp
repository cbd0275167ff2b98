// The augmentation ops on every CPU path (simclr/backend/cpu/dispatch.hpp): the vector loops and
// their tails give the generic path's values (up to an FMA's rounding where a path contracts one).
#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/augment/color_jitter.hpp>
#include <simclr/augment/flip.hpp>
#include <simclr/augment/gaussian_blur.hpp>
#include <simclr/augment/grayscale.hpp>
#include <simclr/augment/resized_crop.hpp>
#include <simclr/augment/solarize.hpp>
#include <simclr/backend/cpu/isa.hpp>
#include <simclr/random/fill.hpp>

#include "support/fixture.hpp"

using namespace simclr;
using namespace simclr::augment;

namespace {

/// A (3, h, w) image of uniform values in [0, 1].
image_f32 noise(index_t h, index_t w, std::uint64_t seed) {
  image_f32 img(shape{3, h, w}, uninitialized);
  random::fill_uniform(img.view(), random::key(seed));
  return img;
}

/// op(img) on every path this CPU runs against the generic path's result.
void check_paths(const std::string& name, const std::function<image_f32(const image_f32&)>& op,
                 const image_f32& img, double tolerance) {
  image_f32 generic;
  {
    cpu_isa_scope path(cpu_isa::generic);
    generic = op(img);
  }
  for (const cpu_isa isa : all_cpu_isas) {
    if (!cpu_supports(isa) || isa == cpu_isa::generic) continue;
    cpu_isa_scope path(isa);
    CAPTURE(name);
    CAPTURE(to_string(isa));
    const image_f32 out = op(img);
    REQUIRE(out.extent(0) == generic.extent(0));
    REQUIRE(out.extent(1) == generic.extent(1));
    REQUIRE(out.extent(2) == generic.extent(2));
    CHECK(test::max_abs_diff(out, generic) <= tolerance);
  }
}

}  // namespace

TEST_CASE("augmentation ops agree on every CPU path, vector loops and tails alike") {
  // Widths around the vector widths (4, 8, 16 floats) so rows end in every kind of tail.
  for (const index_t w : {index_t{5}, index_t{16}, index_t{37}, index_t{53}}) {
    const image_f32 img = noise(23, w, 100 + static_cast<std::uint64_t>(w));
    CAPTURE(w);
    check_paths("hflip", [](const image_f32& x) { return hflip(x); }, img, 0.0);
    check_paths("solarize", [](const image_f32& x) { return solarize(x, 0.4f); }, img, 0.0);
    check_paths("brightness", [](const image_f32& x) { return adjust_brightness(x, 1.3f); }, img, 0.0);
    check_paths("brightness tf additive",
                [](const image_f32& x) { return adjust_brightness_additive(x, -0.2f); }, img, 0.0);
    check_paths("contrast", [](const image_f32& x) { return adjust_contrast(x, 1.7f); }, img, 1e-6);
    check_paths("contrast tf",
                [](const image_f32& x) { return adjust_contrast(x, 0.4f, semantics::tf); }, img,
                1e-6);
    check_paths("saturation", [](const image_f32& x) { return adjust_saturation(x, 1.6f); }, img,
                1e-6);
    check_paths("grayscale", [](const image_f32& x) { return rgb_to_grayscale(x, 3); }, img, 1e-6);
    for (const float sigma : {0.3f, 1.7f}) {
      CAPTURE(sigma);
      check_paths("blur reflect", [&](const image_f32& x) { return gaussian_blur(x, 9, sigma); },
                  img, 1e-6);
      check_paths("blur zero",
                  [&](const image_f32& x) { return gaussian_blur(x, 7, sigma, blur_padding::zero); },
                  img, 1e-6);
    }
    for (const interpolation mode :
         {interpolation::bilinear, interpolation::bicubic, interpolation::bicubic_tf}) {
      const crop_box box{2, std::min<index_t>(1, w - 1), 17, std::max<index_t>(1, w - 2)};
      check_paths("resized_crop",
                  [&](const image_f32& x) { return resized_crop(x, box, 29, 2 * w + 3, mode); },
                  img, 1e-6);
    }
  }
}

TEST_CASE("hflip reverses rows of every length in place") {
  for (index_t w = 1; w <= 70; ++w) {
    const image_f32 img = noise(2, w, 7 + static_cast<std::uint64_t>(w));
    image_f32 ref = img;
    for (index_t r = 0; r < 3 * 2; ++r) std::reverse(ref.data() + r * w, ref.data() + (r + 1) * w);
    CAPTURE(w);
    CHECK(test::max_abs_diff(hflip(img), ref) == 0.0);
  }
}

TEST_CASE("gaussian_kernel: no subnormal taps (they would stall the blur), sum still 1") {
  for (const float sigma : {0.1f, 0.25f, 0.3f, 0.5f, 0.8f}) {
    const std::vector<float> k = gaussian_kernel(23, sigma);
    CAPTURE(sigma);
    double sum = 0.0;
    for (const float v : k) {
      CHECK((v == 0.0f || v >= 0x1p-100f));
      sum += v;
    }
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-6));
  }
  // σ = 0.3: torchvision's taps 7 and 15 are about 1e-39 (subnormal); here they are 0.
  CHECK(gaussian_kernel(23, 0.3f)[7] == 0.0f);
  CHECK(gaussian_kernel(23, 0.3f)[15] == 0.0f);
  CHECK(gaussian_kernel(23, 0.3f)[11] > 0.9f);
}
