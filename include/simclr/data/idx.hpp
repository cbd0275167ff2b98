// simclr::data IDX readers (MNIST, Fashion-MNIST; plain or gzip via zlib), with every header field validated.
#pragma once

// The IDX format (LeCun's MNIST files): a 4-byte big-endian magic 0x0000TTDD, where TT is the
// element type (0x08 = unsigned byte, the only one these readers accept) and DD the number of
// dimensions; then DD big-endian u32 extents; then the elements, row-major. Images are
// 0x00000803 (N, rows, cols), labels 0x00000801 (N). Files may be gzip-compressed (.gz): zlib's
// gzread reads both forms. Needs zlib (Debian zlib1g-dev; link ZLIB::ZLIB).

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <new>
#include <string>
#include <vector>

#include <zlib.h>

#include <simclr/data/dataset.hpp>
#include <simclr/error.hpp>
#include <simclr/io/file.hpp>
#include <simclr/tensor.hpp>

namespace simclr::data {

/// Fashion-MNIST's class names, label order 0..9.
inline const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                                 "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                                 "Bag",         "Ankle boot"};
  return names;
}

/// Where Debian's `dataset-fashion-mnist` package installs the four .gz files.
inline constexpr const char* fashion_mnist_default_dir = "/usr/share/datasets/fashion-mnist";

/// The most element bytes an IDX file may promise: 2 GiB (Fashion-MNIST's training images are
/// 47 MB, EMNIST's largest file 550 MB). A header promising more is refused before anything is
/// allocated or inflated; pass another limit to read_idx_images / read_idx_labels / read_idx.
inline constexpr std::uint64_t idx_default_max_bytes = std::uint64_t{1} << 31;

namespace detail {

/// A gzip or plain file read through zlib (gzread passes plain files through), closed at scope
/// exit. Reads stop where the caller says: a gzip bomb is never inflated past what the header
/// promised.
class gz_reader {
 public:
  explicit gz_reader(const std::filesystem::path& path) : path_(path.string()) {
    errno = 0;
    f_ = gzopen(path_.c_str(), "rb");
    if (f_ == nullptr)
      throw io_error(path_, std::string("cannot open (") +
                                (errno != 0 ? std::strerror(errno) : "out of memory") + ")");
  }
  ~gz_reader() {
    if (f_ != nullptr) gzclose(f_);
  }
  gz_reader(const gz_reader&) = delete;
  gz_reader& operator=(const gz_reader&) = delete;

  /// Reads up to n bytes into dst and returns how many: fewer only at the end of the data.
  /// Corrupt or truncated gzip data is an io_error.
  std::size_t read(std::uint8_t* dst, std::size_t n) {
    std::size_t done = 0;
    while (done < n) {
      const auto want = static_cast<unsigned>(std::min<std::size_t>(n - done, std::size_t{1} << 30));
      const int got = gzread(f_, dst + done, want);
      if (got < 0) corrupt();
      if (got == 0) {
        // A gzip stream cut short reads as a short file with Z_BUF_ERROR at the end.
        int code = Z_OK;
        (void)gzerror(f_, &code);
        if (code != Z_OK && code != Z_STREAM_END) corrupt();
        break;
      }
      done += static_cast<std::size_t>(got);
    }
    return done;
  }

  /// Bytes left in the data, counted (and dropped) up to `cap`; cap + 1 means "more than cap".
  std::uint64_t count_rest(std::uint64_t cap) {
    std::array<std::uint8_t, 1 << 16> chunk{};
    std::uint64_t rest = 0;
    while (rest <= cap) {
      const std::size_t got = read(chunk.data(), chunk.size());
      if (got == 0) break;
      rest += got;
    }
    return std::min(rest, cap + 1);
  }

 private:
  [[noreturn]] void corrupt() {
    int code = 0;
    const std::string msg = gzerror(f_, &code);
    throw io_error(path_, "cannot decompress (zlib: " + msg +
                              "); the gzip data is corrupt or truncated");
  }

