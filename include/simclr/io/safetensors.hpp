// Safetensors files (Hugging Face's tensor format): a validating reader and an atomic writer.
#pragma once

// The format: an 8-byte little-endian u64 N, N bytes of UTF-8 JSON mapping each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (plus an optional "__metadata__" object of
// string → string), then the byte buffer the offsets index, little-endian and row-major.
//
// Reading loads the whole file into memory (the header first, validated, then the data buffer;
// a ResNet-50 is ~100 MB). It does not mmap: a mapping is POSIX-specific and a file truncated
// under it kills the process with SIGBUS. Writing is atomic: a temporary file in the target's
// directory, fsync, rename over the target. POSIX only (open/fsync/rename).

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <new>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <simclr/backend/tags.hpp>
#include <simclr/config.hpp>
#include <simclr/error.hpp>
#include <simclr/io/file.hpp>
#include <simclr/shape.hpp>
#include <simclr/tensor.hpp>
#include <simclr/tensor_view.hpp>

namespace simclr::io {

static_assert(std::endian::native == std::endian::little,
              "simclr: safetensors I/O copies bytes as they are and so needs a little-endian host "
              "(the format is little-endian); big-endian hosts are not supported");

// ---- element types ------------------------------------------------------------------------------

/// The element types of the safetensors format, declared in the reference implementation's
/// order (increasing alignment), which the writer uses to lay tensors out.
enum class dtype {
  boolean,
  u8,
  i8,
  f8_e5m2,
  f8_e4m3,
  i16,
  u16,
  f16,
  bf16,
  i32,
  u32,
  f32,
  f64,
  i64,
  u64
};

/// Every dtype, in declaration order.
inline constexpr dtype all_dtypes[] = {dtype::boolean, dtype::u8,  dtype::i8,  dtype::f8_e5m2,
                                       dtype::f8_e4m3, dtype::i16, dtype::u16, dtype::f16,
                                       dtype::bf16,    dtype::i32, dtype::u32, dtype::f32,
                                       dtype::f64,     dtype::i64, dtype::u64};

/// The name the format uses: "F32", "BF16", "BOOL", ...
[[nodiscard]] constexpr std::string_view to_string(dtype d) noexcept {
  switch (d) {
    case dtype::boolean:
      return "BOOL";
    case dtype::u8:
      return "U8";
    case dtype::i8:
      return "I8";
    case dtype::f8_e5m2:
      return "F8_E5M2";
    case dtype::f8_e4m3:
      return "F8_E4M3";
    case dtype::i16:
      return "I16";
    case dtype::u16:
      return "U16";
    case dtype::f16:
      return "F16";
    case dtype::bf16:
      return "BF16";
    case dtype::i32:
      return "I32";
    case dtype::u32:
      return "U32";
    case dtype::f32:
      return "F32";
    case dtype::f64:
      return "F64";
    case dtype::i64:
      return "I64";
    case dtype::u64:
      return "U64";
  }
  return "?";
}

/// Bytes per element.
[[nodiscard]] constexpr std::size_t dtype_size(dtype d) noexcept {
  switch (d) {
    case dtype::boolean:
    case dtype::u8:
    case dtype::i8:
    case dtype::f8_e5m2:
    case dtype::f8_e4m3:
      return 1;
    case dtype::i16:
    case dtype::u16:
    case dtype::f16:
    case dtype::bf16:
      return 2;
    case dtype::i32:
    case dtype::u32:
    case dtype::f32:
      return 4;
    case dtype::f64:
    case dtype::i64:
    case dtype::u64:
      return 8;
  }
  return 0;
}

/// The dtype named `name` ("F32"), or nothing for an unknown name (names are case-sensitive).
[[nodiscard]] constexpr std::optional<dtype> parse_dtype(std::string_view name) noexcept {
  for (dtype d : all_dtypes)
    if (to_string(d) == name) return d;
  return std::nullopt;
}

/// Maps a C++ element type to its dtype; specialised for the types tensors can be read into and
/// written from.
template <class T>
struct dtype_traits {};
template <>
struct dtype_traits<bool> {
  static constexpr dtype value = dtype::boolean;
};
template <>
struct dtype_traits<std::uint8_t> {
  static constexpr dtype value = dtype::u8;
};
template <>
struct dtype_traits<std::int8_t> {
  static constexpr dtype value = dtype::i8;
};
template <>
struct dtype_traits<std::int16_t> {
  static constexpr dtype value = dtype::i16;
};
template <>
struct dtype_traits<std::uint16_t> {
  static constexpr dtype value = dtype::u16;
};
template <>
struct dtype_traits<std::int32_t> {
  static constexpr dtype value = dtype::i32;
};
template <>
struct dtype_traits<std::uint32_t> {
  static constexpr dtype value = dtype::u32;
};
template <>
struct dtype_traits<float> {
  static constexpr dtype value = dtype::f32;
};
template <>
struct dtype_traits<double> {
  static constexpr dtype value = dtype::f64;
};
template <>
struct dtype_traits<std::int64_t> {
  static constexpr dtype value = dtype::i64;
};
template <>
struct dtype_traits<std::uint64_t> {
  static constexpr dtype value = dtype::u64;
};

/// A C++ element type with a safetensors dtype: bool, float, double and the fixed-width integers.
template <class T>
concept storable = requires {
  dtype_traits<T>::value;
};

/// The dtype of `T` (`dtype_of<float>` is dtype::f32).
template <storable T>
inline constexpr dtype dtype_of = dtype_traits<T>::value;

/// What a typed read may do when the file's dtype differs from the requested element type.
enum class conversion {
  exact,     ///< the dtypes must match
  lossless,  ///< also conversions that keep every possible value: F16/BF16/F32 → double,
             ///< F16/BF16 → float, narrower → wider integers, small integers → floating point
  checked,   ///< any numeric dtype (not F8); each value is checked: integer targets need an
             ///< in-range integral value, floating targets round to nearest and fail on overflow
};

[[nodiscard]] constexpr std::string_view to_string(conversion c) noexcept {
  switch (c) {
    case conversion::exact:
      return "conversion::exact";
    case conversion::lossless:
      return "conversion::lossless";
    case conversion::checked:
      return "conversion::checked";
  }
  return "?";
}

namespace detail {

enum class number_kind { boolean, signed_int, unsigned_int, floating, other };

struct dtype_numerics {
  number_kind kind;
  int digits;        // value bits (excluding sign) for integers, mantissa bits for floats
  int max_exponent;  // floats only
  int min_exponent;  // floats only (normal range; subnormals follow the mantissa)
};

[[nodiscard]] constexpr dtype_numerics numerics(dtype d) noexcept {
  switch (d) {
    case dtype::boolean:
      return {number_kind::boolean, 1, 0, 0};
    case dtype::u8:
      return {number_kind::unsigned_int, 8, 0, 0};
    case dtype::i8:
      return {number_kind::signed_int, 7, 0, 0};
    case dtype::i16:
      return {number_kind::signed_int, 15, 0, 0};
    case dtype::u16:
      return {number_kind::unsigned_int, 16, 0, 0};
    case dtype::i32:
      return {number_kind::signed_int, 31, 0, 0};
    case dtype::u32:
      return {number_kind::unsigned_int, 32, 0, 0};
    case dtype::i64:
      return {number_kind::signed_int, 63, 0, 0};
    case dtype::u64:
      return {number_kind::unsigned_int, 64, 0, 0};
    case dtype::f16:
      return {number_kind::floating, 11, 16, -13};
    case dtype::bf16:
      return {number_kind::floating, 8, 128, -125};
    case dtype::f32:
      return {number_kind::floating, 24, 128, -125};
    case dtype::f64:
      return {number_kind::floating, 53, 1024, -1021};
    case dtype::f8_e5m2:
    case dtype::f8_e4m3:
      return {number_kind::other, 0, 0, 0};
  }
  return {number_kind::other, 0, 0, 0};
}

/// True when every value of `from` is exactly a value of `to`.
[[nodiscard]] constexpr bool converts_losslessly(dtype from, dtype to) noexcept {
  if (from == to) return true;
  const dtype_numerics f = numerics(from), t = numerics(to);
  if (f.kind == number_kind::other || t.kind == number_kind::other) return false;
  switch (t.kind) {
    case number_kind::boolean:
      return false;
    case number_kind::floating:
      if (f.kind == number_kind::floating)
        return f.digits <= t.digits && f.max_exponent <= t.max_exponent &&
               f.min_exponent - f.digits >= t.min_exponent - t.digits;
      return f.digits <= t.digits;
    case number_kind::signed_int:
      return f.kind != number_kind::floating && f.digits <= t.digits;
    case number_kind::unsigned_int:
      return (f.kind == number_kind::boolean || f.kind == number_kind::unsigned_int) &&
             f.digits <= t.digits;
    case number_kind::other:
      return false;
  }
  return false;
}

/// Whether a typed read of a `from` tensor into `to` is allowed under `c`.
[[nodiscard]] constexpr bool conversion_allowed(dtype from, dtype to, conversion c) noexcept {
  switch (c) {
    case conversion::exact:
      return from == to;
    case conversion::lossless:
      return converts_losslessly(from, to);
    case conversion::checked:
      return from == to ||
             (numerics(from).kind != number_kind::other && numerics(to).kind != number_kind::other);
  }
  return false;
}

/// IEEE 754 binary16 → float (exact).
[[nodiscard]] inline float half_to_float(std::uint16_t h) noexcept {
  const bool negative = (h & 0x8000u) != 0;
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  float v;
  if (exponent == 0)
    v = std::ldexp(static_cast<float>(mantissa), -24);  // zero or subnormal
  else if (exponent == 31)
    v = mantissa == 0 ? std::numeric_limits<float>::infinity()
                      : std::numeric_limits<float>::quiet_NaN();
  else
    v = std::ldexp(static_cast<float>(mantissa | 0x400), exponent - 25);
  return negative ? -v : v;
}

/// bfloat16 → float (exact: the upper half of a float's bits).
[[nodiscard]] inline float bf16_to_float(std::uint16_t b) noexcept {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

template <class S>
[[nodiscard]] S load(const std::byte* p) noexcept {
  S v;
  std::memcpy(&v, p, sizeof(S));  // the data buffer need not be aligned
  return v;
}

/// Converts `v` to `T` into `out`; false when `v` is not representable (see conversion::checked).
template <class T, class S>
[[nodiscard]] bool convert_value(S v, T& out) noexcept {
  if constexpr (std::is_same_v<T, S>) {
    out = v;
    return true;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (v == static_cast<S>(0))
      out = false;
    else if (v == static_cast<S>(1))
      out = true;
    else
      return false;
    return true;
  } else if constexpr (std::is_same_v<S, bool>) {
    out = static_cast<T>(v ? 1 : 0);
    return true;
  } else if constexpr (std::is_floating_point_v<T>) {
    out = static_cast<T>(v);
    if constexpr (std::is_floating_point_v<S>) return !(std::isfinite(v) && !std::isfinite(out));
    return true;
  } else if constexpr (std::is_floating_point_v<S>) {  // floating → integer
    if (!std::isfinite(v) || std::trunc(v) != v) return false;
    const S lo = static_cast<S>(std::numeric_limits<T>::min());  // 0 or −2^k: exact
    const S hi = std::ldexp(static_cast<S>(1), std::numeric_limits<T>::digits);  // 2^digits
    if (v < lo || v >= hi) return false;
    out = static_cast<T>(v);
    return true;
  } else {  // integer → integer
    if (!std::in_range<T>(v)) return false;
    out = static_cast<T>(v);
    return true;
  }
}

template <class S>
[[nodiscard]] std::string describe_value(S v) {
  if constexpr (std::is_same_v<S, bool>) {
    return v ? "true" : "false";
  } else {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
  }
}

[[nodiscard]] inline std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

[[nodiscard]] inline std::string extents_string(std::span<const index_t> extents) {
  std::string s = "(";
  for (std::size_t i = 0; i < extents.size(); ++i) {
    if (i != 0) s += ", ";
    s += std::to_string(extents[i]);
  }
  return s + ")";
}

[[nodiscard]] inline std::string errno_text(int e) {
  return std::error_code(e, std::generic_category()).message();
}

/// a * b, or nothing on overflow of std::uint64_t.
[[nodiscard]] constexpr std::optional<std::uint64_t> checked_mul(std::uint64_t a,
                                                                 std::uint64_t b) noexcept {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return std::nullopt;
  return a * b;
}

}  // namespace detail

// ---- reading
// --------------------------------------------------------------------------------------

/// What the header says about one tensor.
struct tensor_info {
  std::string name;
  io::dtype type = io::dtype::f32;
  std::vector<index_t> extents;  ///< outermost first; empty for a scalar
  std::uint64_t begin = 0;       ///< data_offsets[0], relative to the start of the data buffer
  std::uint64_t end = 0;         ///< data_offsets[1]

