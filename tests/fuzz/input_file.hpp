// Fuzz-target support: the readers take paths, so each input is written to one temporary file
// per process (rewritten for every input, removed at exit).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace simclr::fuzz {

inline std::filesystem::path input_path() {
  return std::filesystem::temp_directory_path() / ("simclr-fuzz-" + std::to_string(::getpid()));
}

/// The path of a file holding exactly `data`.
inline const std::filesystem::path& input_file(const std::uint8_t* data, std::size_t size) {
  static const std::filesystem::path path = [] {
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove(input_path(), ec);
    });
    return input_path();
  }();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

}  // namespace simclr::fuzz