  std::string path_;
  gzFile f_ = nullptr;
};

inline std::uint32_t read_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

inline std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

/// A parsed IDX file of unsigned bytes: its extents and its element bytes.
struct idx_array {
  std::vector<index_t> extents;
  std::vector<std::uint8_t> bytes;  // the elements, row-major
};

/// Reads and validates an IDX file: magic 0x00000800 | dims (unsigned bytes), extents ≥ 1 (the
/// count may be 0) whose product — checked for overflow, extent by extent — is at most
/// `max_bytes`, and exactly as many element bytes as the extents promise. The header is read
/// and checked first; the data is then read (inflated) only up to the promised size plus one
/// byte, into memory that grows as data arrives. `kind` ("images", "labels") goes into the
/// messages.
[[nodiscard]] inline idx_array read_idx_file(const std::filesystem::path& path, int dims,
                                             const char* kind, std::uint64_t max_bytes) {
  const std::string p = path.string();
  const std::string what = std::string("IDX ") + kind + " file";
  io::require_regular_file(path, "an " + what);
  gz_reader in(path);
  const std::uint32_t expected_magic = 0x00000800u | static_cast<std::uint32_t>(dims);
  std::array<std::uint8_t, 4 + 4 * 3> head{};
  const std::size_t got_magic = in.read(head.data(), 4);
  if (got_magic < 4)
    throw io_error(p, "field 'magic': the file has " + std::to_string(got_magic) +
                          " bytes, expected an " + what + " starting with magic " +
                          hex32(expected_magic));
  const std::uint32_t magic = read_be32(head.data());
  if ((magic & 0xFFFF0000u) != 0 || ((magic >> 8) & 0xFFu) != 0x08u || (magic & 0xFFu) != static_cast<std::uint32_t>(dims)) {
    std::string reason = "field 'magic' is " + hex32(magic) + ", expected " + hex32(expected_magic) +
                         " (" + what + ": unsigned bytes, " + std::to_string(dims) +
                         (dims == 1 ? " dimension)" : " dimensions)");
    if ((magic & 0xFFFF0000u) == 0 && ((magic >> 8) & 0xFFu) != 0x08u)
      reason += "; dtype byte is 0x" + hex32((magic >> 8) & 0xFFu).substr(8) + ", expected 0x08";
    else if ((magic & 0xFFFF0000u) == 0)
      reason += "; dimension count is " + std::to_string(magic & 0xFFu) + ", expected " +
                std::to_string(dims);
    else if (magic == 0x1F8B0800u || (magic >> 16) == 0x1F8Bu)
      reason += "; this looks like gzip data zlib could not read";
    throw io_error(p, reason);
  }
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(dims);
  const std::size_t got_extents = in.read(head.data() + 4, header - 4);
  if (got_extents < header - 4)
    throw io_error(p, "truncated header: " + std::to_string(4 + got_extents) + " bytes, expected " +
                          std::to_string(header) + " (magic and " + std::to_string(dims) +
                          " extents)");
  static const char* const field_names[] = {"count", "rows", "columns"};
  // Bytes per item (the product of the extents after the count), then the whole data: each
  // product is checked against max_bytes before it is formed, so none can wrap around.
  std::uint64_t item = 1;
  idx_array a;
  for (int k = 0; k < dims; ++k) {
    const std::uint32_t e = read_be32(head.data() + 4 + 4 * k);
    a.extents.push_back(static_cast<index_t>(e));
    if (k == 0) continue;
    const std::string field = k < 3 ? field_names[k] : "extent " + std::to_string(k);
    if (e == 0) throw io_error(p, "field '" + field + "' is 0, expected ≥ 1");
    if (e > max_bytes / item)
      throw io_error(p, "field '" + field + "' is " + std::to_string(e) +
                            ": one item would exceed the limit of " + std::to_string(max_bytes) +
                            " bytes for an " + what);
    item *= e;
  }
  const std::uint64_t count = static_cast<std::uint64_t>(a.extents[0]);
  if (count > max_bytes / item)
    throw io_error(p, "field 'count' is " + std::to_string(count) + ": " + std::to_string(count) +
                          " " + kind + " of " + std::to_string(item) +
                          " bytes exceed the limit of " + std::to_string(max_bytes) +
                          " bytes for an " + what);
  const std::uint64_t total = count * item;
  // Grow as the data arrives (a header may promise far more than the file holds).
  std::uint64_t have = 0;
  try {
    constexpr std::uint64_t step = std::uint64_t{1} << 24;
    while (have < total) {
      const std::uint64_t want = std::min(step, total - have);
      a.bytes.resize(static_cast<std::size_t>(have + want));
      const std::size_t got = in.read(a.bytes.data() + have, static_cast<std::size_t>(want));
      have += got;
      if (got < want) break;
    }
  } catch (const std::bad_alloc&) {
    throw io_error(p, "out of memory after " + std::to_string(have) + " of the " +
                          std::to_string(total) + " bytes of data the header promises");
  }
  if (have < total) {
    std::string shape_text = std::to_string(a.extents[0]);
    for (int k = 1; k < dims; ++k) shape_text += "×" + std::to_string(a.extents[static_cast<std::size_t>(k)]);
    throw io_error(p, "truncated: field 'count' says " + std::to_string(a.extents[0]) + " " + kind +
                          " (" + shape_text + " = " + std::to_string(total) +
                          " bytes of data), the file has " + std::to_string(have) +
                          " bytes after the header");
  }
  constexpr std::uint64_t extra_cap = std::uint64_t{1} << 20;
  if (const std::uint64_t extra = in.count_rest(extra_cap); extra > 0)
    throw io_error(p, "field 'count' says " + std::to_string(a.extents[0]) + " " + kind + " (" +
                          std::to_string(total) + " bytes of data), but the file has " +
                          (extra > extra_cap ? "more than " + std::to_string(extra_cap)
                                             : std::to_string(extra)) +
                          " extra bytes after them");
  return a;
}

}  // namespace detail

