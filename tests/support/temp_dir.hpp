// Test helper: a fresh directory under the system temp directory, removed at the end of the test.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <system_error>

namespace simclr::test {

/// `simclr-<tag>-<pid>-<n>` under the temporary directory, created empty and removed with its
/// contents when the object goes out of scope.
struct temp_dir {
  std::filesystem::path path;
  explicit temp_dir(const std::string& tag) {
    static std::atomic<int> counter{0};
    path = std::filesystem::temp_directory_path() /
           ("simclr-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return path / name; }
};

}  // namespace simclr::test