  /// Number of elements (1 for a scalar).
  [[nodiscard]] index_t numel() const noexcept {
    index_t n = 1;
    for (index_t e : extents) n *= e;
    return n;
  }
  [[nodiscard]] std::uint64_t byte_size() const noexcept { return end - begin; }
  /// The extents as a simclr::shape; throws shape_error for rank > shape::max_rank.
  [[nodiscard]] simclr::shape shape() const {
    if (extents.size() > static_cast<std::size_t>(simclr::shape::max_rank))
      throw shape_error("simclr: tensor " + detail::in_quotes(name) + " has rank " +
                        std::to_string(extents.size()) + ", simclr tensors have at most " +
                        std::to_string(simclr::shape::max_rank) + " axes");
    return simclr::shape(std::span<const index_t>(extents));
  }
  /// "(64, 3, 7, 7)"; "()" for a scalar.
  [[nodiscard]] std::string shape_string() const { return detail::extents_string(extents); }
};

/// Limits for reading untrusted files.
struct read_options {
  /// Largest header accepted, in bytes (the reference implementation's limit: 100 MB).
  std::uint64_t max_header_bytes = 100'000'000;
};

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

using json = nlohmann::json;

[[nodiscard]] inline std::string json_kind(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "the integer " + j.dump();
    case json::value_t::number_float:
      return "the number " + j.dump();
    case json::value_t::binary:
      return "binary data";
    case json::value_t::discarded:
      return "discarded";
  }
  return "?";
}

[[nodiscard]] inline std::optional<std::uint64_t> non_negative_integer(const json& j) {
  if (j.is_number_unsigned()) return j.get<std::uint64_t>();
  if (j.is_number_integer()) {
    const auto v = j.get<std::int64_t>();
    if (v >= 0) return static_cast<std::uint64_t>(v);
  }
  return std::nullopt;
}

[[nodiscard]] inline std::string dtype_list() {
  std::string s;
  for (dtype d : all_dtypes) {
    if (!s.empty()) s += ", ";
    s += to_string(d);
  }
  return s;
}

/// The parsed, validated header.
struct parsed_header {
  std::vector<tensor_info> tensors;  // by data offset
  std::map<std::string, std::string> metadata;
};

/// Parses the JSON header, rejecting duplicate keys at any level (nlohmann keeps the last one
/// silently, so the parser callback tracks the keys of every open object).
[[nodiscard]] inline json parse_json_header(const std::string& path, std::string_view text) {
  struct frame {
    std::set<std::string, std::less<>> keys;
    std::string owner;  // for depth-2 objects: the top-level key they belong to
  };
  std::vector<frame> stack;
  std::string last_key;
  std::optional<std::string> duplicate;
  const json::parser_callback_t callback = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        stack.push_back({{}, stack.size() == 1 ? last_key : std::string()});
        break;
      case json::parse_event_t::object_end:
        if (!stack.empty()) stack.pop_back();
        break;
      case json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (!stack.empty() && !stack.back().keys.insert(key).second && !duplicate) {
          if (stack.size() == 1)
            duplicate = key == "__metadata__"
                            ? std::string("\"__metadata__\" appears twice in the header")
                            : "tensor name " + in_quotes(key) + " appears twice in the header";
          else if (stack.size() == 2 && stack.back().owner == "__metadata__")
            duplicate = "__metadata__ key " + in_quotes(key) + " appears twice";
          else if (stack.size() == 2)
            duplicate = "tensor " + in_quotes(stack.back().owner) + ": field " + in_quotes(key) +
                        " appears twice";
          else
            duplicate = "key " + in_quotes(key) + " appears twice in a nested object";
        }
        last_key = key;
        break;
      }
      default:
        break;
    }
    return true;
  };
  // nlohmann's lexer takes a NUL byte for the end of input and would ignore what follows it;
  // JSON text never contains one (control characters in strings must be escaped).
  if (const auto nul = text.find('\0'); nul != std::string_view::npos)
    throw io_error(path, "header is not valid JSON: a NUL byte at header offset " +
                             std::to_string(nul) + ", expected UTF-8 JSON padded with spaces");
  json header;
  try {
    header = json::parse(text.begin(), text.end(), callback);
  } catch (const json::exception& e) {
    throw io_error(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (duplicate) throw io_error(path, *duplicate + ", expected each key once");
  return header;
}

/// Validates every field of the header against a data buffer of `data_size` bytes.
[[nodiscard]] inline parsed_header validate_header(const std::string& path, const json& header,
                                                   std::uint64_t data_size) {
  if (!header.is_object())
    throw io_error(path, "header is " + json_kind(header) +
                             ", expected a JSON object mapping tensor names to "
                             "{dtype, shape, data_offsets}");
  parsed_header out;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object())
        throw io_error(path, "\"__metadata__\" is " + json_kind(entry) +
                                 ", expected an object of string → string");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string())
          throw io_error(path, "__metadata__[" + in_quotes(key) + "] is " + json_kind(value) +
                                   ", expected a string");
        out.metadata.emplace(key, value.get<std::string>());
      }
      continue;
    }
    const std::string where = "tensor " + in_quotes(name);
    if (!entry.is_object())
      throw io_error(path, where + ": entry is " + json_kind(entry) +
                               ", expected an object {dtype, shape, data_offsets}");
    for (const char* field : {"dtype", "shape", "data_offsets"})
      if (!entry.contains(field))
        throw io_error(path, where + ": missing field " + in_quotes(field) +
                                 " (expected dtype, shape and data_offsets)");
    for (const auto& [field, value] : entry.items())
      if (field != "dtype" && field != "shape" && field != "data_offsets")
        throw io_error(path, where + ": unknown field " + in_quotes(field) +
                                 ", expected only dtype, shape and data_offsets");
    tensor_info t;
    t.name = name;

    const json& jd = entry["dtype"];
    if (!jd.is_string())
      throw io_error(path, where + ": field \"dtype\" is " + json_kind(jd) +
                               ", expected a string, one of " + dtype_list());
    const auto d = parse_dtype(jd.get_ref<const std::string&>());
    if (!d)
      throw io_error(path, where + ": unknown dtype " + jd.dump() +
                               " in field \"dtype\", expected one of " + dtype_list());
    t.type = *d;

    const json& js = entry["shape"];
    if (!js.is_array())
      throw io_error(path, where + ": field \"shape\" is " + json_kind(js) +
                               ", expected an array of non-negative integers");
    std::uint64_t numel = 1;
    for (std::size_t i = 0; i < js.size(); ++i) {
      const auto e = non_negative_integer(js[i]);
      if (!e || *e > static_cast<std::uint64_t>(std::numeric_limits<index_t>::max()))
        throw io_error(path, where + ": shape[" + std::to_string(i) + "] is " + json_kind(js[i]) +
                                 ", expected a non-negative integer");
      t.extents.push_back(static_cast<index_t>(*e));
      const auto product = checked_mul(numel, *e);
      if (!product || *product > static_cast<std::uint64_t>(std::numeric_limits<index_t>::max()))
        throw io_error(
            path, where + ": shape " + js.dump() + " has more elements than a 64-bit count holds");
      numel = *product;
    }
    const auto expected_bytes = checked_mul(numel, dtype_size(t.type));
    if (!expected_bytes)
      throw io_error(path, where + ": shape " + js.dump() + " of " +
                               std::string(to_string(t.type)) + " has more bytes than 2^64");

    const json& jo = entry["data_offsets"];
    if (!jo.is_array() || jo.size() != 2)
      throw io_error(path,
                     where + ": field \"data_offsets\" is " +
                         (jo.is_array() ? "an array of " + std::to_string(jo.size()) + " entries"
                                        : json_kind(jo)) +
                         ", expected [begin, end], two non-negative integers");
    for (std::size_t i = 0; i < 2; ++i)
      if (!non_negative_integer(jo[i]))
        throw io_error(path, where + ": data_offsets[" + std::to_string(i) + "] is " +
                                 json_kind(jo[i]) + ", expected a non-negative integer");
    t.begin = *non_negative_integer(jo[0]);
    t.end = *non_negative_integer(jo[1]);
    if (t.begin > t.end)
      throw io_error(
          path, where + ": data_offsets " + jo.dump() + " has begin > end, expected begin ≤ end");
    if (t.end > data_size)
      throw io_error(path, where + ": data_offsets " + jo.dump() + " ends at " +
                               std::to_string(t.end) + ", beyond the data buffer of " +
                               std::to_string(data_size) + " bytes");
    if (t.end - t.begin != *expected_bytes)
      throw io_error(path, where + ": data_offsets " + jo.dump() + " span " +
                               std::to_string(t.end - t.begin) + " bytes, expected " +
                               std::to_string(*expected_bytes) + " (" + std::to_string(numel) +
                               " elements of shape " + t.shape_string() + " × " +
                               std::to_string(dtype_size(t.type)) + " bytes of " +
                               std::string(to_string(t.type)) + ")");
    out.tensors.push_back(std::move(t));
  }

  // The tensors must tile the data buffer: no overlaps, no holes.
  std::sort(out.tensors.begin(), out.tensors.end(), [](const tensor_info& a, const tensor_info& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  std::uint64_t cursor = 0;
  const tensor_info* previous = nullptr;
  for (const tensor_info& t : out.tensors) {
    if (t.begin < cursor)
      throw io_error(path, "tensors " + in_quotes(previous->name) + " (data_offsets [" +
                               std::to_string(previous->begin) + ", " +
                               std::to_string(previous->end) + "]) and " + in_quotes(t.name) +
                               " ([" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                               "]) overlap, expected disjoint data_offsets");
    if (t.begin > cursor)
      throw io_error(path, "bytes [" + std::to_string(cursor) + ", " + std::to_string(t.begin) +
                               ") of the data buffer belong to no tensor (a hole before " +
                               in_quotes(t.name) + "), expected data_offsets that cover it");
    cursor = t.end;
    previous = &t;
  }
  if (cursor != data_size)
    throw io_error(path, "bytes [" + std::to_string(cursor) + ", " + std::to_string(data_size) +
                             ") at the end of the data buffer belong to no tensor, expected "
                             "data_offsets that cover it");
  return out;
}

/// Reads and checks the 8-byte header length of a file of `file_size` bytes.
[[nodiscard]] inline std::uint64_t check_header_length(const std::string& path,
                                                       std::span<const std::byte> first8,
                                                       std::uint64_t file_size,
                                                       const read_options& options) {
  if (file_size < 8)
    throw io_error(path, "file is " + std::to_string(file_size) +
                             " bytes, expected at least 8 (the little-endian u64 header length)");
  const auto n = load<std::uint64_t>(first8.data());
  if (n > options.max_header_bytes)
    throw io_error(path, "header length " + std::to_string(n) + " exceeds the limit of " +
                             std::to_string(options.max_header_bytes) +
                             " bytes (read_options::max_header_bytes)");
  if (n > file_size - 8)
    throw io_error(path, "header length " + std::to_string(n) + " is larger than the file: " +
                             std::to_string(file_size - 8) + " bytes follow the length field");
  return n;
}

struct fd_guard {
  int fd = -1;
  fd_guard() = default;
  explicit fd_guard(int f) : fd(f) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() { reset(); }
  /// Closes; returns 0 or the errno of close().
  int reset() noexcept {
    int e = 0;
    if (fd >= 0 && ::close(fd) != 0) e = errno;
    fd = -1;
    return e;
  }
};

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
