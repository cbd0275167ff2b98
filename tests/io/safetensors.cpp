// Tests for simclr/io/safetensors.hpp: round trips, the reference layout, every validation error,
// typed conversions, atomic writes and the fixtures made by tests/fixtures/generate_safetensors.py.
#include <simclr/io/safetensors.hpp>

#include <sys/stat.h>

#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
namespace io = simclr::io;
using simclr::index_t;
using simclr::shape;
using simclr::tensor;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_raw(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string le64(std::uint64_t n) {
  std::string s(8, '\0');
  std::memcpy(s.data(), &n, 8);
  return s;
}

/// A file: the length of `header`, `header`, then `data`.
std::string file_bytes(const std::string& header, const std::string& data = "") {
  return le64(header.size()) + header + data;
}

template <class T>
std::string raw(std::initializer_list<T> values) {
  std::string s(values.size() * sizeof(T), '\0');
  std::memcpy(s.data(), std::data(values), s.size());
  return s;
}

/// The io_error message reading `bytes` from a file gives ("" when it reads fine); checks the
/// error names the file.
std::string read_error(const std::string& bytes, const io::read_options& options = {}) {
  simclr::test::temp_dir dir{"safetensors"};
  const fs::path p = dir / "bad.safetensors";
  write_raw(p, bytes);
  try {
    (void)io::read_safetensors(p, options);
  } catch (const simclr::io_error& e) {
    CHECK(e.path() == p.string());
    CHECK(std::string(e.what()).find(p.string()) == 0);
    // The in-memory parser reports the same problem.
    try {
      const auto* b = reinterpret_cast<const std::byte*>(bytes.data());
      (void)io::parse_safetensors(std::span<const std::byte>(b, bytes.size()), "mem", options);
      FAIL("parse_safetensors accepted what read_safetensors rejected");
    } catch (const simclr::io_error& m) {
      CHECK(std::string(m.what()).substr(5) == std::string(e.what()).substr(p.string().size() + 2));
    }
    return e.what();
  }
  return "";
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// One valid F32 (2) tensor "a" at [0, 8] plus `extra` header entries.
std::string one_tensor(const std::string& entry_a, const std::string& extra = "") {
  return file_bytes("{\"a\":" + entry_a + extra + "}", raw<float>({1.0f, 2.0f}));
}

fs::path fixture(const std::string& name) {
  return fs::path(__FILE__).parent_path().parent_path() / "fixtures" / "safetensors" / name;
}

}  // namespace

TEST_CASE("safetensors dtype names and sizes") {
  for (io::dtype d : io::all_dtypes) {
    CHECK(io::parse_dtype(io::to_string(d)) == d);
    CHECK(io::dtype_size(d) >= 1);
  }
  CHECK(io::to_string(io::dtype::bf16) == "BF16");
  CHECK(io::dtype_size(io::dtype::f64) == 8);
  CHECK(io::dtype_size(io::dtype::f16) == 2);
  CHECK(io::dtype_size(io::dtype::boolean) == 1);
  CHECK_FALSE(io::parse_dtype("f32").has_value());
  CHECK_FALSE(io::parse_dtype("F128").has_value());
  static_assert(io::dtype_of<float> == io::dtype::f32);
  static_assert(io::dtype_of<std::int64_t> == io::dtype::i64);
  static_assert(io::storable<std::uint8_t> && !io::storable<long double>);
}

TEST_CASE("safetensors round trip of several dtypes and shapes with metadata") {
  simclr::test::temp_dir dir{"safetensors"};
  const fs::path p = dir / "model.safetensors";
  tensor<float> w(shape{2, 3}, {1.5f, -2.0f, 0.0f, 3.25f, -0.0f, 1e-30f});
  tensor<double> scalar(shape{}, {3.141592653589793});
  tensor<std::int64_t> steps(shape{4}, {-2, 0, 1, std::int64_t{1} << 40});
  tensor<std::int32_t> i32(shape{2, 2}, {std::numeric_limits<std::int32_t>::min(), -1, 0, 7});
  tensor<std::uint8_t> bytes(shape{3}, {0, 128, 255});
  tensor<float> empty(shape{0, 3});
  tensor<bool> flags(shape{3}, {true, false, true});
  tensor<std::int16_t> i16(shape{1, 1, 2}, {-32768, 32767});
  tensor<std::uint64_t> u64(shape{1}, {std::numeric_limits<std::uint64_t>::max()});
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"epoch", "12"}, {"ü", "ß"}};
  io::write_safetensors(
      p,
      {io::entry("w", w), io::entry("scalar", scalar), io::entry("steps", steps),
       io::entry("i32", i32), io::entry("bytes", bytes.view()), io::entry("empty", empty),
       io::entry("flags", flags), io::entry("i16", i16), io::entry("u64", u64)},
      meta);

  const io::safetensors_file f = io::read_safetensors(p);
  CHECK(f.path() == p.string());
  CHECK(f.size() == 9);
  CHECK(f.metadata() == meta);
  CHECK(f.contains("w"));
  CHECK_FALSE(f.contains("nope"));

  CHECK(f.info("w").type == io::dtype::f32);
  CHECK(f.info("w").shape() == shape{2, 3});
  CHECK(f.info("w").byte_size() == 24);
  CHECK(f.get<float>("w").values()[5] == 1e-30f);
  const tensor<float> w2 = f.get<float>("w");
  CHECK(std::equal(w2.values().begin(), w2.values().end(), w.values().begin()));
  CHECK(std::signbit(w2(1, 1)));  // -0.0 survives

  CHECK(f.info("scalar").extents.empty());
  CHECK(f.info("scalar").shape_string() == "()");
  const tensor<double> s2 = f.get<double>("scalar");
  CHECK(s2.rank() == 0);
  CHECK(s2.values()[0] == 3.141592653589793);

  CHECK(f.get<std::int64_t>("steps").values()[3] == (std::int64_t{1} << 40));
  CHECK(f.get<std::int32_t>("i32")(0, 0) == std::numeric_limits<std::int32_t>::min());
  CHECK(f.get<std::uint8_t>("bytes").values()[2] == 255);
  CHECK(f.get<std::int16_t>("i16")(0, 0, 1) == 32767);
  CHECK(f.get<std::uint64_t>("u64").values()[0] == std::numeric_limits<std::uint64_t>::max());
  const tensor<bool> flags2 = f.get<bool>("flags");
  CHECK((flags2.values()[0] && !flags2.values()[1] && flags2.values()[2]));

  const tensor<float> e2 = f.get<float>("empty");
  CHECK(e2.shape() == shape{0, 3});
  CHECK(f.info("empty").byte_size() == 0);
  CHECK(f.bytes("empty").empty());
  CHECK(f.bytes("w").size() == 24);

  // Writing again over the same path replaces the file.
  io::write_safetensors(p, {io::entry("only", scalar)});
  const io::safetensors_file g = io::read_safetensors(p);
  CHECK(g.names() == std::vector<std::string>{"only"});
  CHECK(g.metadata().empty());
}

