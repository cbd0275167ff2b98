// simclr::io::safetensors_file, read_safetensors, parse_safetensors: the validating reader.
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
#include <cerrno>
#include <filesystem>
#include <functional>
#include <map>
#include <new>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <simclr/backend/tags.hpp>
#include <simclr/error.hpp>
#include <simclr/io/file.hpp>
#include <simclr/io/safetensors/header.hpp>
#include <simclr/shape.hpp>
#include <simclr/tensor.hpp>
#include <simclr/tensor_view.hpp>

namespace simclr::io {

class safetensors_file;
/// Parses a whole safetensors file held in memory; `source` names it in error messages.
[[nodiscard]] safetensors_file parse_safetensors(std::span<const std::byte> file_bytes,
                                                 std::string source,
                                                 const read_options& options = {});
/// Reads and validates the safetensors file at `path` (see the definition below).
[[nodiscard]] safetensors_file read_safetensors(const std::filesystem::path& path,
                                                const read_options& options = {});

/// A validated safetensors file held in memory: the header's tensor index and metadata, and the
/// data buffer. Move-only (it may hold hundreds of MB).
class safetensors_file {
 public:
  safetensors_file(const safetensors_file&) = delete;
  safetensors_file& operator=(const safetensors_file&) = delete;
  safetensors_file(safetensors_file&&) noexcept = default;
  safetensors_file& operator=(safetensors_file&&) noexcept = default;
  ~safetensors_file() = default;

  /// The path it was read from (or the source name given to parse_safetensors).
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  /// Number of tensors.
  [[nodiscard]] std::size_t size() const noexcept { return tensors_.size(); }
  [[nodiscard]] bool contains(std::string_view name) const { return index_.contains(name); }
  /// Tensor names in file order (by data offset).
  [[nodiscard]] std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(tensors_.size());
    for (const tensor_info& t : tensors_) out.push_back(t.name);
    return out;
  }
  /// Every tensor's header entry, in file order.
  [[nodiscard]] const std::vector<tensor_info>& tensors() const noexcept { return tensors_; }
  /// The header entry of `name`; io_error if there is none.
  [[nodiscard]] const tensor_info& info(std::string_view name) const {
    const auto it = index_.find(name);
    if (it == index_.end())
      throw io_error(path_, "no tensor named " + detail::in_quotes(name) + " (the file has " +
                                std::to_string(tensors_.size()) + " tensors)");
    return tensors_[it->second];
  }
  /// The raw little-endian bytes of `name` (valid while this object lives).
  [[nodiscard]] std::span<const std::byte> bytes(std::string_view name) const {
    const tensor_info& t = info(name);
    return std::span<const std::byte>(data_).subspan(static_cast<std::size_t>(t.begin),
                                                     static_cast<std::size_t>(t.byte_size()));
  }
  /// The "__metadata__" map (empty when the file has none).
  [[nodiscard]] const std::map<std::string, std::string>& metadata() const noexcept {
    return metadata_;
  }
  /// Size of the data buffer in bytes.
  [[nodiscard]] std::size_t data_size() const noexcept { return data_.size(); }

  /// Copies `name` into `dst`, converting elements as `c` allows. Throws shape_error when `dst`'s
  /// shape differs from the file's (naming the tensor and both shapes) or `dst` is not
  /// contiguous, io_error when the dtype cannot be converted or a value does not fit.
  template <storable T>
  void copy_to(std::string_view name, tensor_view<T, cpu_t> dst,
               conversion c = conversion::exact) const {
    const tensor_info& t = info(name);
    const std::span<const index_t> have = dst.shape().extents();
    if (!std::equal(have.begin(), have.end(), t.extents.begin(), t.extents.end()))
      throw shape_error("simclr: " + path_ + ": tensor " + detail::in_quotes(t.name) +
                        " has shape " + t.shape_string() +
                        " in the file, the destination has shape " + dst.shape().to_string());
    if (!dst.is_contiguous())
      throw shape_error("simclr: " + path_ + ": reading tensor " + detail::in_quotes(t.name) +
                        " needs a contiguous destination, got a strided view of shape " +
                        dst.shape().to_string());
    convert_into(t, dst.data(), c);
  }

