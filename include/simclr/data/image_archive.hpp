// simclr::data::read_image_archive: a <dir>/<class>/<image> tree read straight out of a tar.gz
// (or any archive libarchive reads) into one in-memory data set — no extraction, no shell.
#pragma once

// Needs libarchive (Debian libarchive-dev; link simclr::archive). Archives come from others:
// libarchive is maintained and fuzzed (OSS-Fuzz), entries are size-checked before they are
// buffered, and only regular-file entries under the chosen folder are read — nothing is ever
// written to disk, so links and "../" names cannot reach outside anything.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <archive.h>
#include <archive_entry.h>

#include <simclr/data/dataset.hpp>
#include <simclr/data/image_folder.hpp>
#include <simclr/error.hpp>
#include <simclr/io/file.hpp>
#include <simclr/io/image.hpp>
#include <simclr/parallel/thread_pool.hpp>

namespace simclr::data {

/// How read_image_archive reads an archive: the image-folder options, and limits on what the
/// archive may make the reader hold before decoding.
struct image_archive_options {
  /// Channels, resize, extensions, class list, minimum size, data-set and pixel budgets: as for
  /// a folder (image_folder_options).
  image_folder_options images{};
  /// The folder inside the archive that holds the class folders ("train" for
  /// cifar10-train-jpg.tar.gz's train/<class>/<file>); empty: the archive's top level.
  std::string folder;
  /// Largest accepted entry (an encoded image file), checked from its header before it is
  /// read: default 64 MiB.
  std::int64_t max_entry_bytes = std::int64_t{1} << 26;
  /// Largest total of the encoded image files held for decoding: default 4 GiB.
  std::uint64_t max_encoded_bytes = std::uint64_t{1} << 32;
};

namespace detail {

/// A libarchive reader, freed at scope exit.
struct archive_reader {
  archive* a = archive_read_new();
  ~archive_reader() {
    if (a != nullptr) archive_read_free(a);
  }
  archive_reader() = default;
  archive_reader(const archive_reader&) = delete;
  archive_reader& operator=(const archive_reader&) = delete;
};

/// libarchive's message for the last failure (it may have none: archive_error_string is null).
[[nodiscard]] inline std::string archive_message(archive* a) {
  const char* m = archive_error_string(a);
  return m != nullptr ? m : "no message";
}

/// `name` split at '/', empty and "." parts dropped.
[[nodiscard]] inline std::vector<std::string> path_parts(const std::string& name) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t end = std::min(name.find('/', start), name.size());
    std::string part = name.substr(start, end - start);
    if (!part.empty() && part != ".") parts.push_back(std::move(part));
    start = end + 1;
  }
  return parts;
}

}  // namespace detail

