// Tests of <simclr/data/image_folder.hpp> and <simclr/data/image_archive.hpp>: a class tree
// written here (PNG), sorted labels, thread-count independence, resize, size limits, every
// failure naming its file; the same tree read out of a .tar.gz; and the real CIFAR-10 JPEG test
// archive read directly and compared with its entries written out as a folder (skipped when the
// archive is absent).
#include <simclr/data/image_folder.hpp>

#if defined(SIMCLR_TEST_ARCHIVE)
#include <archive.h>
#include <archive_entry.h>

#include <simclr/data/image_archive.hpp>
#endif

#include <sys/stat.h>

#include <fstream>

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

/// root/{cat,ant,bee}/ with 3, 2 and 4 PNGs of 10×8, pixel colour encoding (class, file).
void make_tree(const fs::path& root) {
  const std::vector<std::pair<std::string, int>> classes = {{"cat", 3}, {"ant", 2}, {"bee", 4}};
  for (std::size_t c = 0; c < classes.size(); ++c) {
    fs::create_directories(root / classes[c].first);
    for (int i = 0; i < classes[c].second; ++i)
      io::write_png(root / classes[c].first / ("img" + std::to_string(i) + ".png"),
                    solid(8, 10, static_cast<std::uint8_t>(10 * c), static_cast<std::uint8_t>(i), 7));
  }
  test::write_file(root / "cat" / "notes.txt", {'h', 'i'});  // ignored: not an image extension
}

}  // namespace