TEST_CASE("safetensors writer lays tensors out as the reference does") {
  simclr::test::temp_dir dir{"safetensors"};
  const fs::path p = dir / "order.safetensors";
  tensor<std::uint8_t> u8(shape{3});
  tensor<float> fa(shape{1}), fb(shape{2});
  tensor<double> d(shape{1});
  tensor<std::int64_t> i64(shape{1});
  io::write_safetensors(p, {io::entry("z_u8", u8), io::entry("b_f32", fb), io::entry("c_f64", d),
                            io::entry("a_f32", fa), io::entry("y_i64", i64)});
  const io::safetensors_file f = io::read_safetensors(p);
  // Descending dtype alignment (I64 > F64 > F32 > U8), then name.
  CHECK(f.names() == std::vector<std::string>{"y_i64", "c_f64", "a_f32", "b_f32", "z_u8"});
  CHECK(f.info("y_i64").begin == 0);
  CHECK(f.info("z_u8").end == f.data_size());
  const std::string bytes = read_all(p);
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  CHECK(n % 8 == 0);  // padded with spaces
  CHECK(bytes[8 + n - 1] == ' ');
}

TEST_CASE("safetensors writer reproduces the reference serializer byte for byte") {
  // Vectors from the reference implementation's unit tests (huggingface/safetensors).
  simclr::test::temp_dir dir{"safetensors"};
  const fs::path p = dir / "vec.safetensors";
  io::write_safetensors(p, {});
  CHECK(read_all(p) == le64(8) + "{}      ");

  io::write_safetensors(p, {}, {{"framework", "pt"}});
  CHECK(read_all(p) == le64(40) + "{\"__metadata__\":{\"framework\":\"pt\"}}     ");

  tensor<float> attn(shape{1, 2, 3}, {0, 1, 2, 3, 4, 5});
  io::write_safetensors(p, {io::entry("attn.0", attn)});
  CHECK(read_all(p) ==
        le64(64) + "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}" +
            raw<float>({0, 1, 2, 3, 4, 5}));

  tensor<float> attn4(shape{1, 1, 2, 3}, {0, 1, 2, 3, 4, 5});
  io::write_safetensors(p, {io::entry("attn0", attn4)});
  CHECK(read_all(p) == le64(72) +
                           "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":"
                           "[0,24]}}       " +
                           raw<float>({0, 1, 2, 3, 4, 5}));
}