  /// A new tensor<T> holding `name`, converting elements as `c` allows (see copy_to).
  template <storable T>
  [[nodiscard]] tensor<T, cpu_t> get(std::string_view name,
                                     conversion c = conversion::exact) const {
    const tensor_info& t = info(name);
    if (t.extents.size() > static_cast<std::size_t>(simclr::shape::max_rank))
      throw shape_error("simclr: " + path_ + ": tensor " + detail::in_quotes(t.name) +
                        " has rank " + std::to_string(t.extents.size()) +
                        ", simclr tensors have at most " + std::to_string(simclr::shape::max_rank) +
                        " axes (use bytes())");
    tensor<T, cpu_t> out(t.shape(), uninitialized);
    convert_into(t, out.data(), c);
    return out;
  }

 private:
  friend safetensors_file parse_safetensors(std::span<const std::byte>, std::string,
                                            const read_options&);
  friend safetensors_file read_safetensors(const std::filesystem::path&, const read_options&);
  safetensors_file() = default;

  template <class T>
  void convert_into(const tensor_info& t, T* out, conversion c) const {
    constexpr dtype want = dtype_of<T>;
    if (!detail::conversion_allowed(t.type, want, c)) {
      std::string hint;
      if (detail::conversion_allowed(t.type, want, conversion::lossless))
        hint = " (pass conversion::lossless)";
      else if (detail::conversion_allowed(t.type, want, conversion::checked))
        hint = " (pass conversion::checked to convert with a per-value range check)";
      else
        hint = " (no conversion exists; read bytes() instead)";
      throw io_error(path_, "tensor " + detail::in_quotes(t.name) + " is " +
                                std::string(to_string(t.type)) + ", reading it as " +
                                std::string(to_string(want)) + " is not allowed under " +
                                std::string(to_string(c)) + hint);
    }
    const std::size_t n = static_cast<std::size_t>(t.numel());
    if (n == 0) return;
    const std::byte* src = data_.data() + t.begin;
    if (t.type == want && want != dtype::boolean) {  // bool bytes need checking: only 0 and 1
      std::memcpy(out, src, n * sizeof(T));
      return;
    }
    auto fail = [&](std::size_t i, const std::string& value) {
      throw io_error(
          path_, "tensor " + detail::in_quotes(t.name) + ": element " + std::to_string(i) + " (" +
                     value + ") of " + std::string(to_string(t.type)) + " does not fit in " +
                     std::string(to_string(want)) + " under " + std::string(to_string(c)));
    };
    auto loop = [&](auto decode) {
      for (std::size_t i = 0; i < n; ++i) {
        const auto v = decode(i);
        if (!detail::convert_value(v, out[i])) fail(i, detail::describe_value(v));
      }
    };
    auto plain = [&]<class S>(std::type_identity<S>) {
      loop([&](std::size_t i) { return detail::load<S>(src + i * sizeof(S)); });
    };
    switch (t.type) {
      case dtype::boolean:
        loop([&](std::size_t i) {
          const auto b = detail::load<std::uint8_t>(src + i);
          if (b > 1)
            throw io_error(path_, "tensor " + detail::in_quotes(t.name) + ": BOOL element " +
                                      std::to_string(i) + " is byte " + std::to_string(b) +
                                      ", expected 0 or 1");
          return b == 1;
        });
        break;
      case dtype::u8:
        plain(std::type_identity<std::uint8_t>{});
        break;
      case dtype::i8:
        plain(std::type_identity<std::int8_t>{});
        break;
      case dtype::i16:
        plain(std::type_identity<std::int16_t>{});
        break;
      case dtype::u16:
        plain(std::type_identity<std::uint16_t>{});
        break;
      case dtype::i32:
        plain(std::type_identity<std::int32_t>{});
        break;
      case dtype::u32:
        plain(std::type_identity<std::uint32_t>{});
        break;
      case dtype::i64:
        plain(std::type_identity<std::int64_t>{});
        break;
      case dtype::u64:
        plain(std::type_identity<std::uint64_t>{});
        break;
      case dtype::f32:
        plain(std::type_identity<float>{});
        break;
      case dtype::f64:
        plain(std::type_identity<double>{});
        break;
      case dtype::f16:
        loop([&](std::size_t i) {
          return detail::half_to_float(detail::load<std::uint16_t>(src + 2 * i));
        });
        break;
      case dtype::bf16:
        loop([&](std::size_t i) {
          return detail::bf16_to_float(detail::load<std::uint16_t>(src + 2 * i));
        });
        break;
      case dtype::f8_e5m2:
      case dtype::f8_e4m3:
        break;  // excluded by conversion_allowed
    }
  }

  std::string path_;
  std::vector<tensor_info> tensors_;  // by data offset
  std::map<std::string, std::size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
  std::vector<std::byte> data_;
};


