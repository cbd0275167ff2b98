// Test helper: reads the JSON fixtures of tests/fixtures/loss and tests/fixtures/optim.
#pragma once

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <simclr/error.hpp>
#include <simclr/tensor.hpp>

namespace simclr::test {

/// The parsed JSON file `name` of the fixture directory `dir` (SIMCLR_LOSS_FIXTURES or
/// SIMCLR_OPTIM_FIXTURES, set by tests/CMakeLists.txt).
inline nlohmann::json read_fixture(const std::string& dir, const std::string& name) {
  const std::string path = dir + "/" + name;
  std::ifstream in(path);
  if (!in) throw io_error(path, "cannot open the fixture (run tests/fixtures/generate_losses.py)");
  return nlohmann::json::parse(in);
}

/// A double tensor of shape `s` from a flat row-major JSON list.
inline tensor<double> fixture_tensor(const nlohmann::json& values, const shape& s) {
  const auto v = values.get<std::vector<double>>();
  if (static_cast<index_t>(v.size()) != s.numel())
    throw shape_error("fixture list of " + std::to_string(v.size()) + " values for shape " +
                      s.to_string());
  tensor<double> t(s, uninitialized);
  for (index_t i = 0; i < s.numel(); ++i) t.data()[i] = v[static_cast<std::size_t>(i)];
  return t;
}

/// max_i |a_i − b_i| / max(|b_i|, floor): the relative error of a against the reference b.
template <class T>
double max_relative_error(const tensor<T>& a, const tensor<double>& b, double floor = 1e-12) {
  if (!(a.shape() == b.shape()))
    throw shape_error("max_relative_error of shapes " + a.shape().to_string() + " and " +
                      b.shape().to_string());
  double worst = 0.0;
  for (index_t i = 0; i < a.numel(); ++i) {
    const double ref = b.data()[i];
    const double err = std::abs(static_cast<double>(a.data()[i]) - ref) /
                       std::max(std::abs(ref), floor);
    worst = std::max(worst, err);
  }
  return worst;
}

}  // namespace simclr::test
