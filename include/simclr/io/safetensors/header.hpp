// simclr::io::tensor_info and the safetensors header: parsing and validating untrusted JSON headers.
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
#include <map>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include <simclr/error.hpp>
#include <simclr/io/safetensors/dtype.hpp>
#include <simclr/shape.hpp>

namespace simclr::io {

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

}  // namespace detail

}  // namespace simclr::io
