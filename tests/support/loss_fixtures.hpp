// Test helper: reads the JSON fixtures of tests/fixtures/loss and tests/fixtures/optim.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <simclr/error.hpp>
#include <simclr/random/fill.hpp>
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

/// A (rows, d) tensor of standard normal draws keyed by `seed` (test inputs of the losses).
template <class T>
tensor<T> random_rows(index_t rows, index_t d, std::uint64_t seed) {
  tensor<T> z(shape{rows, d}, uninitialized);
  random::fill_normal(z.view(), random::key(seed));
  return z;
}

/// How far a float result is from the double one: max |a − b| over max |b| (0 when b is 0).
inline double float_error(const tensor<float>& a, const tensor<double>& b) {
  double scale = 0.0, err = 0.0;
  for (index_t i = 0; i < b.numel(); ++i) {
    scale = std::max(scale, std::abs(b.data()[i]));
    err = std::max(err, std::abs(static_cast<double>(a.data()[i]) - b.data()[i]));
  }
  return scale > 0.0 ? err / scale : err;
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