TEST_CASE("safetensors reads the fixture written by the Python generator") {
  const io::safetensors_file f = io::read_safetensors(fixture("reference.safetensors"));
  CHECK(f.size() == 18);
  CHECK(f.metadata() ==
        std::map<std::string, std::string>{{"format", "pt"},
                                           {"producer", "tests/fixtures/generate_safetensors.py"}});

  const tensor<float> conv = f.get<float>("conv1.weight");
  CHECK(conv.shape() == shape{2, 1, 2, 2});
  for (index_t i = 0; i < 8; ++i)
    CHECK(conv.values()[static_cast<std::size_t>(i)] == static_cast<float>(i) * 0.25f - 1.0f);
  CHECK(f.get<float>("bn1.bias").values()[1] == -0.125f);
  CHECK(f.get<float>("bn1.running_var").values()[0] == 1.5f);
  const tensor<std::int64_t> tracked = f.get<std::int64_t>("bn1.num_batches_tracked");
  CHECK(tracked.rank() == 0);
  CHECK(tracked.values()[0] == 1234567890123);

  const tensor<double> fc = f.get<double>("fc.weight");
  CHECK(fc(0, 0) == 0.1);
  CHECK(fc(1, 0) == 1e-300);
  CHECK(fc(1, 1) == -1e300);
  CHECK(fc(1, 2) == 3.141592653589793);

  CHECK(f.get<std::int32_t>("zoo.i32")(1, 1) == 2147483647);
  CHECK(f.get<std::uint8_t>("zoo.u8").values()[1] == 128);
  CHECK(f.get<std::int8_t>("zoo.i8").values()[0] == -128);
  CHECK(f.get<std::int16_t>("zoo.i16").values()[0] == -32768);
  CHECK(f.get<std::uint16_t>("zoo.u16").values()[0] == 65535);
  CHECK(f.get<std::uint32_t>("zoo.u32").values()[0] == 4294967295u);
  CHECK(f.get<std::uint64_t>("zoo.u64").values()[0] == std::numeric_limits<std::uint64_t>::max());
  const tensor<bool> b = f.get<bool>("zoo.bool");
  CHECK((b.values()[0] && !b.values()[1] && b.values()[2]));
  CHECK(f.get<float>("zoo.empty").shape() == shape{0, 3});

  SUBCASE("F16 and BF16 read as float only on request") {
    CHECK_THROWS_AS((void)f.get<float>("zoo.f16"), simclr::io_error);
    const tensor<float> h = f.get<float>("zoo.f16", io::conversion::lossless);
    CHECK(h.values()[0] == 1.0f);
    CHECK(h.values()[1] == -2.5f);
    CHECK(h.values()[2] == 65504.0f);
    CHECK(h.values()[3] == std::ldexp(1.0f, -24));  // the smallest subnormal half
    const tensor<double> bf = f.get<double>("zoo.bf16", io::conversion::lossless);
    CHECK(bf.values()[0] == 1.0);
    CHECK(bf.values()[1] == -0.5);
    CHECK(bf.values()[2] == std::ldexp(1.0, 100));
  }

  SUBCASE("simclr writes the same bytes for the same tensors") {
    // Rebuild the fixture's tensors (F16/BF16 as raw entries) and compare whole files.
    tensor<float> conv1 = conv;
    tensor<float> w(shape{2}, {1.0f, 0.5f}), bias(shape{2}, {0.0f, -0.125f});
    tensor<float> mean(shape{2}, {0.25f, -0.25f}), var(shape{2}, {1.5f, 2.0f});
    tensor<std::int64_t> nbt(shape{}, {1234567890123});
    tensor<double> fcw(shape{2, 3}, {0.1, -0.2, 0.3, 1e-300, -1e300, 3.141592653589793});
    tensor<std::int32_t> i32(shape{2, 2}, {-2147483647 - 1, -1, 0, 2147483647});
    tensor<std::uint8_t> u8(shape{3}, {0, 128, 255});
    tensor<std::int8_t> i8(shape{2}, {-128, 127});
    tensor<std::int16_t> i16(shape{2}, {-32768, 32767});
    tensor<std::uint16_t> u16(shape{1}, {65535});
    tensor<std::uint32_t> u32(shape{1}, {4294967295u});
    tensor<std::uint64_t> u64(shape{1}, {std::numeric_limits<std::uint64_t>::max()});
    tensor<bool> flags(shape{3}, {true, false, true});
    tensor<float> empty(shape{0, 3});
    const std::string f16 = raw<std::uint16_t>({0x3c00, 0xc100, 0x7bff, 0x0001});
    const std::string bf16 = raw<std::uint16_t>({0x3f80, 0xbf00, 0x7180});
    auto as_span = [](const std::string& s) {
      return std::as_bytes(std::span<const char>(s.data(), s.size()));
    };
    simclr::test::temp_dir dir{"safetensors"};
    const fs::path p = dir / "rewrite.safetensors";
    io::write_safetensors(
        p,
        {io::entry("conv1.weight", conv1), io::entry("bn1.weight", w), io::entry("bn1.bias", bias),
         io::entry("bn1.running_mean", mean), io::entry("bn1.running_var", var),
         io::entry("bn1.num_batches_tracked", nbt), io::entry("fc.weight", fcw),
         io::entry("zoo.i32", i32), io::entry("zoo.u8", u8), io::entry("zoo.i8", i8),
         io::entry("zoo.i16", i16), io::entry("zoo.u16", u16), io::entry("zoo.u32", u32),
         io::entry("zoo.u64", u64), io::tensor_entry{"zoo.f16", io::dtype::f16, {4}, as_span(f16)},
         io::tensor_entry{"zoo.bf16", io::dtype::bf16, {3}, as_span(bf16)},
         io::entry("zoo.bool", flags), io::entry("zoo.empty", empty)},
        f.metadata());
    CHECK(read_all(p) == read_all(fixture("reference.safetensors")));
    // For a by-hand check with the Python reader:
    //   SIMCLR_SAFETENSORS_KEEP=/tmp/x.safetensors <test binary>, then
    //   /usr/bin/python3 tests/fixtures/generate_safetensors.py --check /tmp/x.safetensors
    if (const char* keep = std::getenv("SIMCLR_SAFETENSORS_KEEP"))
      fs::copy_file(p, keep, fs::copy_options::overwrite_existing);
  }
}

