// Tests of <simclr/io/image.hpp>: round trips, channel options and every failure as an io_error.
#include <simclr/io/image.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/random/stream.hpp>

#include "support/temp_dir.hpp"

using namespace simclr;
namespace fs = std::filesystem;

namespace {

augment::image_u8 pattern(index_t h, index_t w, index_t c) {
  augment::image_u8 img(shape{h, w, c}, uninitialized);
  for (index_t y = 0; y < h; ++y)
    for (index_t x = 0; x < w; ++x)
      for (index_t k = 0; k < c; ++k)
        img(y, x, k) = static_cast<std::uint8_t>((x * 37 + y * 11 + k * 80) % 256);
  return img;
}

void write_bytes(const fs::path& p, const std::vector<std::uint8_t>& b, std::size_t n) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(n));
}

void stb_append(void* ctx, void* data, int size) {
  auto* v = static_cast<std::vector<std::uint8_t>*>(ctx);
  const auto* p = static_cast<const std::uint8_t*>(data);
  v->insert(v->end(), p, p + size);
}
std::vector<std::uint8_t> encode(const augment::image_u8& img, const char* fmt) {
  std::vector<std::uint8_t> out;
  const int w = static_cast<int>(img.extent(1)), h = static_cast<int>(img.extent(0)),
            c = static_cast<int>(img.extent(2));
  const std::string f = fmt;
  if (f == "png") stbi_write_png_to_func(stb_append, &out, w, h, c, img.data(), w * c);
  if (f == "bmp") stbi_write_bmp_to_func(stb_append, &out, w, h, c, img.data());
  if (f == "jpg") stbi_write_jpg_to_func(stb_append, &out, w, h, c, img.data(), 95);
  REQUIRE(!out.empty());
  return out;
}

