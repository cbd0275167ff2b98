// Tests of <simclr/data/idx.hpp>: IDX files written here (plain and gzip), every malformed case,
// and the real Fashion-MNIST files when Debian's dataset-fashion-mnist is installed.
#include <simclr/data/idx.hpp>

#include <sys/stat.h>

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
  for (const auto& files : {std::pair{dir / "img", dir / "lab"}, std::pair{dir / "img.gz", dir / "lab.gz"}}) {
    const fs::path ip = files.first, lp = files.second;  // (clang 14 captures no structured bindings)
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

TEST_CASE("read_idx: untrusted headers — extents whose product wraps around, promises past the limit") {
  // The 16-byte reproducer: count 2²⁴, rows 512, columns 2³¹. Their product is 2⁶⁴, which wrapped
  // to 0 in a 64-bit product and was accepted as 16 777 216 images of 0 bytes.
  const fs::path wrap = fs::path(SIMCLR_UNTRUSTED_FIXTURES) / "idx-extents-wrap.idx";
  REQUIRE(fs::file_size(wrap) == 16);
  expect_io_error([&] { return data::read_idx_images(wrap); }, wrap,
                  {"field 'columns' is 2147483648", "exceed the limit of 2147483648 bytes"});
  test::temp_dir dir("idx");
  const fs::path p = dir / "img";
  // Each extent fits, the count does not: refused before any allocation or read of data.
  test::write_file(p, idx_images(0, 28, 28));
  auto header = idx_images(0, 28, 28);
  header[4] = 0x7F;  // count 0x7F000000 images of 784 bytes
  test::write_file(p, header);
  expect_io_error([&] { return data::read_idx_images(p); }, p,
                  {"field 'count' is 2130706432", "784 bytes exceed the limit"});
  // A smaller limit, given by the caller, holds the same way; at the limit is fine.
  test::write_file(p, idx_images(4, 2, 2));
  CHECK(data::read_idx_images(p, 16).shape() == shape{4, 2, 2, 1});
  expect_io_error([&] { return data::read_idx_images(p, 15); }, p,
                  {"field 'count' is 4", "exceed the limit of 15 bytes"});
  // A header that promises 2 GiB of data and holds none: "truncated", having grown its buffer
  // only as data arrived (the allocation would otherwise be the whole promise).
  auto promise = idx_images(0, 1024, 1024);
  promise[4] = 0x00;
  promise[6] = 0x08;  // count 2048 → 2048 × 1 MiB = 2 GiB, exactly the default limit
  test::write_file(p, promise);
  expect_io_error([&] { return data::read_idx_images(p); }, p,
                  {"truncated", "2147483648 bytes of data", "the file has 0 bytes"});
}

TEST_CASE("read_idx: a gzip bomb is inflated no further than its header promises plus 1 MiB") {
  // 10 images of 28×28, then 64 MiB of zeros: a 65 kB .gz file. Inflating all of such a file
  // before looking at the header is what ran the old reader out of memory; now reading stops at
  // the promised 7840 bytes, and the count of extra bytes at 1 MiB (the message says so).
  test::temp_dir dir("idx");
  const fs::path gz = dir / "bomb.gz";
  {
    const auto images = idx_images(10, 28, 28);
    gzFile f = gzopen(gz.string().c_str(), "wb9");
    REQUIRE(f != nullptr);
    REQUIRE(gzwrite(f, images.data(), static_cast<unsigned>(images.size())) ==
            static_cast<int>(images.size()));
    const std::vector<std::uint8_t> zeros(std::size_t{1} << 20, 0);
    for (int i = 0; i < 64; ++i)
      REQUIRE(gzwrite(f, zeros.data(), static_cast<unsigned>(zeros.size())) ==
              static_cast<int>(zeros.size()));
    REQUIRE(gzclose(f) == Z_OK);
  }
  CHECK(fs::file_size(gz) < 200'000);
  expect_io_error([&] { return data::read_idx_images(gz); }, gz,
                  {"7840 bytes of data", "more than 1048576 extra bytes"});
}

TEST_CASE("read_idx: a FIFO, a directory or a missing file is refused before it is opened") {
  test::temp_dir dir("idx");
  test::write_file(dir / "img", idx_images(2, 2, 2));
  const fs::path fifo = dir / "labels.fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Opening a FIFO for reading blocks until a writer comes: the old reader hung here forever.
  expect_io_error([&] { return data::read_idx(dir / "img", fifo); }, fifo,
                  {"is a FIFO (named pipe)", "expected an IDX labels file (a regular file)"});
  expect_io_error([&] { return data::read_idx_images(dir.path); }, dir.path,
                  {"is a directory", "expected an IDX images file"});
  expect_io_error([&] { return data::read_idx_images(dir / "none"); }, dir / "none",
                  {"cannot open", "expected an IDX images file"});
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
