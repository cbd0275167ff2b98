// simclr::io::write_safetensors: the atomic writer (temporary file, fsync, rename).
// One part of <simclr/io/safetensors.hpp>, which describes the format.
#pragma once

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <simclr/backend/tags.hpp>
#include <simclr/error.hpp>
#include <simclr/io/file.hpp>
#include <simclr/io/safetensors/dtype.hpp>
#include <simclr/tensor.hpp>
#include <simclr/tensor_view.hpp>

namespace simclr::io {

// ---- writing
// --------------------------------------------------------------------------------------

/// One tensor to write: name, dtype, extents and its little-endian row-major bytes (not owned:
/// they must outlive the write_safetensors call).
struct tensor_entry {
  std::string name;
  io::dtype type = io::dtype::f32;
  std::vector<index_t> extents;
  std::span<const std::byte> bytes;
};

/// An entry for a contiguous CPU view (shape_error for a strided one).
template <storable T>
[[nodiscard]] tensor_entry entry(std::string name, tensor_view<const T, cpu_t> v) {
  if (!v.is_contiguous())
    throw shape_error("simclr: safetensors entry " + detail::in_quotes(name) +
                      " is a strided view of shape " + v.shape().to_string() +
                      ", expected a contiguous one (copy it into a tensor first)");
  const std::span<const index_t> e = v.shape().extents();
  return tensor_entry{
      std::move(name), dtype_of<T>, std::vector<index_t>(e.begin(), e.end()),
      std::as_bytes(std::span<const T>(v.data(), static_cast<std::size_t>(v.numel())))};
}
/// An entry for a mutable CPU view.
template <storable T>
[[nodiscard]] tensor_entry entry(std::string name, tensor_view<T, cpu_t> v) {
  return entry<T>(std::move(name), tensor_view<const T, cpu_t>(v));
}
/// An entry for a CPU tensor (which must outlive the write).
template <storable T>
[[nodiscard]] tensor_entry entry(std::string name, const tensor<T, cpu_t>& t) {
  return entry<T>(std::move(name), t.view());
}
/// Entries must not point into temporaries.
template <storable T>
tensor_entry entry(std::string name, const tensor<T, cpu_t>&& t) = delete;

namespace detail {

/// The header the reference implementation writes: tensors sorted by descending dtype alignment
/// (dtype's declaration order) then by name, "__metadata__" first when not empty, compact JSON
/// with fields in the order dtype, shape, data_offsets, padded with spaces to a multiple of 8.
/// Returns the header text and the entries in data order.
[[nodiscard]] inline std::pair<std::string, std::vector<const tensor_entry*>> serialize_header(
    const std::vector<tensor_entry>& entries, const std::map<std::string, std::string>& metadata) {
  std::set<std::string_view> seen;
  for (const tensor_entry& e : entries) {
    if (e.name.empty()) throw value_error("simclr: a safetensors entry has an empty name");
    if (e.name == "__metadata__")
      throw value_error("simclr: \"__metadata__\" is reserved, not a valid tensor name");
    if (!seen.insert(e.name).second)
      throw value_error("simclr: safetensors entry name " + in_quotes(e.name) +
                        " appears twice, expected unique names");
    std::optional<std::uint64_t> bytes = dtype_size(e.type);
    for (index_t x : e.extents) {
      if (x < 0)
        throw value_error("simclr: safetensors entry " + in_quotes(e.name) + " has shape " +
                          extents_string(e.extents) + ", expected non-negative extents");
      if (bytes) bytes = checked_mul(*bytes, static_cast<std::uint64_t>(x));
    }
    if (!bytes || *bytes != e.bytes.size())
      throw value_error("simclr: safetensors entry " + in_quotes(e.name) + " has " +
                        std::to_string(e.bytes.size()) + " bytes, expected " +
                        (bytes ? std::to_string(*bytes) : std::string("more than 2^64")) + " for " +
                        std::string(to_string(e.type)) + " of shape " + extents_string(e.extents));
  }
  std::vector<const tensor_entry*> order;
  order.reserve(entries.size());
  for (const tensor_entry& e : entries) order.push_back(&e);
  std::stable_sort(order.begin(), order.end(), [](const tensor_entry* a, const tensor_entry* b) {
    if (a->type != b->type) return a->type > b->type;
    return a->name < b->name;
  });

  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    h["__metadata__"] = std::move(m);
  }
  std::uint64_t offset = 0;
  for (const tensor_entry* e : order) {
    nlohmann::ordered_json t = nlohmann::ordered_json::object();
    t["dtype"] = std::string(to_string(e->type));
    nlohmann::ordered_json s = nlohmann::ordered_json::array();
    for (index_t x : e->extents) s.push_back(static_cast<std::uint64_t>(x));
    t["shape"] = std::move(s);
    nlohmann::ordered_json o = nlohmann::ordered_json::array();
    o.push_back(offset);
    o.push_back(offset + e->bytes.size());
    t["data_offsets"] = std::move(o);
    offset += e->bytes.size();
    h[e->name] = std::move(t);
  }
  std::string text;
  try {
    text = h.dump();
  } catch (const nlohmann::json::exception& e) {
    throw value_error(std::string("simclr: a safetensors tensor name or metadata string is not "
                                  "valid UTF-8: ") +
                      e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  return {std::move(text), std::move(order)};
}

/// Writes all of `data`; returns 0 or an errno.
[[nodiscard]] inline int write_all(int fd, const std::byte* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return 0;
}

}  // namespace detail

namespace detail {
/// The start of the name of write_safetensors's temporary file for `path`: ".<name>.tmp-"; the
/// writer's pid and a counter follow ("-<pid>-<n>"), which remove_stale_temporaries reads back.
[[nodiscard]] inline std::string temporary_prefix(const std::filesystem::path& path) {
  return "." + path.filename().string() + ".tmp-";
}
}  // namespace detail

/// Removes the temporary files write_safetensors left next to `path` when its process was killed
/// while writing (".<name>.tmp-<pid>-<n>" whose process no longer runs; a live writer's file is
/// kept). Returns how many were removed. Training calls it for its checkpoint at start.
inline std::size_t remove_stale_temporaries(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const std::string prefix = detail::temporary_prefix(path);
  std::error_code ec;
  std::size_t removed = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    long pid = 0;
    const char* first = name.data() + prefix.size();
    const auto [rest, bad] = std::from_chars(first, name.data() + name.size(), pid);
    if (bad != std::errc() || rest == first || *rest != '-' || pid <= 0) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // still running
    std::error_code rm;
    if (fs::remove(it->path(), rm)) ++removed;
  }
  return removed;
}

/// Writes `entries` (and `metadata`, as "__metadata__", omitted when empty) to `path` in the
/// reference implementation's layout: tensors sorted by descending dtype alignment, then name;
/// header padded with spaces to a multiple of 8. Atomic: the bytes go to a temporary file in the
/// same directory, which is fsync'ed and renamed over `path`, so `path` holds either its old
/// contents or the complete new file. Throws value_error for an empty, reserved or repeated name
/// or bytes that do not match dtype × shape; io_error naming `path` when writing fails (the
/// temporary file is removed).
inline void write_safetensors(const std::filesystem::path& path,
                              const std::vector<tensor_entry>& entries,
                              const std::map<std::string, std::string>& metadata = {}) {
  const std::string p = path.string();
  auto [header, order] = detail::serialize_header(entries, metadata);
  if (!path.has_filename()) throw io_error(p, "names a directory, expected a file path to write");

  const std::filesystem::path dir =
      path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  static std::atomic<unsigned> counter{0};
  std::string tmp;
  detail::fd_guard fd;
  for (int attempt = 0; attempt < 100 && fd.fd < 0; ++attempt) {
    tmp = (dir / (detail::temporary_prefix(path) + std::to_string(::getpid()) + "-" +
                  std::to_string(counter.fetch_add(1))))
              .string();
    fd.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd.fd < 0 && errno != EEXIST)
      throw io_error(p, "cannot create the temporary file " + tmp + ": " +
                            detail::errno_text(errno) + " (the file is unchanged)");
  }
  if (fd.fd < 0) throw io_error(p, "cannot find a free temporary file name next to it");

