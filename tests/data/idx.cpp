// Tests of <simclr/data/idx.hpp>: IDX files written here (plain and gzip), every malformed case,
// and the real Fashion-MNIST files when Debian's dataset-fashion-mnist is installed.
#include <simclr/data/idx.hpp>

#include <chrono>

#include <doctest/doctest.h>

#include "data/files.hpp"

using namespace simclr;
using simclr::test::expect_io_error;
using simclr::test::put_be32;
namespace fs = std::filesystem;

namespace {

std::vector<std::uint8_t> idx_images(std::uint32_t n, std::uint32_t rows, std::uint32_t cols,
                                     std::uint32_t magic = 0x00000803) {
  std::vector<std::uint8_t> b;
  put_be32(b, magic);
  put_be32(b, n);
  put_be32(b, rows);
  put_be32(b, cols);
  for (std::uint32_t i = 0; i < n * rows * cols; ++i) b.push_back(static_cast<std::uint8_t>(i * 7 % 256));
  return b;
}

std::vector<std::uint8_t> idx_labels(const std::vector<std::uint8_t>& labels,
                                     std::uint32_t magic = 0x00000801) {
  std::vector<std::uint8_t> b;
  put_be32(b, magic);
  put_be32(b, static_cast<std::uint32_t>(labels.size()));
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

}  // namespace

TEST_CASE("read_idx reads plain and gzip IDX files into (N, H, W, 1) images and labels") {
  test::temp_dir dir("idx");
  const auto images = idx_images(3, 2, 4);
  const auto labels = idx_labels({2, 0, 1});
  test::write_file(dir / "img", images);
  test::write_file(dir / "lab", labels);
  test::write_gzip(dir / "img.gz", images);
  test::write_gzip(dir / "lab.gz", labels);
  for (const auto& [ip, lp] : {std::pair{dir / "img", dir / "lab"}, std::pair{dir / "img.gz", dir / "lab.gz"}}) {
    CAPTURE(ip.string());
    const data::dataset d = data::read_idx(ip, lp);
    d.validate();
    CHECK(d.images.shape() == shape{3, 2, 4, 1});
    CHECK(d.labels.shape() == shape{3});
    CHECK(d.num_classes == 3);  // inferred: max label + 1
    CHECK(d.label(0) == 2);
    CHECK(d.label(2) == 1);
    for (index_t i = 0; i < 24; ++i) CHECK(d.images.data()[i] == static_cast<std::uint8_t>(i * 7 % 256));
    CHECK(d.image(1)(1, 3, 0) == static_cast<std::uint8_t>((8 + 7) * 7 % 256));
  }
  const data::dataset named = data::read_idx(dir / "img", dir / "lab", 0, {"a", "b", "c", "d"});
  CHECK(named.num_classes == 4);
  CHECK(named.class_names[3] == "d");
}

TEST_CASE("read_idx_images: wrong magic, dtype byte, dimension count and zero extents name the field") {
  test::temp_dir dir("idx");
  const fs::path p = dir / "bad";
  test::write_file(p, idx_images(2, 2, 2, 0x00000801));
  expect_io_error([&] { return data::read_idx_images(p); }, p,
                  {"field 'magic'", "0x00000801", "expected 0x00000803", "dimension count is 1"});
  test::write_file(p, idx_images(2, 2, 2, 0x00000903));
  expect_io_error([&] { return data::read_idx_images(p); }, p,
                  {"field 'magic'", "dtype byte is 0x09, expected 0x08"});
  test::write_file(p, idx_images(2, 2, 2, 0x12340803));
  expect_io_error([&] { return data::read_idx_images(p); }, p, {"field 'magic' is 0x12340803"});
  test::write_file(p, idx_images(2, 0, 2));
  expect_io_error([&] { return data::read_idx_images(p); }, p, {"field 'rows' is 0, expected ≥ 1"});
  test::write_file(p, {0, 0});
  expect_io_error([&] { return data::read_idx_images(p); }, p, {"field 'magic'", "2 bytes"});
  test::write_file(p, {0, 0, 8, 3, 0, 0});
  expect_io_error([&] { return data::read_idx_images(p); }, p, {"truncated header"});
  // A label file where images are expected: the message says what was expected.
  test::write_file(p, idx_labels({1, 2}));
  expect_io_error([&] { return data::read_idx_images(p); }, p, {"IDX images file"});
}

TEST_CASE("read_idx: truncated data, trailing bytes and corrupt gzip are io_errors naming the file") {
  test::temp_dir dir("idx");
  const fs::path p = dir / "img";
  auto bytes = idx_images(5, 3, 3);
  bytes.resize(bytes.size() - 4);
  test::write_file(p, bytes);
  expect_io_error([&] { return data::read_idx_images(p); }, p,
                  {"truncated", "field 'count' says 5 images", "45 bytes of data", "41 bytes"});
  const fs::path gz = dir / "img.gz";
  test::write_gzip(gz, bytes);
  expect_io_error([&] { return data::read_idx_images(gz); }, gz, {"truncated", "field 'count'"});

  auto longer = idx_images(2, 2, 2);
  longer.push_back(0);
  test::write_file(p, longer);
  expect_io_error([&] { return data::read_idx_images(p); }, p, {"1 extra bytes"});

  // A gzip file cut in the middle of its deflate stream.
  test::write_gzip(gz, idx_images(50, 10, 10));
  std::ifstream in(gz, std::ios::binary);
  std::vector<std::uint8_t> z((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  z.resize(z.size() / 2);
  test::write_file(gz, z);
  expect_io_error([&] { return data::read_idx_images(gz); }, gz, {"gzip"});

  const fs::path missing = dir / "missing";
  expect_io_error([&] { return data::read_idx_images(missing); }, missing, {"cannot open"});
}

TEST_CASE("read_idx: count mismatch names both files, labels out of range name item and range") {
  test::temp_dir dir("idx");
  test::write_file(dir / "img", idx_images(3, 2, 2));
  test::write_file(dir / "lab", idx_labels({0, 1}));
  expect_io_error([&] { return data::read_idx(dir / "img", dir / "lab"); }, dir / "lab",
                  {"field 'count' is 2 labels, expected 3", (dir / "img").string()});
  test::write_file(dir / "lab", idx_labels({0, 10, 1}));
  expect_io_error([&] { return data::read_idx(dir / "img", dir / "lab", 10); }, dir / "lab",
                  {"field 'label' of item 1 is 10, expected 0..9"});
  test::write_file(dir / "lab", idx_labels({0, 1, 2}, 0x00000803));
  expect_io_error([&] { return data::read_idx(dir / "img", dir / "lab"); }, dir / "lab",
                  {"expected 0x00000801", "IDX labels file"});
  CHECK_THROWS_AS((void)data::read_idx(dir / "img", dir / "lab", 3, {"a"}), value_error);
}

TEST_CASE("fashion_mnist: a missing directory names the file it looked for") {
  test::temp_dir dir("idx");
  expect_io_error([&] { return data::fashion_mnist(dir.path, data::split::test); },
                  dir / "t10k-images-idx3-ubyte.gz", {"not found", "dataset-fashion-mnist"});
}

TEST_CASE("fashion_mnist: the real files of Debian's dataset-fashion-mnist") {
  const fs::path dir = data::fashion_mnist_default_dir;
  if (!fs::exists(dir / "t10k-images-idx3-ubyte.gz")) {
    MESSAGE("skipped: " << dir.string() << " not installed (apt-get install dataset-fashion-mnist)");
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const data::dataset train = data::fashion_mnist(dir, data::split::train);
  const data::dataset test = data::fashion_mnist(data::split::test);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("read Fashion-MNIST train + test in " << seconds << " s");
  train.validate();
  test.validate();
  CHECK(train.images.shape() == shape{60000, 28, 28, 1});
  CHECK(test.images.shape() == shape{10000, 28, 28, 1});
  CHECK(train.num_classes == 10);
  CHECK(test.class_names == data::fashion_mnist_classes());
  CHECK(test.class_names[9] == "Ankle boot");
  const auto counts = data::class_counts(train);
  for (index_t c : counts) CHECK(c == 6000);
  // The first test image is an ankle boot (label 9), as every Fashion-MNIST loader shows.
  CHECK(test.label(0) == 9);
  CHECK(train.label(0) == 9);
}