TEST_CASE("read_image_folder: sorted class folders become labels, files read in sorted order") {
  test::temp_dir dir("folder");
  make_tree(dir.path);
  const data::dataset d = data::read_image_folder(dir.path);
  d.validate();
  CHECK(d.images.shape() == shape{9, 8, 10, 3});
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
  CHECK(g.images.shape() == shape{5, 8, 10, 1});
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
  io::write_png(dir / "bee/img2.png", solid(12, 10, 1, 2, 3));
  expect_io_error([&] { return data::read_image_folder(dir.path); }, dir / "bee/img2.png",
                  {"image is 10×12 (width×height), expected 10×8", (dir / "ant/img0.png").string(),
                   "resize_height"});
  data::image_folder_options opt;
  opt.resize_height = 16;
  opt.resize_width = 20;
  const data::dataset d = data::read_image_folder(dir.path, opt);
  CHECK(d.images.shape() == shape{9, 16, 20, 3});
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

TEST_CASE("read_image_folder: images below min_size, past max_pixels or past the data-set budget") {
  test::temp_dir dir("folder");
  make_tree(dir.path);
  // A folder of 1×1 images used to train and report an accuracy.
  io::write_png(dir / "ant/img1.png", solid(1, 1, 1, 2, 3));
  expect_io_error([&] { return data::read_image_folder(dir.path); }, dir / "ant/img1.png",
                  {"image is 1×1 (width×height), below the minimum of 8 pixels a side", "min_size"});
  data::image_folder_options any;
  any.min_size = 0;
  any.resize_height = 8;
  any.resize_width = 10;
  CHECK(data::read_image_folder(dir.path, any).images.shape() == shape{9, 8, 10, 3});
  // The first image sets the size: a too-small first image is refused the same way.
  io::write_png(dir / "ant/img0.png", solid(7, 10, 1, 2, 3));
  expect_io_error([&] { return data::read_image_folder(dir.path); }, dir / "ant/img0.png",
                  {"10×7 (width×height), below the minimum of 8"});
  make_tree(dir.path);
  io::write_png(dir / "ant/img1.png", solid(8, 10, 1, 2, 3));
  data::image_folder_options small;
  small.max_pixels = 79;
  expect_io_error([&] { return data::read_image_folder(dir.path, small); }, dir / "ant/img0.png",
                  {"exceeds the limit of 79 pixels"});
  small.max_pixels = 80;
  small.max_bytes = 9 * 80 * 3 - 1;
  expect_io_error([&] { return data::read_image_folder(dir.path, small); }, dir.path,
                  {"9 images of 10×8×3 bytes exceed the data-set budget of 2159 bytes"});
  small.max_bytes = 9 * 80 * 3;
  CHECK(data::read_image_folder(dir.path, small).images.numel() == 9 * 80 * 3);
  // Options a reader cannot use are value_errors.
  data::image_folder_options bad;
  bad.min_size = -1;
  CHECK_THROWS_AS((void)data::read_image_folder(dir.path, bad), value_error);
}

#if defined(SIMCLR_TEST_ARCHIVE)
namespace {

/// A .tar.gz at `path` holding `files` (name → bytes), plus a symbolic link and a directory entry.
void write_tar_gz(const fs::path& path,
                  const std::vector<std::pair<std::string, std::vector<std::uint8_t>>>& files) {
  archive* a = archive_write_new();
  REQUIRE(archive_write_add_filter_gzip(a) == ARCHIVE_OK);
  REQUIRE(archive_write_set_format_pax_restricted(a) == ARCHIVE_OK);
  REQUIRE(archive_write_open_filename(a, path.c_str()) == ARCHIVE_OK);
  archive_entry* e = archive_entry_new();
  for (const auto& [name, bytes] : files) {
    archive_entry_clear(e);
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(bytes.size()));
    REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
    REQUIRE(archive_write_data(a, bytes.data(), bytes.size()) == static_cast<la_ssize_t>(bytes.size()));
  }
  archive_entry_clear(e);  // a link into a class folder: skipped, never followed
  archive_entry_set_pathname(e, "train/cat/link.png");
  archive_entry_set_filetype(e, AE_IFLNK);
  archive_entry_set_symlink(e, "/etc/passwd");
  REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
  archive_entry_clear(e);
  archive_entry_set_pathname(e, "train/dog/");
  archive_entry_set_filetype(e, AE_IFDIR);
  archive_entry_set_perm(e, 0755);
  REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
  archive_entry_free(e);
  REQUIRE(archive_write_close(a) == ARCHIVE_OK);
  archive_write_free(a);
}

std::vector<std::uint8_t> file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("read_image_archive: the same data set as the folder, straight out of a .tar.gz") {
  test::temp_dir dir("archive");
  make_tree(dir / "tree");
  // Entries in an order other than sorted, junk around them: the result must not care.
  std::vector<std::pair<std::string, std::vector<std::uint8_t>>> files;
  for (const char* c : {"cat", "bee", "ant"})
    for (const auto& f : fs::directory_iterator(dir / "tree" / c))
      files.emplace_back(std::string("train/") + c + "/" + f.path().filename().string(),
                         file_bytes(f.path()));
  files.emplace_back("train/README.png", file_bytes(dir / "tree/ant/img0.png"));  // not in a class
  files.emplace_back("test/ant/img9.png", file_bytes(dir / "tree/ant/img0.png"));  // other folder
  files.emplace_back("train/ant/deeper/img9.png", file_bytes(dir / "tree/ant/img0.png"));
  files.emplace_back("../train/ant/evil.png", file_bytes(dir / "tree/ant/img0.png"));
  const fs::path tgz = dir / "tree.tar.gz";
  write_tar_gz(tgz, files);

  const data::dataset folder = data::read_image_folder(dir / "tree");
  parallel::thread_pool one(1), three(3);
  for (parallel::thread_pool* pool : {&one, &three}) {
    const data::dataset d = data::read_image_archive(tgz, {.folder = "train"}, *pool);
    d.validate();
    CHECK(d.class_names == folder.class_names);
    CHECK(d.images.shape() == folder.images.shape());
    CHECK(std::equal(d.images.data(), d.images.data() + d.images.numel(), folder.images.data()));
    CHECK(std::equal(d.labels.data(), d.labels.data() + d.labels.numel(), folder.labels.data()));
  }
  // The options of a folder apply: a class list, gray, resize.
  data::image_archive_options o{.folder = "train"};
  o.images.classes = {"cat", "ant"};
  o.images.channels = 1;
  o.images.resize_height = 16;
  o.images.resize_width = 20;
  const data::dataset g = data::read_image_archive(tgz, o);
  CHECK(g.images.shape() == shape{5, 16, 20, 1});
  CHECK(g.class_names == std::vector<std::string>{"cat", "ant"});
}

TEST_CASE("read_image_archive: limits and failures name the archive and the entry") {
  test::temp_dir dir("archive");
  make_tree(dir / "tree");
  const std::vector<std::uint8_t> png = file_bytes(dir / "tree/ant/img0.png");
  const fs::path tgz = dir / "a.tar.gz";
  write_tar_gz(tgz, {{"x/ant/a.png", png}, {"x/ant/b.png", {1, 2, 3}}, {"x/bee/c.png", png}});
  const std::string ap = tgz.string();
  // An entry that is not an image: named as archive:entry.
  expect_io_error([&] { return data::read_image_archive(tgz, {.folder = "x"}); }, ap + ":x/ant/b.png",
                  {"not a PNG, JPEG or BMP"});
  // An entry past max_entry_bytes is refused from its header, before it is read.
  data::image_archive_options o{.folder = "x"};
  o.max_entry_bytes = static_cast<std::int64_t>(png.size()) - 1;
  expect_io_error([&] { return data::read_image_archive(tgz, o); }, ap + ":x/ant/a.png",
                  {"entry of " + std::to_string(png.size()) + " bytes", "max_entry_bytes"});
  o.max_entry_bytes = std::int64_t{1} << 20;
  o.max_encoded_bytes = png.size() + 3;  // a.png and the 3 bytes of b.png fit, c.png does not
  expect_io_error([&] { return data::read_image_archive(tgz, o); }, tgz,
                  {"max_encoded_bytes", "at entry x/bee/c.png"});
  // No class folders under the folder asked for; a listed class that is missing.
  expect_io_error([&] { return data::read_image_archive(tgz, {.folder = "train"}); }, ap + ":train",
                  {"holds no class folders with image files", "train/<class>/<image>"});
  data::image_archive_options listed{.folder = "x"};
  listed.images.classes = {"ant", "emu"};
  expect_io_error([&] { return data::read_image_archive(tgz, listed); }, ap + ":x",
                  {"class folder 'emu' not found"});
  // Not an archive, a truncated one, a FIFO, a missing file.
  test::write_file(dir / "text.tar.gz", {'n', 'o', 'p', 'e'});
  expect_io_error([&] { return data::read_image_archive(dir / "text.tar.gz"); }, dir / "text.tar.gz",
                  {"archive"});
  auto cut = file_bytes(tgz);
  cut.resize(cut.size() / 2);
  test::write_file(dir / "cut.tar.gz", cut);
  try {
    (void)data::read_image_archive(dir / "cut.tar.gz", {.folder = "x"});
    FAIL("no io_error for a truncated archive");
  } catch (const io_error& e) {
    CHECK(std::string(e.what()).find("cut.tar.gz") != std::string::npos);
  }
  REQUIRE(::mkfifo((dir / "fifo.tar.gz").c_str(), 0600) == 0);
  expect_io_error([&] { return data::read_image_archive(dir / "fifo.tar.gz"); }, dir / "fifo.tar.gz",
                  {"is a FIFO"});
  expect_io_error([&] { return data::read_image_archive(dir / "none.tar.gz"); }, dir / "none.tar.gz",
                  {"cannot open"});
  // Found by tests/fuzz/archive.cpp in its first 139 runs: a damaged entry for which libarchive
  // has no message (archive_error_string is null); pasting that null into the message crashed.
  const fs::path fuzzed = fs::path(SIMCLR_UNTRUSTED_FIXTURES) / "archive-no-error-message.tar.gz";
  try {
    (void)data::read_image_archive(fuzzed, {.images = {}, .folder = "train"});
    FAIL("no io_error for " << fuzzed.string());
  } catch (const io_error& e) {
    CHECK(std::string(e.what()).find(fuzzed.string()) != std::string::npos);
  }
}
#endif

TEST_CASE("read_image_archive: the real CIFAR-10 JPEG test archive, against its files on disk") {
#if !defined(SIMCLR_TEST_ARCHIVE)
  MESSAGE("skipped: built without libarchive (simclr::archive)");
#else
#ifdef SIMCLR_SHARED_DATA
  const fs::path archive = fs::path(SIMCLR_SHARED_DATA) / "cifar10-jpg" / "cifar10-test-jpg.tar.gz";
#else
  const fs::path archive;
#endif
  if (archive.empty() || !fs::exists(archive)) {
    MESSAGE("skipped: CIFAR-10 JPEG archive not found (shared/data/cifar10-jpg)");
    return;
  }
  data::image_archive_options o{.folder = "test"};
  o.images.classes = {"airplane", "ship", "truck"};
  const data::dataset d = data::read_image_archive(archive, o);
  d.validate();
  CHECK(d.images.shape() == shape{3000, 32, 32, 3});
  CHECK(d.class_names == std::vector<std::string>{"airplane", "ship", "truck"});
  CHECK(data::class_counts(d) == std::vector<index_t>{1000, 1000, 1000});
  // Natural images: per-channel means well inside (0, 1).
  const data::normalization n = data::channel_statistics(d);
  for (float m : n.mean) CHECK((m > 0.2f && m < 0.8f));
  // The same images written out as files (here by libarchive, no shell) and read as a folder.
  test::temp_dir dir("cifar-jpg");
  {
    ::archive* a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_all(a);
    REQUIRE(archive_read_open_filename(a, archive.c_str(), 1 << 16) == ARCHIVE_OK);
    archive_entry* e = nullptr;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
      const std::string name = archive_entry_pathname(e);
      if (archive_entry_filetype(e) != AE_IFREG) continue;
      if (name.rfind("test/airplane/", 0) != 0 && name.rfind("test/ship/", 0) != 0 &&
          name.rfind("test/truck/", 0) != 0)
        continue;
      std::vector<std::uint8_t> bytes(static_cast<std::size_t>(archive_entry_size(e)));
      REQUIRE(archive_read_data(a, bytes.data(), bytes.size()) == static_cast<la_ssize_t>(bytes.size()));
      fs::create_directories((dir / name).parent_path());
      test::write_file(dir / name, bytes);
    }
    archive_read_free(a);
  }
  const data::dataset f = data::read_image_folder(dir / "test");
  CHECK(f.images.shape() == d.images.shape());
  CHECK(std::equal(d.images.data(), d.images.data() + d.images.numel(), f.images.data()));
  CHECK(std::equal(d.labels.data(), d.labels.data() + d.labels.numel(), f.labels.data()));
#endif
}