TEST_CASE("safetensors reads an unpadded name-ordered file with unaligned data") {
  const io::safetensors_file f = io::read_safetensors(fixture("unaligned.safetensors"));
  CHECK(f.names() == std::vector<std::string>{"a", "b", "c"});
  CHECK(f.info("b").begin == 3);
  const tensor<float> b = f.get<float>("b");
  CHECK(b.values()[0] == 1.5f);
  CHECK(b.values()[1] == -2.0f);
  CHECK(f.get<double>("c").values()[0] == 0.5);
  CHECK(f.get<std::uint8_t>("a").values()[2] == 3);
}

TEST_CASE("safetensors typed reads and conversions") {
  simclr::test::temp_dir dir{"safetensors"};
  const fs::path p = dir / "conv.safetensors";
  tensor<float> f32(shape{3}, {1.5f, -2.0f, 1e30f});
  tensor<double> f64(shape{2}, {0.5, 1e300});
  tensor<double> f64_int(shape{3}, {-3.0, 0.0, 2.5});
  tensor<std::int64_t> i64(shape{2}, {1, std::int64_t{1} << 40});
  tensor<std::int32_t> i32(shape{2}, {-5, 7});
  tensor<std::uint8_t> u8(shape{2}, {0, 255});
  tensor<std::int8_t> i8(shape{2}, {-1, 1});
  io::write_safetensors(
      p, {io::entry("f32", f32), io::entry("f64", f64), io::entry("f64_int", f64_int),
          io::entry("i64", i64), io::entry("i32", i32), io::entry("u8", u8), io::entry("i8", i8)});
  const io::safetensors_file f = io::read_safetensors(p);

  SUBCASE("exact refuses another dtype and says which conversion would work") {
    try {
      (void)f.get<double>("f32");
      FAIL("expected io_error");
    } catch (const simclr::io_error& e) {
      const std::string m = e.what();
      CHECK(contains(m, "\"f32\" is F32"));
      CHECK(contains(m, "as F64"));
      CHECK(contains(m, "conversion::lossless"));
    }
    try {
      (void)f.get<float>("f64");
      FAIL("expected io_error");
    } catch (const simclr::io_error& e) {
      CHECK(contains(e.what(), "conversion::checked"));
    }
  }
  SUBCASE("lossless widens") {
    const tensor<double> d = f.get<double>("f32", io::conversion::lossless);
    CHECK(d.values()[2] == static_cast<double>(1e30f));
    CHECK(f.get<std::int64_t>("i32", io::conversion::lossless).values()[0] == -5);
    CHECK(f.get<std::int16_t>("u8", io::conversion::lossless).values()[1] == 255);
    CHECK(f.get<float>("u8", io::conversion::lossless).values()[1] == 255.0f);
    CHECK(f.get<double>("i32", io::conversion::lossless).values()[1] == 7.0);
    CHECK_THROWS_AS((void)f.get<std::uint8_t>("i8", io::conversion::lossless), simclr::io_error);
    CHECK_THROWS_AS((void)f.get<float>("f64", io::conversion::lossless), simclr::io_error);
    CHECK_THROWS_AS((void)f.get<float>("i32", io::conversion::lossless), simclr::io_error);
    CHECK_THROWS_AS((void)f.get<std::int32_t>("i64", io::conversion::lossless), simclr::io_error);
  }
  SUBCASE("checked converts value by value and names the element that does not fit") {
    const tensor<float> narrowed = f.get<float>("f32", io::conversion::checked);
    CHECK(narrowed.values()[0] == 1.5f);
    try {
      (void)f.get<float>("f64", io::conversion::checked);
      FAIL("expected io_error");
    } catch (const simclr::io_error& e) {
      CHECK(contains(e.what(), "\"f64\": element 1 (1e+300)"));
      CHECK(contains(e.what(), "does not fit in F32"));
    }
    try {
      (void)f.get<std::int32_t>("i64", io::conversion::checked);
      FAIL("expected io_error");
    } catch (const simclr::io_error& e) {
      CHECK(contains(e.what(), "element 1 (1099511627776)"));
    }
    try {
      (void)f.get<std::int32_t>("f64_int", io::conversion::checked);  // 2.5 is not an integer
      FAIL("expected io_error");
    } catch (const simclr::io_error& e) {
      CHECK(contains(e.what(), "element 2 (2.5)"));
    }
    CHECK_THROWS_AS((void)f.get<std::uint8_t>("i8", io::conversion::checked), simclr::io_error);
    CHECK_THROWS_AS((void)f.get<std::int8_t>("u8", io::conversion::checked), simclr::io_error);
    try {
      (void)f.get<std::uint8_t>("i32", io::conversion::checked);
      FAIL("expected io_error");
    } catch (const simclr::io_error& e) {
      CHECK(contains(e.what(), "element 0 (-5) of I32 does not fit in U8"));
    }
    CHECK(f.get<std::uint8_t>("u8", io::conversion::checked).values()[1] == 255);
  }
  SUBCASE("copy_to checks the shape and names both") {
    tensor<float> ok(shape{3});
    f.copy_to("f32", ok.view());
    CHECK(ok.values()[1] == -2.0f);
    tensor<double> widened(shape{3});
    f.copy_to("f32", widened.view(), io::conversion::lossless);
    CHECK(widened.values()[0] == 1.5);
    tensor<float> wrong(shape{1, 3});
    try {
      f.copy_to("f32", wrong.view());
      FAIL("expected shape_error");
    } catch (const simclr::shape_error& e) {
      const std::string m = e.what();
      CHECK(contains(m, p.string()));
      CHECK(contains(m, "tensor \"f32\" has shape (3) in the file"));
      CHECK(contains(m, "destination has shape (1, 3)"));
    }
    tensor<float> wide(shape{3, 2});
    const simclr::tensor_view<float> strided(wide.data(), shape{3}, {2});
    CHECK_THROWS_AS(f.copy_to("f32", strided), simclr::shape_error);
  }
  SUBCASE("an unknown name is an io_error naming it") {
    try {
      (void)f.info("layer9.weight");
      FAIL("expected io_error");
    } catch (const simclr::io_error& e) {
      CHECK(contains(e.what(), "no tensor named \"layer9.weight\""));
    }
    CHECK_THROWS_AS((void)f.get<float>("nope"), simclr::io_error);
  }
}

