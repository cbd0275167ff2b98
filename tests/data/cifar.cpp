// Tests of <simclr/data/cifar.hpp>: CIFAR-10/100 records written here, planar → interleaved
// pixels, label variants, and malformed files (truncated, wrong variant, labels out of range).
#include <simclr/data/cifar.hpp>

#include <doctest/doctest.h>

#include "data/files.hpp"

using namespace simclr;
using simclr::test::expect_io_error;
namespace fs = std::filesystem;

namespace {

/// `labels` (1 or 2 bytes each) followed by 3072 pixel bytes: channel k, pixel p = (p + 50k + r) % 256.
std::vector<std::uint8_t> records(const std::vector<std::vector<std::uint8_t>>& labels) {
  std::vector<std::uint8_t> b;
  for (std::size_t r = 0; r < labels.size(); ++r) {
    b.insert(b.end(), labels[r].begin(), labels[r].end());
    for (int k = 0; k < 3; ++k)
      for (int p = 0; p < 1024; ++p) b.push_back(static_cast<std::uint8_t>((p + 50 * k + static_cast<int>(r)) % 256));
  }
  return b;
}

}  // namespace

TEST_CASE("read_cifar_binary: CIFAR-10 records over several files become (N, 32, 32, 3) images") {
  test::temp_dir dir("cifar");
  test::write_file(dir / "a.bin", records({{3}, {9}}));
  test::write_file(dir / "b.bin", records({{0}}));
  const std::vector<fs::path> paths = {dir / "a.bin", dir / "b.bin"};
  const data::dataset d = data::read_cifar_binary(paths);
  d.validate();
  CHECK(d.images.shape() == shape{3, 32, 32, 3});
  CHECK(d.num_classes == 10);
  CHECK(d.class_names[3] == "cat");
  CHECK(d.label(0) == 3);
  CHECK(d.label(1) == 9);
  CHECK(d.label(2) == 0);
  // pixel (y, x) = p = 32y + x; channel k; record r within its file.
  CHECK(d.image(0)(1, 2, 0) == 34);
  CHECK(d.image(1)(1, 2, 2) == (34 + 100 + 1));
  CHECK(d.image(2)(31, 31, 1) == (1023 + 50) % 256);
}

TEST_CASE("read_cifar_binary: CIFAR-100 fine and coarse labels") {
  test::temp_dir dir("cifar");
  test::write_file(dir / "train.bin", records({{19, 99}, {4, 30}}));
  const data::dataset fine = data::cifar100_binary(dir.path, data::split::train);
  CHECK(fine.num_classes == 100);
  CHECK(fine.label(0) == 99);
  CHECK(fine.class_names[99] == "worm");
  CHECK(fine.class_names.size() == 100);
  const data::dataset coarse =
      data::cifar100_binary(dir.path, data::split::train, data::cifar_variant::cifar100_coarse);
  CHECK(coarse.num_classes == 20);
  CHECK(coarse.label(1) == 4);
  CHECK(coarse.class_names[19] == "vehicles_2");
  CHECK(coarse.image(1)(0, 1, 0) == 2);
}

TEST_CASE("read_cifar_binary: malformed files are io_errors naming file and field") {
  test::temp_dir dir("cifar");
  const fs::path p = dir / "x.bin";
  auto b = records({{1}, {2}});
  b.resize(b.size() - 100);
  test::write_file(p, b);
  expect_io_error([&] { return data::read_cifar_binary(p); }, p,
                  {"not a multiple of the record size 3073", "1 whole records", "truncated"});
  test::write_file(p, records({{1, 2}, {3, 4}, {5, 6}}));  // CIFAR-100 layout read as CIFAR-10
  expect_io_error([&] { return data::read_cifar_binary(p); }, p, {"fits CIFAR-100 records"});
  test::write_file(p, records({{1}, {10}}));
  expect_io_error([&] { return data::read_cifar_binary(p); }, p,
                  {"record 1", "field 'label' is 10, expected 0..9"});
  test::write_file(p, records({{20, 5}}));
  expect_io_error([&] { return data::read_cifar_binary(p, data::cifar_variant::cifar100_fine); },
                  p, {"record 0", "field 'coarse label' is 20, expected 0..19"});
  test::write_file(p, records({{2, 100}}));
  expect_io_error([&] { return data::read_cifar_binary(p, data::cifar_variant::cifar100_coarse); },
                  p, {"field 'fine label' is 100, expected 0..99"});
  test::write_file(p, {});
  expect_io_error([&] { return data::read_cifar_binary(p); }, p, {"empty"});
  expect_io_error([&] { return data::cifar10_binary(dir.path, data::split::test); },
                  dir / "test_batch.bin", {"cannot open"});
  CHECK_THROWS_AS((void)data::cifar100_binary(dir.path, data::split::test, data::cifar_variant::cifar10),
                  value_error);
}
