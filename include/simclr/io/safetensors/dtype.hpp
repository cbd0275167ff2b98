// simclr::io::dtype: the safetensors element types, their C++ types and conversions.
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

#include <simclr/config.hpp>

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

}  // namespace simclr::io
