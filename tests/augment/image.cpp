// Tests of <simclr/augment/image.hpp>: 8-bit (H, W, C) <-> float (C, H, W) conversions.
#include <simclr/augment/image.hpp>

#include <doctest/doctest.h>

using namespace simclr;
using namespace simclr::augment;

TEST_CASE("to_float divides by 255 and makes the image planar") {
  image_u8 img(shape{2, 2, 3}, {0, 128, 255, 1, 2, 3, 10, 20, 30, 40, 50, 60});
  const image_f32 f = to_float(img);
  REQUIRE(f.shape() == shape{3, 2, 2});
  CHECK(f(0, 0, 0) == 0.0f);
  CHECK(f(1, 0, 0) == 128.0f / 255.0f);
  CHECK(f(2, 0, 0) == 1.0f);
  CHECK(f(0, 0, 1) == 1.0f / 255.0f);
  CHECK(f(2, 1, 1) == 60.0f / 255.0f);
}

TEST_CASE("to_u8 inverts to_float exactly and rounds and clamps") {
  image_u8 img(shape{3, 5, 3});
  for (index_t i = 0; i < img.numel(); ++i) img.data()[i] = static_cast<std::uint8_t>(i * 17 % 256);
  const image_u8 back = to_u8(to_float(img));
  REQUIRE(back.shape() == img.shape());
  for (index_t i = 0; i < img.numel(); ++i) CHECK(back.data()[i] == img.data()[i]);

  image_f32 f(shape{1, 1, 4}, {-0.5f, 0.5f, 2.0f, 0.999f});
  const image_u8 u = to_u8(f);
  CHECK(u(0, 0, 0) == 0);
  CHECK(u(0, 1, 0) == 128);
  CHECK(u(0, 2, 0) == 255);
  CHECK(u(0, 3, 0) == 255);
}

TEST_CASE("gray images keep one channel") {
  image_u8 g(shape{2, 3, 1}, {0, 51, 102, 153, 204, 255});
  const image_f32 f = to_float(g);
  REQUIRE(f.shape() == shape{1, 2, 3});
  CHECK(f(0, 1, 2) == 1.0f);
  CHECK(to_u8(f).shape() == g.shape());
}

TEST_CASE("conversions reject images that are not 1 or 3 channels") {
  CHECK_THROWS_AS((void)to_float(image_u8(shape{2, 2, 4})), shape_error);
  CHECK_THROWS_AS((void)to_float(image_u8(shape{2, 2})), shape_error);
  CHECK_THROWS_AS((void)to_u8(image_f32(shape{2, 2, 2})), shape_error);
  CHECK_THROWS_AS((void)to_u8(image_f32(shape{3, 0, 2})), shape_error);
}
