// simclr::shape: the extents of a tensor (rank ≤ 6), with checked construction and printing.
#pragma once

#include <algorithm>
#include <array>
#include <initializer_list>
#include <span>
#include <string>

#include <simclr/config.hpp>
#include <simclr/error.hpp>

namespace simclr {

/// Extents of a tensor, outermost first: (N, C, H, W) for image batches, (rows, cols) for
/// matrices. A value type of fixed size, so it can be passed to device kernels by value.
class shape {
 public:
  static constexpr int max_rank = 6;

  constexpr shape() = default;
  shape(std::initializer_list<index_t> extents) { assign(extents.begin(), extents.size()); }
  explicit shape(std::span<const index_t> extents) { assign(extents.data(), extents.size()); }

  [[nodiscard]] SIMCLR_HOST_DEVICE constexpr int rank() const noexcept { return rank_; }
  [[nodiscard]] SIMCLR_HOST_DEVICE constexpr index_t operator[](int axis) const noexcept {
    return extents_[axis];
  }
  /// Extent of `axis`, checked: a negative axis counts from the end, as in Python.
  [[nodiscard]] index_t extent(int axis) const {
    const int a = axis < 0 ? axis + rank_ : axis;
    if (a < 0 || a >= rank_)
      throw shape_error("simclr: axis " + std::to_string(axis) + " out of range for shape " +
                        to_string());
    return extents_[static_cast<std::size_t>(a)];
  }
  /// Number of elements (1 for rank 0).
  [[nodiscard]] SIMCLR_HOST_DEVICE constexpr index_t numel() const noexcept {
    index_t n = 1;
    for (int i = 0; i < rank_; ++i) n *= extents_[i];
    return n;
  }
  [[nodiscard]] std::span<const index_t> extents() const noexcept {
    return {extents_, static_cast<std::size_t>(rank_)};
  }
  /// "(2, 3, 32, 32)".
  [[nodiscard]] std::string to_string() const {
    std::string s = "(";
    for (int i = 0; i < rank_; ++i) {
      if (i != 0) s += ", ";
      s += std::to_string(extents_[static_cast<std::size_t>(i)]);
    }
    return s + ")";
  }

  friend constexpr bool operator==(const shape& a, const shape& b) noexcept {
    return a.rank_ == b.rank_ && std::equal(a.extents_, a.extents_ + a.rank_, b.extents_);
  }

 private:
  void assign(const index_t* extents, std::size_t n) {
    if (n > static_cast<std::size_t>(max_rank))
      throw shape_error("simclr: a shape has at most " + std::to_string(max_rank) +
                        " extents, got " + std::to_string(n));
    for (std::size_t i = 0; i < n; ++i) {
      if (extents[i] < 0)
        throw shape_error("simclr: extent " + std::to_string(i) + " of a shape is " +
                          std::to_string(extents[i]) + ", expected ≥ 0");
      extents_[i] = extents[i];
    }
    rank_ = static_cast<int>(n);
  }

  index_t extents_[max_rank] = {};  // a plain array: usable in device code
  int rank_ = 0;
};

/// Row-major (C-order) strides, in elements, for `s`.
[[nodiscard]] inline std::array<index_t, shape::max_rank> contiguous_strides(const shape& s) {
  std::array<index_t, shape::max_rank> strides{};
  index_t stride = 1;
  for (int i = s.rank() - 1; i >= 0; --i) {
    strides[static_cast<std::size_t>(i)] = stride;
    stride *= s[i];
  }
  return strides;
}

}  // namespace simclr