/// Runs `f`, expecting an io_error whose message names `file` and contains `reason`.
template <class F>
void expect_io_error(F&& f, const fs::path& file, const std::string& reason) {
  try {
    (void)f();
    FAIL("no io_error for " << file.string() << " (expected: " << reason << ")");
  } catch (const io_error& e) {
    CAPTURE(e.what());
    CHECK(e.path() == file.string());
    CHECK(std::string(e.what()).find(file.string()) != std::string::npos);
    CHECK(std::string(e.what()).find(reason) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("PNG round trip for RGB and gray images") {
  simclr::test::temp_dir dir{"io-image"};
  for (const index_t c : {1, 3}) {
    const augment::image_u8 img = pattern(7, 13, c);
    const fs::path p = dir.path / ("round" + std::to_string(c) + ".png");
    io::write_png(p, img);
    const augment::image_u8 back = io::read_image(p);
    REQUIRE(back.shape() == img.shape());
    CHECK(std::equal(back.values().begin(), back.values().end(), img.values().begin()));
  }
}

TEST_CASE("BMP reads exactly and JPEG closely") {
  simclr::test::temp_dir dir{"io-image"};
  const augment::image_u8 img = pattern(16, 24, 3);
  const fs::path bmp = dir.path / "a.bmp", jpg = dir.path / "a.jpg";
  const auto b = encode(img, "bmp");
  write_bytes(bmp, b, b.size());
  const augment::image_u8 from_bmp = io::read_image(bmp);
  REQUIRE(from_bmp.shape() == img.shape());
  CHECK(std::equal(from_bmp.values().begin(), from_bmp.values().end(), img.values().begin()));
  augment::image_u8 smooth(shape{16, 24, 3}, uninitialized);
  for (index_t i = 0; i < smooth.numel(); ++i)
    smooth.data()[i] = static_cast<std::uint8_t>(100 + i % 24);
  const auto j = encode(smooth, "jpg");
  write_bytes(jpg, j, j.size());
  const augment::image_u8 from_jpg = io::read_image(jpg);
  REQUIRE(from_jpg.shape() == smooth.shape());
  int worst = 0;
  for (index_t i = 0; i < smooth.numel(); ++i)
    worst = std::max(worst, std::abs(int(from_jpg.data()[i]) - int(smooth.data()[i])));
  CHECK(worst <= 12);
}

TEST_CASE("channel options convert between gray and RGB") {
  simclr::test::temp_dir dir{"io-image"};
  const fs::path rgb = dir.path / "rgb.png", gray = dir.path / "gray.png";
  io::write_png(rgb, pattern(4, 5, 3));
  io::write_png(gray, pattern(4, 5, 1));
  io::image_read_options o;
  o.channels = 1;
  CHECK(io::read_image(rgb, o).shape() == shape{4, 5, 1});
  o.channels = 3;
  const augment::image_u8 g3 = io::read_image(gray, o);
  REQUIRE(g3.shape() == shape{4, 5, 3});
  CHECK(g3(2, 3, 0) == g3(2, 3, 2));
  o.channels = 2;
  CHECK_THROWS_AS((void)io::read_image(gray, o), value_error);
}

TEST_CASE("a float image is written through to_u8") {
  simclr::test::temp_dir dir{"io-image"};
  const fs::path p = dir.path / "f.png";
  augment::image_f32 f(shape{3, 1, 2}, {0.0f, 1.0f, 0.5f, 0.25f, 1.0f, 0.0f});
  io::write_png(p, f);
  const augment::image_u8 back = io::read_image(p);
  REQUIRE(back.shape() == shape{1, 2, 3});
  CHECK(back(0, 0, 0) == 0);
  CHECK(back(0, 0, 1) == 128);
  CHECK(back(0, 1, 0) == 255);
  CHECK(back(0, 1, 1) == 64);
}

TEST_CASE("a missing file or a directory is an io_error") {
  simclr::test::temp_dir dir{"io-image"};
  const fs::path missing = dir.path / "nope.png";
  expect_io_error([&] { return io::read_image(missing); }, missing, "cannot open");
  expect_io_error([&] { return io::read_image(dir.path); }, dir.path, "directory");
}

TEST_CASE("an empty file or a file that is not an image is an io_error") {
  simclr::test::temp_dir dir{"io-image"};
  const fs::path empty = dir.path / "empty.png", text = dir.path / "text.jpg";
  write_bytes(empty, {}, 0);
  const std::string words = "this is not an image, just some text that is long enough\n";
  write_bytes(text, std::vector<std::uint8_t>(words.begin(), words.end()), words.size());
  expect_io_error([&] { return io::read_image(empty); }, empty, "empty");
  expect_io_error([&] { return io::read_image(text); }, text, "not a PNG, JPEG or BMP");
}

TEST_CASE("every truncation of a PNG JPEG or BMP file is an io_error") {
  simclr::test::temp_dir dir{"io-image"};
  const augment::image_u8 img = pattern(9, 10, 3);
  for (const char* fmt : {"png", "jpg", "bmp"}) {
    CAPTURE(fmt);
    const auto bytes = encode(img, fmt);
    const fs::path p = dir.path / (std::string("cut.") + fmt);
    for (std::size_t n = 1; n < bytes.size(); ++n) {
      CAPTURE(n);
      write_bytes(p, bytes, n);
      CHECK_THROWS_AS((void)io::read_image(p), io_error);
    }
    write_bytes(p, bytes, bytes.size() / 2);
    expect_io_error([&] { return io::read_image(p); }, p, "truncated");
    write_bytes(p, bytes, bytes.size());
    CHECK(io::read_image(p).shape() == img.shape());
  }
}

TEST_CASE("zero-sized images are an io_error") {
  simclr::test::temp_dir dir{"io-image"};
  auto png = encode(pattern(3, 4, 3), "png");
  png[16] = png[17] = png[18] = png[19] = 0;  // IHDR width
  const fs::path p = dir.path / "zero.png";
  write_bytes(p, png, png.size());
  expect_io_error([&] { return io::read_image(p); }, p, "zero-sized");
  auto bmp = encode(pattern(3, 4, 3), "bmp");
  bmp[22] = bmp[23] = bmp[24] = bmp[25] = 0;  // BITMAPINFOHEADER height
  const fs::path q = dir.path / "zero.bmp";
  write_bytes(q, bmp, bmp.size());
  expect_io_error([&] { return io::read_image(q); }, q, "zero-sized");
}

TEST_CASE("images above the pixel limit are refused before decoding") {
  simclr::test::temp_dir dir{"io-image"};
  const fs::path p = dir.path / "big.png";
  io::write_png(p, pattern(20, 30, 3));
  io::image_read_options o;
  o.max_pixels = 599;
  expect_io_error([&] { return io::read_image(p, o); }, p, "exceeds the limit of 599");
  o.max_pixels = 600;
  CHECK(io::read_image(p, o).shape() == shape{20, 30, 3});
  // A header claiming 100000×100000 pixels is refused by the default limit, without decoding.
  auto png = encode(pattern(2, 2, 3), "png");
  png[16] = 0;
  png[17] = 1;
  png[18] = 0x86;
  png[19] = 0xA0;  // width 100000
  png[20] = 0;
  png[21] = 1;
  png[22] = 0x86;
  png[23] = 0xA0;  // height 100000
  const fs::path huge = dir.path / "huge.png";
  write_bytes(huge, png, png.size());
  expect_io_error([&] { return io::read_image(huge); }, huge, "exceeds the limit");
}

TEST_CASE("untrusted image headers: a BMP whose extents overflowed the size check, a FIFO") {
  // The 39-byte reproducer: width and height 2³¹ − 1 at 32 bits per pixel. The completeness
  // check multiplied row bytes by rows in 64-bit signed arithmetic (UBSan: signed overflow)
  // before the pixel limit was checked; now it divides, and the limit refuses the image.
  const fs::path bmp = fs::path(SIMCLR_UNTRUSTED_FIXTURES) / "bmp-extents-overflow.bmp";
  REQUIRE(fs::file_size(bmp) == 39);
  expect_io_error([&] { return io::read_image(bmp); }, bmp, "exceeds the limit of 16777216");
  // Opening a FIFO blocks until a writer comes: it is refused before it is opened.
  simclr::test::temp_dir dir{"io-image"};
  const fs::path fifo = dir.path / "image.png";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  expect_io_error([&] { return io::read_image(fifo); }, fifo, "is a FIFO (named pipe)");
}

TEST_CASE("the default pixel limit is 2^24: a 4097 × 4097 header is refused, 4096 × 4096 is not") {
  CHECK(io::image_read_options{}.max_pixels == std::int64_t{1} << 24);
  auto png = encode(pattern(2, 2, 3), "png");
  const auto set_extents = [&](std::uint32_t w, std::uint32_t h) {
    for (int k = 0; k < 4; ++k) {
      png[static_cast<std::size_t>(16 + k)] = static_cast<std::uint8_t>(w >> (24 - 8 * k));
      png[static_cast<std::size_t>(20 + k)] = static_cast<std::uint8_t>(h >> (24 - 8 * k));
    }
  };
  set_extents(4097, 4097);
  try {
    (void)io::decode_image(png, "big.png");
    FAIL("no io_error");
  } catch (const io_error& e) {
    CHECK(std::string(e.what()).find("4097×4097 pixels exceeds the limit") != std::string::npos);
  }
  set_extents(4096, 4096);  // within the limit: refused later, and for another reason
  try {
    (void)io::decode_image(png, "edge.png");
    FAIL("no io_error");
  } catch (const io_error& e) {
    CHECK(std::string(e.what()).find("exceeds the limit") == std::string::npos);
  }
}

TEST_CASE("corrupted bytes give an image or an io_error and never a crash") {
  simclr::test::temp_dir dir{"io-image"};
  const fs::path p = dir.path / "fuzz";
  const augment::image_u8 img = pattern(8, 8, 3);
  for (const char* fmt : {"png", "jpg", "bmp"}) {
    const auto clean = encode(img, fmt);
    random::stream rng(random::key(42));
    int decoded = 0, refused = 0;
    for (int trial = 0; trial < 150; ++trial) {
      auto bytes = clean;
      for (int k = 0; k < 3; ++k)
        bytes[rng.uniform_int(static_cast<std::uint32_t>(bytes.size()))] =
            static_cast<std::uint8_t>(rng.next_u32());
      write_bytes(p, bytes, bytes.size());
      try {
        const augment::image_u8 out = io::read_image(p);
        CHECK(out.numel() > 0);
        ++decoded;
      } catch (const io_error&) {
        ++refused;
      }
    }
    CHECK(decoded + refused == 150);
  }
}

TEST_CASE("writing into a missing directory is an io_error") {
  simclr::test::temp_dir dir{"io-image"};
  const fs::path p = dir.path / "no" / "such" / "dir.png";
  expect_io_error(
      [&] {
        io::write_png(p, pattern(2, 2, 3));
        return 0;
      },
      p, "cannot write");
}
