// Tests of <simclr/io/stb.hpp>: a second translation unit with the static stb copy (no link clash), BMP only.
#include <simclr/io/stb.hpp>

#include <cstdint>
#include <vector>

#include <doctest/doctest.h>

// tests/io/image.cpp includes the same implementation through <simclr/io/image.hpp>; this test
// executable links both, which fails with multiple definitions unless every stb function is
// static. The test also checks that this copy decodes what it encodes.
namespace {
void append(void* ctx, void* data, int size) {
  auto* v = static_cast<std::vector<std::uint8_t>*>(ctx);
  const auto* p = static_cast<const std::uint8_t*>(data);
  v->insert(v->end(), p, p + size);
}
}  // namespace

TEST_CASE("the private stb copy encodes and decodes a BMP in a second translation unit") {
  const std::uint8_t pixels[2 * 3 * 3] = {0,  10,  20,  30,  40,  50,  60,  70,  80,
                                          90, 100, 110, 120, 130, 140, 150, 160, 255};
  std::vector<std::uint8_t> bmp;
  REQUIRE(stbi_write_bmp_to_func(append, &bmp, 3, 2, 3, pixels) != 0);
  int w = 0, h = 0, c = 0;
  stbi_uc* back = stbi_load_from_memory(bmp.data(), static_cast<int>(bmp.size()), &w, &h, &c, 3);
  REQUIRE(back != nullptr);
  CHECK(w == 3);
  CHECK(h == 2);
  CHECK(c == 3);
  for (int i = 0; i < 18; ++i) CHECK(back[i] == pixels[i]);
  stbi_image_free(back);
}

TEST_CASE("only stb's BMP decoder is compiled in: its PNG and JPEG decoders are not") {
  // A GIF header: stb would decode GIFs, but STBI_ONLY_BMP leaves that decoder out; so too the
  // PNG and JPEG decoders (libpng and libjpeg-turbo decode those, <simclr/io/image.hpp>).
  const std::uint8_t gif[] = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0};
  int w = 0, h = 0, c = 0;
  CHECK(stbi_info_from_memory(gif, sizeof gif, &w, &h, &c) == 0);
  const std::uint8_t pixels[3] = {1, 2, 3};
  std::vector<std::uint8_t> png, jpg;
  REQUIRE(stbi_write_png_to_func(append, &png, 1, 1, 3, pixels, 3) != 0);
  REQUIRE(stbi_write_jpg_to_func(append, &jpg, 1, 1, 3, pixels, 90) != 0);
  CHECK(stbi_info_from_memory(png.data(), static_cast<int>(png.size()), &w, &h, &c) == 0);
  CHECK(stbi_info_from_memory(jpg.data(), static_cast<int>(jpg.size()), &w, &h, &c) == 0);
}