TEST_CASE("safetensors validation of the file and the header length") {
  SUBCASE("missing file") {
    simclr::test::temp_dir dir{"safetensors"};
    try {
      (void)io::read_safetensors(dir / "absent.safetensors");
      FAIL("expected io_error");
    } catch (const simclr::io_error& e) {
      CHECK(e.path() == (dir / "absent.safetensors").string());
      CHECK(contains(e.what(), "cannot open"));
      CHECK(contains(e.what(), "expected a safetensors file"));
    }
  }
  SUBCASE("a directory is not a file") {
    simclr::test::temp_dir dir{"safetensors"};
    try {
      (void)io::read_safetensors(dir.path);
      FAIL("expected io_error");
    } catch (const simclr::io_error& e) {
      CHECK(contains(e.what(), "is a directory, expected a safetensors file"));
    }
  }
  SUBCASE("a FIFO is refused before it is opened (opening it would block for a writer)") {
    simclr::test::temp_dir dir{"safetensors"};
    const auto fifo = dir / "checkpoint.safetensors";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    try {
      (void)io::read_safetensors(fifo);
      FAIL("expected io_error");
    } catch (const simclr::io_error& e) {
      CHECK(e.path() == fifo.string());
      CHECK(contains(e.what(), "is a FIFO (named pipe), expected a safetensors file"));
    }
  }
  SUBCASE("shorter than 8 bytes") {
    const std::string m = read_error(std::string("\x02\0\0", 3));
    CHECK(contains(m, "file is 3 bytes, expected at least 8"));
    CHECK(contains(read_error(""), "file is 0 bytes"));
  }
  SUBCASE("header length above the bound") {
    CHECK(contains(read_error(le64(200'000'000) + "{}"),
                   "header length 200000000 exceeds the limit of 100000000 bytes"));
    const std::string ok = file_bytes("{}      ");
    CHECK(read_error(ok).empty());
    CHECK(
        contains(read_error(ok, io::read_options{.max_header_bytes = 4}),
                 "header length 8 exceeds the limit of 4 bytes (read_options::max_header_bytes)"));
  }
  SUBCASE("header length beyond the file") {
    CHECK(contains(read_error(le64(100) + "{}"),
                   "header length 100 is larger than the file: 2 bytes follow the length field"));
  }
}

