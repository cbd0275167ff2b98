// Tests of <simclr/data/image_folder.hpp>: a class tree written here (PNG), sorted labels,
// thread-count independence, resize, every failure naming its file, and a subset of the real
// CIFAR-10 JPEG archive extracted with tar at run time (skipped when the archive is absent).
#include <simclr/data/image_folder.hpp>

#include <cstdlib>

#include <doctest/doctest.h>

#include "data/files.hpp"

using namespace simclr;
using simclr::test::expect_io_error;
namespace fs = std::filesystem;

namespace {

augment::image_u8 solid(index_t h, index_t w, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  augment::image_u8 img(shape{h, w, 3});
  for (index_t y = 0; y < h; ++y)
    for (index_t x = 0; x < w; ++x) {
      img(y, x, 0) = r;
      img(y, x, 1) = g;
      img(y, x, 2) = static_cast<std::uint8_t>(b + x);
    }
  return img;
}

/// root/{cat,ant,bee}/ with 3, 2 and 4 PNGs of 5×4, pixel colour encoding (class, file).
void make_tree(const fs::path& root) {
  const std::vector<std::pair<std::string, int>> classes = {{"cat", 3}, {"ant", 2}, {"bee", 4}};
  for (std::size_t c = 0; c < classes.size(); ++c) {
    fs::create_directories(root / classes[c].first);
    for (int i = 0; i < classes[c].second; ++i)
      io::write_png(root / classes[c].first / ("img" + std::to_string(i) + ".png"),
                    solid(4, 5, static_cast<std::uint8_t>(10 * c), static_cast<std::uint8_t>(i), 7));
  }
  test::write_file(root / "cat" / "notes.txt", {'h', 'i'});  // ignored: not an image extension
}

}  // namespace

TEST_CASE("read_image_folder: sorted class folders become labels, files read in sorted order") {
  test::temp_dir dir("folder");
  make_tree(dir.path);
  const data::dataset d = data::read_image_folder(dir.path);
  d.validate();
  CHECK(d.images.shape() == shape{9, 4, 5, 3});
  CHECK(d.class_names == std::vector<std::string>{"ant", "bee", "cat"});
  CHECK(d.num_classes == 3);
  const std::vector<std::int32_t> labels(d.labels.data(), d.labels.data() + 9);
  CHECK(labels == std::vector<std::int32_t>{0, 0, 1, 1, 1, 1, 2, 2, 2});
  CHECK(d.image(0)(0, 0, 0) == 10);  // ant was written as class position 1
  CHECK(d.image(3)(2, 3, 1) == 1);   // bee/img1
  CHECK(d.image(8)(0, 4, 2) == 7 + 4);
  CHECK(d.image(8)(0, 0, 1) == 2);   // cat/img2

  data::image_folder_options gray;
  gray.channels = 1;
  gray.classes = {"cat", "ant"};
  const data::dataset g = data::read_image_folder(dir.path, gray);
  CHECK(g.images.shape() == shape{5, 4, 5, 1});
  CHECK(g.class_names == std::vector<std::string>{"cat", "ant"});
  CHECK(g.label(4) == 1);
}

TEST_CASE("read_image_folder: identical for 1, 2 and 3 threads") {
  test::temp_dir dir("folder");
  make_tree(dir.path);
  parallel::thread_pool one(1), two(2), three(3);
  const data::dataset a = data::read_image_folder(dir.path, {}, one);
  const data::dataset b = data::read_image_folder(dir.path, {}, two);
  const data::dataset c = data::read_image_folder(dir.path, {}, three);
  CHECK(std::equal(a.images.data(), a.images.data() + a.images.numel(), b.images.data()));
  CHECK(std::equal(a.images.data(), a.images.data() + a.images.numel(), c.images.data()));
}

TEST_CASE("read_image_folder: mixed sizes name the odd file unless a resize is asked for") {
  test::temp_dir dir("folder");
  make_tree(dir.path);
  io::write_png(dir / "bee/img2.png", solid(6, 5, 1, 2, 3));
  expect_io_error([&] { return data::read_image_folder(dir.path); }, dir / "bee/img2.png",
                  {"image is 5×6 (width×height), expected 5×4", (dir / "ant/img0.png").string(),
                   "resize_height"});
  data::image_folder_options opt;
  opt.resize_height = 8;
  opt.resize_width = 10;
  const data::dataset d = data::read_image_folder(dir.path, opt);
  CHECK(d.images.shape() == shape{9, 8, 10, 3});
  CHECK(d.image(0)(3, 3, 0) == 10);  // a solid channel stays solid under bilinear resize
  opt.resize_width = 0;
  CHECK_THROWS_AS((void)data::read_image_folder(dir.path, opt), value_error);
}

TEST_CASE("read_image_folder: unreadable images, empty class folders and missing roots") {
  test::temp_dir dir("folder");
  make_tree(dir.path);
  test::write_file(dir / "bee/img3.png", {1, 2, 3, 4, 5});
  test::write_file(dir / "cat/img1.png", {9, 9});
  // The first failing file in sorted order is reported, whatever the thread count.
  expect_io_error([&] { return data::read_image_folder(dir.path); }, dir / "bee/img3.png",
                  {"not a PNG, JPEG or BMP"});
  fs::create_directories(dir / "dog");
  expect_io_error([&] { return data::read_image_folder(dir.path); }, dir / "dog", {"no image files"});
  expect_io_error([&] { return data::read_image_folder(dir / "nowhere"); }, dir / "nowhere",
                  {"not a directory"});
  data::image_folder_options opt;
  opt.classes = {"ant", "emu"};
  expect_io_error([&] { return data::read_image_folder(dir.path, opt); }, dir / "emu",
                  {"class folder not found"});
}

TEST_CASE("read_image_folder: a subset of the real CIFAR-10 JPEG test archive") {
#ifdef SIMCLR_SHARED_DATA
  const fs::path archive = fs::path(SIMCLR_SHARED_DATA) / "cifar10-jpg" / "cifar10-test-jpg.tar.gz";
#else
  const fs::path archive;
#endif
  if (archive.empty() || !fs::exists(archive)) {
    MESSAGE("skipped: CIFAR-10 JPEG archive not found (shared/data/cifar10-jpg)");
    return;
  }
  test::temp_dir dir("cifar-jpg");
  const std::string cmd = "tar -xzf '" + archive.string() + "' -C '" + dir.path.string() +
                          "' --wildcards 'test/airplane/000*.jpg' 'test/ship/000*.jpg' "
                          "'test/truck/001*.jpg'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const data::dataset d = data::read_image_folder(dir / "test");
  d.validate();
  CHECK(d.images.shape() == shape{30, 32, 32, 3});
  CHECK(d.class_names == std::vector<std::string>{"airplane", "ship", "truck"});
  CHECK(data::class_counts(d) == std::vector<index_t>{10, 10, 10});
  // Natural images: per-channel means well inside (0, 1).
  const data::normalization n = data::channel_statistics(d);
  for (float m : n.mean) CHECK((m > 0.2f && m < 0.8f));
}