/// Reads an IDX image file (magic 0x00000803, plain or .gz) as (N, rows, cols, 1) 8-bit images.
/// Throws io_error naming the file, the field and the expected value for a path that is not a
/// regular file, a wrong magic, dtype byte or dimension count, zero extents, extents promising
/// more than `max_bytes`, a truncated file or trailing bytes.
[[nodiscard]] inline tensor<std::uint8_t, cpu_t> read_idx_images(
    const std::filesystem::path& path, std::uint64_t max_bytes = idx_default_max_bytes) {
  const detail::idx_array a = detail::read_idx_file(path, 3, "images", max_bytes);
  tensor<std::uint8_t, cpu_t> images(shape{a.extents[0], a.extents[1], a.extents[2], 1},
                                     uninitialized);
  if (images.numel() > 0) std::memcpy(images.data(), a.bytes.data(), images.bytes());
  return images;
}

/// Reads an IDX label file (magic 0x00000801, plain or .gz) as (N) int32 labels. When
/// `num_classes` > 0, every label must be below it (io_error naming the file, the label's index
/// and value, and the range).
[[nodiscard]] inline tensor<std::int32_t, cpu_t> read_idx_labels(
    const std::filesystem::path& path, index_t num_classes = 0,
    std::uint64_t max_bytes = idx_default_max_bytes) {
  const detail::idx_array a = detail::read_idx_file(path, 1, "labels", max_bytes);
  tensor<std::int32_t, cpu_t> labels(shape{a.extents[0]}, uninitialized);
  for (index_t i = 0; i < a.extents[0]; ++i) {
    const std::uint8_t y = a.bytes[static_cast<std::size_t>(i)];
    if (num_classes > 0 && y >= num_classes)
      throw io_error(path.string(), "field 'label' of item " + std::to_string(i) + " is " +
                                        std::to_string(y) + ", expected 0.." +
                                        std::to_string(num_classes - 1));
    labels.data()[i] = y;
  }
  return labels;
}