  auto fail = [&](const std::string& step, int e) {
    fd.reset();
    ::unlink(tmp.c_str());
    throw io_error(p, step + ": " + detail::errno_text(e) + " (the temporary file " + tmp +
                          " was removed; the file is unchanged)");
  };
  std::byte length[8];
  const auto n = static_cast<std::uint64_t>(header.size());
  std::memcpy(length, &n, 8);
  if (int e = detail::write_all(fd.fd, length, 8)) fail("writing failed", e);
  if (int e = detail::write_all(fd.fd, reinterpret_cast<const std::byte*>(header.data()),
                                header.size()))
    fail("writing failed", e);
  for (const tensor_entry* t : order)
    if (int e = detail::write_all(fd.fd, t->bytes.data(), t->bytes.size()))
      fail("writing tensor " + detail::in_quotes(t->name) + " failed", e);
  if (::fsync(fd.fd) != 0) fail("fsync failed", errno);
  if (int e = fd.reset()) fail("close failed", e);
  if (::rename(tmp.c_str(), p.c_str()) != 0)
    fail("cannot rename the temporary file over it", errno);
  // Make the rename itself durable; some file systems refuse fsync on a directory, which only
  // weakens durability, so failures here are ignored.
  detail::fd_guard dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.fd >= 0) (void)::fsync(dir_fd.fd);
}

}  // namespace simclr::io
