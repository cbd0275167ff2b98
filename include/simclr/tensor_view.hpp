// simclr::tensor_view<T, Backend>: a non-owning (pointer, shape, strides) view, the type kernels take.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <type_traits>

#include <simclr/backend/tags.hpp>
#include <simclr/config.hpp>
#include <simclr/error.hpp>
#include <simclr/shape.hpp>

namespace simclr {

/// A non-owning view of `T` elements living in `Backend`'s memory: pointer, extents and
/// strides (in elements). `T` may be const. Views are cheap to copy and can be passed to device
/// kernels by value; host element access is only available for host-accessible backends.
template <class T, backend Backend = cpu_t>
class tensor_view {
 public:
  using value_type = std::remove_const_t<T>;
  using element_type = T;
  using backend_type = Backend;
  using strides_type = std::array<index_t, simclr::shape::max_rank>;

  constexpr tensor_view() = default;
  /// A contiguous row-major view of `s.numel()` elements at `data`.
  tensor_view(T* data, const simclr::shape& s)
      : data_(data), shape_(s), strides_(contiguous_strides(s)) {}
  /// A strided view; `strides` gives one stride per axis, in elements.
  tensor_view(T* data, const simclr::shape& s, const strides_type& strides)
      : data_(data), shape_(s), strides_(strides) {}

  /// Every view converts to its read-only counterpart.
  template <class U>
    requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
  tensor_view(const tensor_view<U, Backend>& other) noexcept  // NOLINT(google-explicit-constructor)
      : data_(other.data()), shape_(other.shape()), strides_(other.strides()) {}

  [[nodiscard]] SIMCLR_HOST_DEVICE T* data() const noexcept { return data_; }
  [[nodiscard]] const simclr::shape& shape() const noexcept { return shape_; }
  [[nodiscard]] const strides_type& strides() const noexcept { return strides_; }
  [[nodiscard]] index_t stride(int axis) const noexcept {
    return strides_[static_cast<std::size_t>(axis)];
  }
  [[nodiscard]] int rank() const noexcept { return shape_.rank(); }
  [[nodiscard]] index_t extent(int axis) const { return shape_.extent(axis); }
  [[nodiscard]] index_t numel() const noexcept { return shape_.numel(); }
  [[nodiscard]] bool empty() const noexcept { return numel() == 0; }

  /// True when the elements are dense and in row-major order.
  [[nodiscard]] bool is_contiguous() const noexcept {
    index_t expected = 1;
    for (int i = rank() - 1; i >= 0; --i) {
      if (shape_[i] != 1 && strides_[static_cast<std::size_t>(i)] != expected) return false;
      expected *= shape_[i];
    }
    return true;
  }

  /// Element access on the host (unchecked): `v(n, c, y, x)`.
  template <class... I>
    requires(Backend::host_accessible && (std::is_integral_v<I> && ...))
  [[nodiscard]] T& operator()(I... idx) const noexcept {
    index_t offset = 0;
    std::size_t k = 0;
    ((offset += static_cast<index_t>(idx) * strides_[k++]), ...);  // rank 0: offset 0
    return data_[offset];
  }

  /// Rows [begin, end) along axis 0, as a view of the same rank.
  [[nodiscard]] tensor_view slice(index_t begin, index_t end) const {
    if (rank() == 0 || begin < 0 || end < begin || end > shape_[0])
      throw shape_error("simclr: slice [" + std::to_string(begin) + ", " + std::to_string(end) +
                        ") is outside axis 0 of shape " + shape_.to_string());
    std::array<index_t, simclr::shape::max_rank> ext{};
    for (int i = 0; i < rank(); ++i) ext[static_cast<std::size_t>(i)] = shape_[i];
    ext[0] = end - begin;
    return tensor_view(data_ + begin * strides_[0],
                       simclr::shape(std::span<const index_t>(ext.data(),
                                                              static_cast<std::size_t>(rank()))),
                       strides_);
  }

  /// The same elements under another shape with the same number of elements (contiguous only).
  [[nodiscard]] tensor_view reshape(const simclr::shape& s) const {
    if (!is_contiguous())
      throw shape_error("simclr: reshape of a non-contiguous view of shape " + shape_.to_string());
    if (s.numel() != numel())
      throw shape_error("simclr: cannot reshape " + shape_.to_string() + " (" +
                        std::to_string(numel()) + " elements) to " + s.to_string() + " (" +
                        std::to_string(s.numel()) + " elements)");
    return tensor_view(data_, s);
  }

 private:
  T* data_ = nullptr;
  simclr::shape shape_{};
  strides_type strides_{};
};

/// Throws shape_error unless `v` has rank `rank`; `what` names the operand ("gemm: a").
template <class View>
void expect_rank(const View& v, int rank, std::string_view what) {
  if (v.rank() != rank)
    throw shape_error("simclr: " + std::string(what) + " has shape " + v.shape().to_string() +
                      ", expected rank " + std::to_string(rank));
}

/// Throws shape_error unless `v` has exactly shape `s`.
template <class View>
void expect_shape(const View& v, const shape& s, std::string_view what) {
  if (!(v.shape() == s))
    throw shape_error("simclr: " + std::string(what) + " has shape " + v.shape().to_string() +
                      ", expected " + s.to_string());
}

}  // namespace simclr