/// Reads an IDX image file and its label file into a data set (images (N, rows, cols, 1)).
/// `num_classes` > 0 checks every label against it; 0 takes max label + 1. `class_names`, when
/// given, must have num_classes entries. Throws io_error (see read_idx_images /
/// read_idx_labels) and io_error naming both files when the counts differ.
[[nodiscard]] inline dataset read_idx(const std::filesystem::path& images_path,
                                      const std::filesystem::path& labels_path,
                                      index_t num_classes = 0,
                                      std::vector<std::string> class_names = {},
                                      std::uint64_t max_bytes = idx_default_max_bytes) {
  if (!class_names.empty() && num_classes > 0 &&
      static_cast<index_t>(class_names.size()) != num_classes)
    throw value_error("simclr: data::read_idx: " + std::to_string(class_names.size()) +
                      " class names for num_classes = " + std::to_string(num_classes));
  if (num_classes == 0 && !class_names.empty())
    num_classes = static_cast<index_t>(class_names.size());
  dataset d;
  d.images = read_idx_images(images_path, max_bytes);
  d.labels = read_idx_labels(labels_path, num_classes, max_bytes);
  if (d.labels.extent(0) != d.images.extent(0))
    throw io_error(labels_path.string(),
                   "field 'count' is " + std::to_string(d.labels.extent(0)) +
                       " labels, expected " + std::to_string(d.images.extent(0)) +
                       " (the image count of " + images_path.string() + ")");
  if (num_classes == 0) {
    std::int32_t top = -1;
    for (index_t i = 0; i < d.labels.extent(0); ++i) top = std::max(top, d.labels.data()[i]);
    num_classes = top + 1;
  }
  d.num_classes = num_classes;
  d.class_names = std::move(class_names);
  return d;
}

namespace detail {
/// `dir/stem.gz` when it exists, else `dir/stem`, else an io_error naming both.
[[nodiscard]] inline std::filesystem::path find_idx(const std::filesystem::path& dir,
                                                    const std::string& stem) {
  std::error_code ec;
  const std::filesystem::path gz = dir / (stem + ".gz");
  if (std::filesystem::exists(gz, ec)) return gz;
  const std::filesystem::path plain = dir / stem;
  if (std::filesystem::exists(plain, ec)) return plain;
  throw io_error(gz.string(), "not found (nor " + plain.string() +
                                  "); install Debian's dataset-fashion-mnist or pass the "
                                  "directory that holds the IDX files");
}
}  // namespace detail

/// Fashion-MNIST (Xiao et al. 2017) from `dir`: train 60 000 / test 10 000 images of 28×28×1,
/// 10 classes (fashion_mnist_classes()). Reads train-images-idx3-ubyte[.gz] /
/// train-labels-idx1-ubyte[.gz] or the t10k-* pair; the default directory is where Debian's
/// `dataset-fashion-mnist` package puts them. The same layout holds MNIST.
[[nodiscard]] inline dataset fashion_mnist(const std::filesystem::path& dir = fashion_mnist_default_dir,
                                           split which = split::train) {
  const std::string prefix = which == split::train ? "train" : "t10k";
  const std::filesystem::path images = detail::find_idx(dir, prefix + "-images-idx3-ubyte");
  const std::filesystem::path labels = detail::find_idx(dir, prefix + "-labels-idx1-ubyte");
  return read_idx(images, labels, 10, fashion_mnist_classes());
}

/// Fashion-MNIST's `which` split from the default directory.
[[nodiscard]] inline dataset fashion_mnist(split which) {
  return fashion_mnist(fashion_mnist_default_dir, which);
}

}  // namespace simclr::data
