// simclr::data::read_image_folder: a root/<class>/<image> tree decoded in parallel into one in-memory data set.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <simclr/augment/image.hpp>
#include <simclr/augment/resized_crop.hpp>
#include <simclr/data/dataset.hpp>
#include <simclr/error.hpp>
#include <simclr/io/image.hpp>
#include <simclr/parallel/thread_pool.hpp>

namespace simclr::data {

/// How read_image_folder reads a tree.
struct image_folder_options {
  /// Channels of every image: 3 (RGB; gray files are replicated) or 1 (luma).
  int channels = 3;
  /// 0 × 0: every image must have the size of the first one (in sorted order), else io_error
  /// naming the file. Otherwise every image is resized to resize_height × resize_width
  /// (bilinear, augment::resize) when it differs.
  index_t resize_height = 0;
  index_t resize_width = 0;
  /// File name extensions accepted (compared case-insensitively); other files are ignored.
  std::vector<std::string> extensions = {".png", ".jpg", ".jpeg", ".bmp"};
  /// Optional class list: when not empty, exactly these sub-folders, labelled in this order
  /// (a missing one is an io_error). Empty: every sub-folder, sorted by name.
  std::vector<std::string> classes;
};

namespace detail {

[[nodiscard]] inline std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

/// Decodes one file and brings it to (h, w, channels), or throws io_error naming the file.
[[nodiscard]] inline augment::image_u8 load_sized(const std::filesystem::path& file,
                                                  const image_folder_options& opt, index_t h,
                                                  index_t w, const std::filesystem::path& first) {
  io::image_read_options ro;
  ro.channels = opt.channels;
  augment::image_u8 img = io::read_image(file, ro);
  if (img.extent(0) == h && img.extent(1) == w) return img;
  if (opt.resize_height == 0)
    throw io_error(file.string(),
                   "image is " + std::to_string(img.extent(1)) + "×" + std::to_string(img.extent(0)) +
                       " (width×height), expected " + std::to_string(w) + "×" + std::to_string(h) +
                       " like the first image " + first.string() +
                       " (set image_folder_options::resize_height/resize_width to resize)");
  return augment::to_u8(augment::resize(augment::to_float(img), h, w));
}

}  // namespace detail

/// Reads an image-classification tree `root/<class name>/<file>`: class ids are the positions of
/// the sub-folder names in sorted (byte-wise) order, or in `options.classes`; files within a class
/// are taken in sorted order, so the result does not depend on the directory listing order.
/// Images are decoded with io::read_image in parallel on `pool`; each one is written to its own
/// slot, so the data set is identical for any number of threads. The returned data set is the
/// cache: keep it and index it, nothing is read again.
///
/// Throws io_error naming the file or folder when the root is missing or has no class folders or
/// a class folder has no images, when an image cannot be decoded, or when image sizes differ and
/// no resize was asked for (the message names the file, its size and the expected size). When
/// several files fail, the error of the first one in sorted order is thrown.
[[nodiscard]] inline dataset read_image_folder(const std::filesystem::path& root,
                                               const image_folder_options& options = {},
                                               parallel::thread_pool& pool = parallel::default_pool()) {
  namespace fs = std::filesystem;
  if (options.channels != 1 && options.channels != 3)
    throw value_error("simclr: data::image_folder_options::channels is " +
                      std::to_string(options.channels) + ", expected 1 or 3");
  if ((options.resize_height == 0) != (options.resize_width == 0) || options.resize_height < 0 ||
      options.resize_width < 0)
    throw value_error("simclr: data::image_folder_options resize is " +
                      std::to_string(options.resize_height) + "×" +
                      std::to_string(options.resize_width) +
                      ", expected both 0 (no resize) or both ≥ 1");
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    throw io_error(root.string(), "not a directory, expected a folder with one sub-folder per class");

  std::vector<std::string> classes = options.classes;
  if (classes.empty()) {
    for (const auto& entry : fs::directory_iterator(root))
      if (entry.is_directory()) classes.push_back(entry.path().filename().string());
    std::sort(classes.begin(), classes.end());
    if (classes.empty())
      throw io_error(root.string(), "has no sub-folders, expected one sub-folder per class");
  }
  std::vector<std::string> accepted;
  for (const auto& e : options.extensions) accepted.push_back(detail::lower(e));

  std::vector<fs::path> files;
  std::vector<std::int32_t> labels;
  for (std::size_t c = 0; c < classes.size(); ++c) {
    const fs::path dir = root / classes[c];
    if (!fs::is_directory(dir, ec))
      throw io_error(dir.string(), "class folder not found");
    std::vector<fs::path> in_class;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      const std::string ext = detail::lower(entry.path().extension().string());
      if (std::find(accepted.begin(), accepted.end(), ext) != accepted.end())
        in_class.push_back(entry.path());
    }
    if (in_class.empty())
      throw io_error(dir.string(), "class folder '" + classes[c] + "' holds no image files");
    std::sort(in_class.begin(), in_class.end());
    for (auto& f : in_class) {
      files.push_back(std::move(f));
      labels.push_back(static_cast<std::int32_t>(c));
    }
  }

  const index_t n = static_cast<index_t>(files.size());
  index_t h = options.resize_height, w = options.resize_width;
  const index_t ch = options.channels;
  augment::image_u8 first;
  if (h == 0) {
    io::image_read_options ro;
    ro.channels = options.channels;
    first = io::read_image(files[0], ro);
    h = first.extent(0);
    w = first.extent(1);
  }
  dataset d;
  d.images = tensor<std::uint8_t, cpu_t>(shape{n, h, w, ch}, uninitialized);  // (N, H, W, C)
  d.labels = tensor<std::int32_t, cpu_t>(shape{n}, uninitialized);
  std::copy(labels.begin(), labels.end(), d.labels.data());
  d.num_classes = static_cast<index_t>(classes.size());
  d.class_names = std::move(classes);

  const std::size_t per_image = static_cast<std::size_t>(h * w * ch);
  std::vector<std::exception_ptr> failures(static_cast<std::size_t>(n));
  parallel::parallel_for(
      0, n, 16,
      [&](index_t lo, index_t hi) {
        for (index_t i = lo; i < hi; ++i) {
          try {
            const augment::image_u8 img =
                detail::load_sized(files[static_cast<std::size_t>(i)], options, h, w, files[0]);
            std::memcpy(d.images.data() + static_cast<std::size_t>(i) * per_image, img.data(),
                        per_image);
          } catch (...) {
            failures[static_cast<std::size_t>(i)] = std::current_exception();
          }
        }
      },
      pool);
  for (const auto& f : failures)
    if (f) std::rethrow_exception(f);
  return d;
}

}  // namespace simclr::data
