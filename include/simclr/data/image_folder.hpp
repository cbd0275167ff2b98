// simclr::data::read_image_folder: a root/<class>/<image> tree decoded in parallel into one in-memory data set.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <new>
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
  /// Smallest accepted height and width of a stored image, before any resize: a smaller one is
  /// an io_error naming the file (a folder of 1 × 1 thumbnails would otherwise train and report
  /// an accuracy). 0 accepts any size.
  index_t min_size = 8;
  /// Largest accepted size of the decoded data set, N·H·W·C bytes, checked before it is
  /// allocated (default 16 GiB); pixel limits per image: io::image_read_options::max_pixels.
  std::uint64_t max_bytes = std::uint64_t{1} << 34;
  /// Largest width × height of one stored image (io::image_read_options::max_pixels).
  std::int64_t max_pixels = io::image_read_options{}.max_pixels;
};

namespace detail {

[[nodiscard]] inline std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

/// Checks the options shared by the folder and archive readers; `who` names the function.
inline void check_image_folder_options(const image_folder_options& o, const char* who) {
  if (o.channels != 1 && o.channels != 3)
    throw value_error(std::string("simclr: ") + who + ": image_folder_options::channels is " +
                      std::to_string(o.channels) + ", expected 1 or 3");
  if ((o.resize_height == 0) != (o.resize_width == 0) || o.resize_height < 0 || o.resize_width < 0)
    throw value_error(std::string("simclr: ") + who + ": image_folder_options resize is " +
                      std::to_string(o.resize_height) + "×" + std::to_string(o.resize_width) +
                      ", expected both 0 (no resize) or both ≥ 1");
  if (o.min_size < 0 || o.max_pixels < 1)
    throw value_error(std::string("simclr: ") + who + ": image_folder_options min_size " +
                      std::to_string(o.min_size) + ", max_pixels " + std::to_string(o.max_pixels) +
                      ", expected min_size ≥ 0 and max_pixels ≥ 1");
}

/// The read options for one stored image.
[[nodiscard]] inline io::image_read_options read_options(const image_folder_options& o) {
  io::image_read_options ro;
  ro.channels = o.channels;
  ro.max_pixels = o.max_pixels;
  return ro;
}

/// Brings a decoded image to (h, w, channels): checks the minimum size, then resizes or
/// refuses a size that differs from the first image's (h = w = 0: any size). Throws io_error
/// naming `name`.
[[nodiscard]] inline augment::image_u8 sized(augment::image_u8 img, const std::string& name,
                                             const image_folder_options& opt, index_t h,
                                             index_t w, const std::string& first) {
  if (img.extent(0) < opt.min_size || img.extent(1) < opt.min_size)
    throw io_error(name, "image is " + std::to_string(img.extent(1)) + "×" +
                             std::to_string(img.extent(0)) +
                             " (width×height), below the minimum of " +
                             std::to_string(opt.min_size) + " pixels a side " +
                             "(image_folder_options::min_size)");
  if ((h == 0 && w == 0) || (img.extent(0) == h && img.extent(1) == w)) return img;
  if (opt.resize_height == 0)
    throw io_error(name,
                   "image is " + std::to_string(img.extent(1)) + "×" + std::to_string(img.extent(0)) +
                       " (width×height), expected " + std::to_string(w) + "×" + std::to_string(h) +
                       " like the first image " + first +
                       " (set image_folder_options::resize_height/resize_width to resize)");
  return augment::to_u8(augment::resize(augment::to_float(img), h, w));
}

/// The data set of n labelled images: decode(i) returns image i as stored (channels applied),
/// names[i] names it in errors. The size comes from options.resize_* or from image 0 (decoded
/// once); the data
/// set's bytes are checked against options.max_bytes before they are allocated; images are
/// decoded in parallel on `pool`, each into its own slot (the same data set for any number of
/// threads), and when several fail the first one's error (in index order) is thrown.
template <class Decode>
[[nodiscard]] dataset decode_labelled(const std::vector<std::string>& names,
                                      const std::vector<std::int32_t>& labels,
                                      std::vector<std::string> classes,
                                      const image_folder_options& options, Decode&& decode,
                                      parallel::thread_pool& pool, const std::string& source) {
  const index_t n = static_cast<index_t>(names.size());
  index_t h = options.resize_height, w = options.resize_width;
  const index_t ch = options.channels;
  augment::image_u8 first;  // decoded once: it sets the size when no resize is asked for
  if (h == 0) {
    first = sized(decode(index_t{0}), names[0], options, 0, 0, names[0]);
    h = first.extent(0);
    w = first.extent(1);
  }
  const std::uint64_t per_image = static_cast<std::uint64_t>(h) * static_cast<std::uint64_t>(w) *
                                  static_cast<std::uint64_t>(ch);
  if (per_image > options.max_bytes / static_cast<std::uint64_t>(n))
    throw io_error(source, std::to_string(n) + " images of " + std::to_string(w) + "×" +
                               std::to_string(h) + "×" + std::to_string(ch) +
                               " bytes exceed the data-set budget of " +
                               std::to_string(options.max_bytes) +
                               " bytes (image_folder_options::max_bytes; resize_height/width "
                               "make the images smaller)");
  dataset d;
  try {
    d.images = tensor<std::uint8_t, cpu_t>(shape{n, h, w, ch}, uninitialized);  // (N, H, W, C)
  } catch (const std::bad_alloc&) {
    throw io_error(source, "out of memory for " + std::to_string(per_image * static_cast<std::uint64_t>(n)) +
                               " bytes of images");
  }
  d.labels = tensor<std::int32_t, cpu_t>(shape{n}, uninitialized);
  std::copy(labels.begin(), labels.end(), d.labels.data());
  d.num_classes = static_cast<index_t>(classes.size());
  d.class_names = std::move(classes);

  std::vector<std::exception_ptr> failures(static_cast<std::size_t>(n));
  parallel::parallel_for(
      0, n, 16,
      [&](index_t lo, index_t hi) {
        for (index_t i = lo; i < hi; ++i) {
          try {
            const augment::image_u8 img =
                i == 0 && !first.empty()
                    ? first
                    : sized(decode(i), names[static_cast<std::size_t>(i)], options, h, w, names[0]);
            std::memcpy(d.images.data() + static_cast<std::size_t>(i * static_cast<index_t>(per_image)),
                        img.data(), static_cast<std::size_t>(per_image));
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

}  // namespace detail

/// Reads an image-classification tree `root/<class name>/<file>`: class ids are the positions of
/// the sub-folder names in sorted (byte-wise) order, or in `options.classes`; files within a class
/// are taken in sorted order, so the result does not depend on the directory listing order.
/// Images are decoded with io::read_image in parallel on `pool`; each one is written to its own
/// slot, so the data set is identical for any number of threads. The returned data set is the
/// cache: keep it and index it, nothing is read again.
///
/// Throws io_error naming the file or folder when the root is missing or has no class folders or
/// a class folder has no images, when an image cannot be decoded, is larger than
/// options.max_pixels or smaller than options.min_size a side, when image sizes differ and no
/// resize was asked for (the message names the file, its size and the expected size), or when
/// the data set would exceed options.max_bytes. When several files fail, the error of the first
/// one in sorted order is thrown.
[[nodiscard]] inline dataset read_image_folder(const std::filesystem::path& root,
                                               const image_folder_options& options = {},
                                               parallel::thread_pool& pool = parallel::default_pool()) {
  namespace fs = std::filesystem;
  detail::check_image_folder_options(options, "data::read_image_folder");
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

  std::vector<std::string> names;
  names.reserve(files.size());
  for (const auto& f : files) names.push_back(f.string());
  const io::image_read_options ro = detail::read_options(options);
  return detail::decode_labelled(
      names, labels, std::move(classes), options,
      [&](index_t i) { return io::read_image(files[static_cast<std::size_t>(i)], ro); }, pool,
      root.string());
}

}  // namespace simclr::data