namespace detail {

/// Reads exactly `n` bytes at `offset`; returns 0 or an errno (EIO-like -1 for a short file).
[[nodiscard]] inline int read_exactly(int fd, std::byte* out, std::size_t n, std::uint64_t offset) {
  while (n > 0) {
    const ssize_t r = ::pread(fd, out, n, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (r == 0) return -1;
    out += r;
    n -= static_cast<std::size_t>(r);
    offset += static_cast<std::uint64_t>(r);
  }
  return 0;
}

}  // namespace detail

[[nodiscard]] inline safetensors_file parse_safetensors(std::span<const std::byte> file_bytes,
                                                        std::string source,
                                                        const read_options& options) {
  const std::uint64_t n = detail::check_header_length(
      source, file_bytes.first(std::min<std::size_t>(8, file_bytes.size())), file_bytes.size(),
      options);
  const auto* text = reinterpret_cast<const char*>(file_bytes.data() + 8);
  const detail::json header =
      detail::parse_json_header(source, std::string_view(text, static_cast<std::size_t>(n)));
  const std::uint64_t data_size = file_bytes.size() - 8 - n;
  detail::parsed_header parsed = detail::validate_header(source, header, data_size);
  safetensors_file f;
  f.path_ = std::move(source);
  f.tensors_ = std::move(parsed.tensors);
  f.metadata_ = std::move(parsed.metadata);
  for (std::size_t i = 0; i < f.tensors_.size(); ++i) f.index_.emplace(f.tensors_[i].name, i);
  const auto data = file_bytes.subspan(static_cast<std::size_t>(8 + n));
  f.data_.assign(data.begin(), data.end());
  return f;
}

/// Reads and validates the safetensors file at `path`. Throws io_error naming the file and the
/// field at fault: unreadable file, bad header length, JSON that is not an object, a tensor entry
/// with a missing, mistyped or inconsistent dtype/shape/data_offsets, overlaps or holes in the
/// data buffer, a "__metadata__" that is not string → string, or a key that appears twice.
[[nodiscard]] inline safetensors_file read_safetensors(const std::filesystem::path& path,
                                                       const read_options& options) {
  const std::string p = path.string();
  // A FIFO would block open() until a writer came: refused first, and O_NONBLOCK covers one
  // swapped in between (fstat below refuses it then).
  io::require_regular_file(path, "a safetensors file");
  detail::fd_guard fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.fd < 0) throw io_error(p, "cannot open for reading: " + detail::errno_text(errno));
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) throw io_error(p, "cannot stat: " + detail::errno_text(errno));
  if (!S_ISREG(st.st_mode)) throw io_error(p, "not a regular file, expected a safetensors file");
  const auto file_size = static_cast<std::uint64_t>(st.st_size);

  auto read_or_throw = [&](std::byte* out, std::size_t n, std::uint64_t offset, const char* what) {
    const int e = detail::read_exactly(fd.fd, out, n, offset);
    if (e == -1)
      throw io_error(p, std::string("file ended while reading ") + what +
                            " (was it truncated while being read?)");
    if (e != 0)
      throw io_error(p, std::string("cannot read ") + what + ": " + detail::errno_text(e));
  };

  std::byte first8[8] = {};
  if (file_size >= 8) read_or_throw(first8, 8, 0, "the header length");
  const std::uint64_t n = detail::check_header_length(p, first8, file_size, options);
  std::string text(static_cast<std::size_t>(n), '\0');
  read_or_throw(reinterpret_cast<std::byte*>(text.data()), text.size(), 8, "the header");
  const detail::json header = detail::parse_json_header(p, text);
  const std::uint64_t data_size = file_size - 8 - n;
  detail::parsed_header parsed = detail::validate_header(p, header, data_size);

  safetensors_file f;
  try {  // the file's own size, checked against the header: a failure is the machine's memory
    f.data_.resize(static_cast<std::size_t>(data_size));
  } catch (const std::bad_alloc&) {
    throw io_error(p, "out of memory for the " + std::to_string(data_size) +
                          "-byte data buffer");
  }
  read_or_throw(f.data_.data(), f.data_.size(), 8 + n, "the data buffer");
  f.path_ = p;
  f.tensors_ = std::move(parsed.tensors);
  f.metadata_ = std::move(parsed.metadata);
  for (std::size_t i = 0; i < f.tensors_.size(); ++i) f.index_.emplace(f.tensors_[i].name, i);
  return f;
}

}  // namespace simclr::io