TEST_CASE("safetensors validation of the JSON header") {
  SUBCASE("not valid JSON") {
    CHECK(contains(read_error(file_bytes("{\"a\":")), "header is not valid JSON"));
    CHECK(contains(read_error(file_bytes(std::string("{}\0\0\0\0\0\0", 8))),
                   "header is not valid JSON: a NUL byte at header offset 2"));
    CHECK(contains(read_error(file_bytes(std::string("{}\0{\"a\":1}", 10))), "a NUL byte"));
    CHECK(contains(read_error(file_bytes("{\"\xff\":1}")), "header is not valid JSON"));
  }
  SUBCASE("not an object") {
    CHECK(contains(read_error(file_bytes("[1, 2]  ")),
                   "header is an array, expected a JSON object mapping tensor names"));
    CHECK(
        contains(read_error(file_bytes("42")), "header is the integer 42, expected a JSON object"));
  }
  SUBCASE("trailing spaces are fine") {
    CHECK(read_error(file_bytes("{}" + std::string(30, ' '))).empty());
    CHECK(read_error(file_bytes("  {  }  ")).empty());
  }
  SUBCASE("a tensor entry that is not an object") {
    CHECK(contains(
        read_error(file_bytes("{\"a\":[1]}")),
        "tensor \"a\": entry is an array, expected an object {dtype, shape, data_offsets}"));
  }
  SUBCASE("missing fields") {
    CHECK(contains(read_error(one_tensor("{\"shape\":[2],\"data_offsets\":[0,8]}")),
                   "tensor \"a\": missing field \"dtype\""));
    CHECK(contains(read_error(one_tensor("{\"dtype\":\"F32\",\"data_offsets\":[0,8]}")),
                   "tensor \"a\": missing field \"shape\""));
    CHECK(contains(read_error(one_tensor("{\"dtype\":\"F32\",\"shape\":[2]}")),
                   "tensor \"a\": missing field \"data_offsets\""));
  }
  SUBCASE("an unknown field") {
    CHECK(contains(
        read_error(one_tensor("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}")),
        "tensor \"a\": unknown field \"x\", expected only dtype, shape and data_offsets"));
  }
  SUBCASE("dtype of the wrong JSON type or unknown") {
    CHECK(contains(read_error(one_tensor("{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}")),
                   "tensor \"a\": field \"dtype\" is the integer 32, expected a string, one of"));
    const std::string m =
        read_error(one_tensor("{\"dtype\":\"F128\",\"shape\":[2],\"data_offsets\":[0,8]}"));
    CHECK(contains(m, "tensor \"a\": unknown dtype \"F128\" in field \"dtype\", expected one of"));
    CHECK(contains(m, "BF16"));
    CHECK(
        contains(read_error(one_tensor("{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}")),
                 "unknown dtype \"f32\""));
  }
  SUBCASE("shape of the wrong JSON type or with bad entries") {
    CHECK(contains(read_error(one_tensor("{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}")),
                   "tensor \"a\": field \"shape\" is the integer 2, expected an array of "
                   "non-negative integers"));
    CHECK(contains(
        read_error(one_tensor("{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}")),
        "tensor \"a\": shape[0] is the integer -2, expected a non-negative integer"));
    CHECK(contains(
        read_error(one_tensor("{\"dtype\":\"F32\",\"shape\":[1,2.0],\"data_offsets\":[0,8]}")),
        "tensor \"a\": shape[1] is the number 2.0, expected a non-negative integer"));
    CHECK(contains(
        read_error(one_tensor("{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}")),
        "shape[0] is a string, expected a non-negative integer"));
    CHECK(contains(read_error(one_tensor("{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,"
                                         "4294967296],\"data_offsets\":[0,8]}")),
                   "has more elements than a 64-bit count holds"));
  }
  SUBCASE("data_offsets not two non-negative integers") {
    CHECK(contains(read_error(one_tensor("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":8}")),
                   "tensor \"a\": field \"data_offsets\" is the integer 8, expected [begin, end]"));
    CHECK(contains(
        read_error(one_tensor("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4,8]}")),
        "field \"data_offsets\" is an array of 3 entries, expected [begin, end]"));
    CHECK(contains(
        read_error(one_tensor("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-1,8]}")),
        "tensor \"a\": data_offsets[0] is the integer -1, expected a non-negative integer"));
    CHECK(contains(
        read_error(one_tensor("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,\"8\"]}")),
        "data_offsets[1] is a string, expected a non-negative integer"));
  }
  SUBCASE("begin after end") {
    CHECK(
        contains(read_error(one_tensor("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}")),
                 "tensor \"a\": data_offsets [8,0] has begin > end, expected begin ≤ end"));
  }
  SUBCASE("end beyond the data buffer") {
    CHECK(contains(
        read_error(one_tensor("{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}")),
        "tensor \"a\": data_offsets [0,16] ends at 16, beyond the data buffer of 8 bytes"));
  }
  SUBCASE("size not numel times dtype size") {
    CHECK(contains(
        read_error(one_tensor("{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,8]}")),
        "tensor \"a\": data_offsets [0,8] span 8 bytes, expected 16 (2 elements of shape (2) × 8 "
        "bytes of F64)"));
  }
  SUBCASE("overlapping tensors") {
    const std::string m =
        read_error(file_bytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                              "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                              raw<float>({1.0f, 2.0f})));
    CHECK(contains(m, "tensors \"a\" (data_offsets [0, 8]) and \"b\" ([4, 8]) overlap"));
  }
  SUBCASE("holes in the data buffer") {
    const std::string gap =
        read_error(file_bytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                              "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                              raw<float>({1.0f, 2.0f, 3.0f})));
    CHECK(
        contains(gap, "bytes [4, 8) of the data buffer belong to no tensor (a hole before \"b\")"));
    const std::string tail =
        read_error(one_tensor("{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}"));
    CHECK(contains(tail, "bytes [4, 8) at the end of the data buffer belong to no tensor"));
    const std::string head =
        read_error(one_tensor("{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}"));
    CHECK(contains(head,
                   "bytes [0, 4) of the data buffer belong to no tensor (a hole before \"a\")"));
  }
  SUBCASE("__metadata__ not string to string") {
    const std::string a = "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
    CHECK(contains(read_error(one_tensor(a, ",\"__metadata__\":[\"x\"]")),
                   "\"__metadata__\" is an array, expected an object of string → string"));
    CHECK(contains(read_error(one_tensor(a, ",\"__metadata__\":{\"epoch\":3}")),
                   "__metadata__[\"epoch\"] is the integer 3, expected a string"));
    CHECK(read_error(one_tensor(a, ",\"__metadata__\":{\"epoch\":\"3\"}")).empty());
  }
  SUBCASE("duplicate names and keys") {
    const std::string a = "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
    CHECK(contains(read_error(one_tensor(a, ",\"a\":" + a)),
                   "tensor name \"a\" appears twice in the header, expected each key once"));
    CHECK(contains(read_error(one_tensor(a, ",\"__metadata__\":{},\"__metadata__\":{}")),
                   "\"__metadata__\" appears twice in the header"));
    CHECK(contains(read_error(one_tensor(a, ",\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}")),
                   "__metadata__ key \"k\" appears twice"));
    CHECK(contains(read_error(one_tensor("{\"dtype\":\"F64\",\"dtype\":\"F32\",\"shape\":[2],"
                                         "\"data_offsets\":[0,8]}")),
                   "tensor \"a\": field \"dtype\" appears twice"));
  }
  SUBCASE("BOOL bytes other than 0 and 1") {
    simclr::test::temp_dir dir{"safetensors"};
    const fs::path p = dir / "bool.safetensors";
    write_raw(p, file_bytes("{\"a\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[0,2]}}",
                            std::string("\x01\x02", 2)));
    const io::safetensors_file f = io::read_safetensors(p);  // the header is fine
    try {
      (void)f.get<bool>("a");
      FAIL("expected io_error");
    } catch (const simclr::io_error& e) {
      CHECK(contains(e.what(), "tensor \"a\": BOOL element 1 is byte 2, expected 0 or 1"));
    }
    CHECK(f.bytes("a").size() == 2);
  }
  SUBCASE("rank above 6 reads as bytes but not as a tensor") {
    simclr::test::temp_dir dir{"safetensors"};
    const fs::path p = dir / "rank7.safetensors";
    write_raw(p, file_bytes("{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,2],"
                            "\"data_offsets\":[0,2]}}",
                            "xy"));
    const io::safetensors_file f = io::read_safetensors(p);
    CHECK(f.info("a").extents.size() == 7);
    CHECK_THROWS_AS((void)f.get<std::uint8_t>("a"), simclr::shape_error);
    CHECK(f.bytes("a").size() == 2);
  }
}

TEST_CASE("safetensors writer rejects bad entries") {
  simclr::test::temp_dir dir{"safetensors"};
  const fs::path p = dir / "bad.safetensors";
  tensor<float> t(shape{2});
  CHECK_THROWS_AS(io::write_safetensors(p, {io::entry("", t)}), simclr::value_error);
  CHECK_THROWS_AS(io::write_safetensors(p, {io::entry("__metadata__", t)}), simclr::value_error);
  try {
    io::write_safetensors(p, {io::entry("w", t), io::entry("w", t)});
    FAIL("expected value_error");
  } catch (const simclr::value_error& e) {
    CHECK(contains(e.what(), "\"w\" appears twice"));
  }
  const std::string four(4, '\0');
  const io::tensor_entry short_entry{
      "s", io::dtype::f32, {2}, std::as_bytes(std::span<const char>(four.data(), 4))};
  try {
    io::write_safetensors(p, {short_entry});
    FAIL("expected value_error");
  } catch (const simclr::value_error& e) {
    CHECK(contains(e.what(), "entry \"s\" has 4 bytes, expected 8 for F32 of shape (2)"));
  }
  CHECK_THROWS_AS(io::write_safetensors(p, {io::entry("bad\xff", t)}), simclr::value_error);
  CHECK_THROWS_AS(io::write_safetensors(p, {io::entry("w", t)}, {{"k", "\xc3"}}),
                  simclr::value_error);
  tensor<float> wide(shape{2, 2});
  const simclr::tensor_view<const float> column(wide.data(), shape{2}, {2});
  CHECK_THROWS_AS((void)io::entry("col", column), simclr::shape_error);
  CHECK_FALSE(fs::exists(p));  // nothing was written
  CHECK(fs::is_empty(dir.path));
}

TEST_CASE("safetensors writes atomically") {
  simclr::test::temp_dir dir{"safetensors"};
  const fs::path p = dir / "weights.safetensors";
  tensor<float> old_t(shape{2}, {1.0f, 2.0f});
  io::write_safetensors(p, {io::entry("w", old_t)});
  const std::string before = read_all(p);
  tensor<float> big(shape{4096});
  big.fill(0.5f);

  SUBCASE("into a missing directory") {
    const fs::path missing = dir / "no" / "such" / "dir" / "w.safetensors";
    try {
      io::write_safetensors(missing, {io::entry("w", big)});
      FAIL("expected io_error");
    } catch (const simclr::io_error& e) {
      CHECK(e.path() == missing.string());
      CHECK(contains(e.what(), "cannot create the temporary file"));
    }
    CHECK_FALSE(fs::exists(dir / "no"));
  }
  SUBCASE("over a directory: the rename fails and the temporary file is removed") {
    const fs::path target = dir / "a_directory";
    fs::create_directory(target);
    try {
      io::write_safetensors(target, {io::entry("w", big)});
      FAIL("expected io_error");
    } catch (const simclr::io_error& e) {
      CHECK(e.path() == target.string());
      CHECK(contains(e.what(), "cannot rename the temporary file over it"));
      CHECK(contains(e.what(), "was removed"));
    }
    CHECK(fs::is_directory(target));
  }
  SUBCASE("a write that fails half way leaves the previous file intact") {
    // RLIMIT_FSIZE makes write() fail with EFBIG past 1 KiB (root ignores permissions, not
    // this); SIGXFSZ is ignored so the failure is an error return rather than a signal.
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = saved;
    small.rlim_cur = 1024;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    std::optional<std::string> message;
    try {
      io::write_safetensors(p, {io::entry("w", big)});
    } catch (const simclr::io_error& e) {
      message = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, old_handler);
    REQUIRE(message.has_value());
    CHECK(contains(*message, p.string()));
    CHECK(contains(*message, "writing tensor \"w\" failed"));
  }
  // In every case the old file is untouched and no temporary file is left behind.
  CHECK(read_all(p) == before);
  for (const auto& e : fs::directory_iterator(dir.path))
    CHECK_MESSAGE(e.path().filename().string().find(".tmp-") == std::string::npos, e.path());
  CHECK(io::read_safetensors(p).get<float>("w").values()[1] == 2.0f);
}