/// Reads an image-classification tree stored in an archive — `folder/<class name>/<file>` inside
/// a .tar.gz, .tar, .tar.xz, .zip, ... — straight into one data set, as read_image_folder reads
/// it from disk: class ids are the positions of the class names in sorted (byte-wise) order or in
/// options.images.classes, files within a class in sorted order, so the result does not depend on
/// the order of the archive's entries or on the number of threads. Entries outside `folder`,
/// entries that are not regular files, and files whose extension is not accepted are skipped;
/// a file directly in `folder` or deeper than one class folder is skipped too.
///
/// Throws io_error naming the archive (and the entry, where there is one) when the archive is
/// missing, not a regular file, unreadable or corrupt; when an entry is larger than
/// max_entry_bytes or the entries together larger than max_encoded_bytes; when `folder` holds no
/// class folders with images or a listed class is missing; and for every image-folder failure
/// (an image that cannot be decoded, is too large or too small, a size mismatch without resize,
/// the data-set budget), with the entry named "archive:folder/class/file".
[[nodiscard]] inline dataset read_image_archive(const std::filesystem::path& archive_path,
                                                const image_archive_options& options = {},
                                                parallel::thread_pool& pool = parallel::default_pool()) {
  const image_folder_options& io_opt = options.images;
  detail::check_image_folder_options(io_opt, "data::read_image_archive");
  if (options.max_entry_bytes < 1)
    throw value_error("simclr: data::read_image_archive: max_entry_bytes is " +
                      std::to_string(options.max_entry_bytes) + ", expected ≥ 1");
  const std::string ap = archive_path.string();
  io::require_regular_file(archive_path, "an archive of images (.tar.gz, .zip, ...)");
  const std::vector<std::string> prefix = detail::path_parts(options.folder);
  std::vector<std::string> accepted;
  for (const auto& e : io_opt.extensions) accepted.push_back(detail::lower(e));

  detail::archive_reader r;
  if (r.a == nullptr) throw io_error(ap, "out of memory (libarchive)");
  archive_read_support_filter_all(r.a);
  archive_read_support_format_all(r.a);
  if (archive_read_open_filename(r.a, ap.c_str(), 1 << 16) != ARCHIVE_OK)
    throw io_error(ap, std::string("cannot open as an archive (libarchive: ") +
                           detail::archive_message(r.a) + ")");

  // class name → (file name → encoded bytes): sorted, whatever the order of the entries.
  std::map<std::string, std::map<std::string, std::vector<std::uint8_t>>> by_class;
  std::uint64_t held = 0;
  archive_entry* entry = nullptr;
  for (;;) {
    const int status = archive_read_next_header(r.a, &entry);
    if (status == ARCHIVE_EOF) break;
    if (status != ARCHIVE_OK && status != ARCHIVE_WARN)
      throw io_error(ap, std::string("corrupt or truncated archive (libarchive: ") +
                             detail::archive_message(r.a) + ")");
    const char* raw_name = archive_entry_pathname(entry);
    const std::string name = raw_name != nullptr ? raw_name : "";
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    const std::vector<std::string> parts = detail::path_parts(name);
    if (parts.size() != prefix.size() + 2 || !std::equal(prefix.begin(), prefix.end(), parts.begin()))
      continue;
    const std::string& file = parts.back();
    const std::string ext = detail::lower(std::filesystem::path(file).extension().string());
    if (std::find(accepted.begin(), accepted.end(), ext) == accepted.end()) continue;
    const std::string entry_name = ap + ":" + name;
    const la_int64_t size = archive_entry_size_is_set(entry) != 0 ? archive_entry_size(entry) : -1;
    if (size < 0 || size > options.max_entry_bytes)
      throw io_error(entry_name, "entry of " + std::to_string(size) +
                                     " bytes, expected 0.." + std::to_string(options.max_entry_bytes) +
                                     " (image_archive_options::max_entry_bytes)");
    if (static_cast<std::uint64_t>(size) > options.max_encoded_bytes - held)
      throw io_error(ap, "the image files exceed " + std::to_string(options.max_encoded_bytes) +
                             " bytes (image_archive_options::max_encoded_bytes) at entry " + name);
    std::vector<std::uint8_t> bytes;
    try {
      bytes.resize(static_cast<std::size_t>(size));
    } catch (const std::bad_alloc&) {
      throw io_error(entry_name, "out of memory for " + std::to_string(size) + " bytes");
    }
    la_ssize_t got = 0;
    std::size_t done = 0;
    while (done < bytes.size() &&
           (got = archive_read_data(r.a, bytes.data() + done, bytes.size() - done)) > 0)
      done += static_cast<std::size_t>(got);
    if (got < 0 || done != bytes.size())
      throw io_error(entry_name, "cannot read the entry (" +
                                     (got < 0 ? std::string("libarchive: ") + detail::archive_message(r.a)
                                              : "it ends after " + std::to_string(done) + " of " +
                                                    std::to_string(bytes.size()) + " bytes") +
                                     ")");
    held += bytes.size();
    by_class[parts[parts.size() - 2]][file] = std::move(bytes);
  }

  const std::string where = options.folder.empty() ? ap : ap + ":" + options.folder;
  std::vector<std::string> classes = io_opt.classes;
  if (classes.empty()) {
    for (const auto& [c, files] : by_class) classes.push_back(c);
    if (classes.empty())
      throw io_error(where, "holds no class folders with image files, expected " +
                                (options.folder.empty() ? std::string("<class>/<image>")
                                                        : options.folder + "/<class>/<image>") +
                                " entries");
  }
  std::vector<std::string> names;
  std::vector<std::int32_t> labels;
  std::vector<const std::vector<std::uint8_t>*> encoded;
  for (std::size_t c = 0; c < classes.size(); ++c) {
    const auto it = by_class.find(classes[c]);
    if (it == by_class.end())
      throw io_error(where, "class folder '" + classes[c] + "' not found or holds no image files");
    for (const auto& [file, bytes] : it->second) {
      names.push_back(ap + ":" +
                      (options.folder.empty() ? "" : options.folder + "/") + classes[c] + "/" + file);
      labels.push_back(static_cast<std::int32_t>(c));
      encoded.push_back(&bytes);
    }
  }
  const io::image_read_options ro = detail::read_options(io_opt);
  return detail::decode_labelled(
      names, labels, std::move(classes), io_opt,
      [&](index_t i) {
        const auto k = static_cast<std::size_t>(i);
        return io::decode_image(*encoded[k], names[k], ro);
      },
      pool, where);
}

}  // namespace simclr::data
