// Test support for the data-set readers: a temporary directory and small file writers.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <zlib.h>

#include <doctest/doctest.h>

#include <simclr/error.hpp>

#include "support/temp_dir.hpp"

namespace simclr::test {

inline void write_file(const std::filesystem::path& p, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

inline void write_gzip(const std::filesystem::path& p, const std::vector<std::uint8_t>& bytes) {
  gzFile f = gzopen(p.string().c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) ==
          static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

inline void put_be32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 24));
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

/// Runs `f`, expecting an io_error whose path is `file` and whose message contains each of
/// `parts`.
template <class F>
void expect_io_error(F&& f, const std::filesystem::path& file, const std::vector<std::string>& parts) {
  try {
    (void)f();
    FAIL("no io_error for " << file.string());
  } catch (const io_error& e) {
    const std::string what = e.what();
    CAPTURE(what);
    CHECK(e.path() == file.string());
    CHECK(what.find(file.string()) != std::string::npos);
    for (const auto& part : parts) CHECK_MESSAGE(what.find(part) != std::string::npos, part);
  }
}

}  // namespace simclr::test
