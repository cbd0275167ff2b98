// Test helpers for training runs: a fresh output folder and a module's state as one vector.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <simclr/backend/tags.hpp>
#include <simclr/nn/state.hpp>

namespace simclr::test {

/// An empty folder `simclr-<name>` under the temporary directory (removed first if present).
inline std::filesystem::path fresh_dir(const std::string& name) {
  const std::filesystem::path d = std::filesystem::temp_directory_path() / ("simclr-" + name);
  std::filesystem::remove_all(d);
  return d;
}

/// Every parameter and buffer value of a float CPU module, in visit order.
std::vector<float> flat_state(auto& module) {
  std::vector<float> out;
  module.visit_state(
      [&](const nn::state_ref<float, cpu_t>& s) {
        if (s.value) out.insert(out.end(), s.value->values().begin(), s.value->values().end());
      },
      "");
  return out;
}

}  // namespace simclr::test
