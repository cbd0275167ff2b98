// Test support: reads the "SCFX" fixture files written by tests/fixtures/generate_*.py.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <simclr/tensor.hpp>

namespace simclr::test {

/// One named array of a fixture file: its extents and its elements as float (uint16 arrays are
/// widened; every value is exact).
struct fixture_array {
  std::vector<index_t> extents;
  std::vector<float> values;

  /// The array as a CPU float tensor of its shape.
  [[nodiscard]] tensor<float> as_tensor() const {
    tensor<float> t(shape(std::span<const index_t>(extents)), uninitialized);
    std::copy(values.begin(), values.end(), t.data());
    return t;
  }
};

/// Every array of a fixture file by name. Format: magic "SCFX0001", u32 count, then per entry
/// u16 name length, name, u8 dtype (0 float32, 1 uint16), u8 rank, rank × i32 extents, data.
class fixture_file {
 public:
  explicit fixture_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open fixture " + path.string());
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
    std::size_t pos = 0;
    const auto take = [&](void* dst, std::size_t n) {
      if (pos + n > bytes.size()) throw std::runtime_error("truncated fixture " + path.string());
      std::memcpy(dst, bytes.data() + pos, n);
      pos += n;
    };
    char magic[8];
    take(magic, 8);
    if (std::memcmp(magic, "SCFX0001", 8) != 0)
      throw std::runtime_error("not an SCFX fixture: " + path.string());
    std::uint32_t count = 0;
    take(&count, 4);
    for (std::uint32_t e = 0; e < count; ++e) {
      std::uint16_t len = 0;
      take(&len, 2);
      std::string name(len, '\0');
      take(name.data(), len);
      std::uint8_t dtype = 0, rank = 0;
      take(&dtype, 1);
      take(&rank, 1);
      fixture_array a;
      index_t n = 1;
      for (int i = 0; i < rank; ++i) {
        std::int32_t d = 0;
        take(&d, 4);
        a.extents.push_back(d);
        n *= d;
      }
      a.values.resize(static_cast<std::size_t>(n));
      if (dtype == 0) {
        take(a.values.data(), static_cast<std::size_t>(n) * 4);
      } else if (dtype == 1) {
        std::vector<std::uint16_t> raw(static_cast<std::size_t>(n));
        take(raw.data(), raw.size() * 2);
        for (std::size_t i = 0; i < raw.size(); ++i) a.values[i] = raw[i];
      } else {
        throw std::runtime_error("unknown dtype in fixture " + path.string());
      }
      arrays_.emplace(std::move(name), std::move(a));
    }
  }

  [[nodiscard]] const fixture_array& at(const std::string& name) const {
    const auto it = arrays_.find(name);
    if (it == arrays_.end()) throw std::runtime_error("no array '" + name + "' in the fixture");
    return it->second;
  }
  [[nodiscard]] tensor<float> tensor_at(const std::string& name) const {
    return at(name).as_tensor();
  }

 private:
  std::map<std::string, fixture_array> arrays_;
};

/// The directory of the committed fixtures (tests/fixtures), found from this header's path.
inline std::filesystem::path fixtures_dir() {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "fixtures";
}

/// The augmentation ops' torchvision fixtures (tests/fixtures/augment/ops.bin), read once.
inline const fixture_file& augment_ops() {
  static const fixture_file f(fixtures_dir() / "augment" / "ops.bin");
  return f;
}

/// Largest |a − b| over two tensors of the same shape (infinity if the shapes differ).
inline double max_abs_diff(const tensor<float>& a, const tensor<float>& b) {
  if (!(a.shape() == b.shape())) return 1e30;
  double m = 0.0;
  for (index_t i = 0; i < a.numel(); ++i)
    m = std::max(m, static_cast<double>(std::abs(a.data()[i] - b.data()[i])));
  return m;
}

}  // namespace simclr::test
