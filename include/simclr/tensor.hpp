// simclr::tensor<T, Backend>: an owning, contiguous, row-major tensor whose backend is in its type.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include <simclr/backend/cpu/memory.hpp>
#include <simclr/backend/memory.hpp>
#include <simclr/backend/tags.hpp>
#include <simclr/config.hpp>
#include <simclr/error.hpp>
#include <simclr/shape.hpp>
#include <simclr/tensor_view.hpp>

namespace simclr {

/// Tag asking a tensor constructor to leave its elements uninitialised.
struct uninitialized_t {
  explicit uninitialized_t() = default;
};
inline constexpr uninitialized_t uninitialized{};

/// An owning tensor of `T` in `Backend`'s memory, contiguous and row-major: (N, C, H, W) for
/// image batches, (rows, cols) for embeddings and weights. Value semantics: copies are deep
/// (use views to share). Moving between backends is explicit: to_device / to_host
/// (<simclr/transfer.cuh>).
template <class T, backend Backend = cpu_t>
class tensor {
  static_assert(std::is_trivially_copyable_v<T> && !std::is_const_v<T>,
                "simclr: tensor<T> needs a non-const, trivially copyable element type "
                "(float, double, std::uint8_t, ...)");

 public:
  using value_type = T;
  using backend_type = Backend;
  using view_type = tensor_view<T, Backend>;
  using const_view_type = tensor_view<const T, Backend>;

  /// An empty tensor of shape (0).
  tensor() : shape_{0} {}
  /// A zero-filled tensor of shape `s`.
  explicit tensor(const simclr::shape& s) : tensor(s, uninitialized) {
    memory<Backend>::zero(data_, bytes());
  }
  /// A tensor of shape `s` whose elements are not initialised (the caller overwrites them).
  tensor(const simclr::shape& s, uninitialized_t) : shape_(s) {
    if (numel() > 0) data_ = static_cast<T*>(memory<Backend>::allocate(bytes()));
  }
  /// A host tensor with the given values in row-major order; throws if the count differs.
  tensor(const simclr::shape& s, std::initializer_list<T> values)
    requires(Backend::host_accessible)
      : tensor(s, uninitialized) {
    if (static_cast<index_t>(values.size()) != numel())
      throw shape_error("simclr: tensor of shape " + s.to_string() + " needs " +
                        std::to_string(numel()) + " values, got " + std::to_string(values.size()));
    std::copy(values.begin(), values.end(), data_);
  }
  /// A copy of the elements a view shows (same backend), made contiguous.
  explicit tensor(tensor_view<const T, Backend> v) : tensor(v.shape(), uninitialized) {
    if (!v.is_contiguous())
      throw shape_error("simclr: copying a strided view into a tensor is not supported yet "
                        "(shape " + v.shape().to_string() + ")");
    memory<Backend>::copy(data_, v.data(), bytes());
  }

  tensor(const tensor& other) : tensor(other.shape_, uninitialized) {
    memory<Backend>::copy(data_, other.data_, bytes());
  }
  tensor(tensor&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), shape_(std::exchange(other.shape_, {0})) {}
  tensor& operator=(const tensor& other) {
    if (this != &other) *this = tensor(other);
    return *this;
  }
  tensor& operator=(tensor&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      shape_ = std::exchange(other.shape_, {0});
    }
    return *this;
  }
  ~tensor() { release(); }

  [[nodiscard]] T* data() noexcept { return data_; }
  [[nodiscard]] const T* data() const noexcept { return data_; }
  [[nodiscard]] const simclr::shape& shape() const noexcept { return shape_; }
  [[nodiscard]] int rank() const noexcept { return shape_.rank(); }
  [[nodiscard]] index_t extent(int axis) const { return shape_.extent(axis); }
  [[nodiscard]] index_t numel() const noexcept { return shape_.numel(); }
  [[nodiscard]] bool empty() const noexcept { return numel() == 0; }
  [[nodiscard]] std::size_t bytes() const noexcept {
    return static_cast<std::size_t>(numel()) * sizeof(T);
  }

  [[nodiscard]] view_type view() noexcept { return view_type(data_, shape_); }
  [[nodiscard]] const_view_type view() const noexcept { return const_view_type(data_, shape_); }
  operator view_type() noexcept { return view(); }  // NOLINT(google-explicit-constructor)
  operator const_view_type() const noexcept { return view(); }  // NOLINT

  /// The elements as a span (host backends only).
  [[nodiscard]] std::span<T> values() noexcept
    requires(Backend::host_accessible)
  {
    return {data_, static_cast<std::size_t>(numel())};
  }
  [[nodiscard]] std::span<const T> values() const noexcept
    requires(Backend::host_accessible)
  {
    return {data_, static_cast<std::size_t>(numel())};
  }

  /// Element access on the host (unchecked): `t(n, c, y, x)`.
  template <class... I>
    requires(Backend::host_accessible && (std::is_integral_v<I> && ...))
  [[nodiscard]] T& operator()(I... idx) noexcept {
    return view()(idx...);
  }
  template <class... I>
    requires(Backend::host_accessible && (std::is_integral_v<I> && ...))
  [[nodiscard]] const T& operator()(I... idx) const noexcept {
    return view()(idx...);
  }

  /// Sets every element to `value` (host backends only).
  void fill(T value)
    requires(Backend::host_accessible)
  {
    std::fill(data_, data_ + numel(), value);
  }

  /// Changes the shape in place; the element count must stay the same.
  void reshape(const simclr::shape& s) {
    if (s.numel() != numel())
      throw shape_error("simclr: cannot reshape " + shape_.to_string() + " (" +
                        std::to_string(numel()) + " elements) to " + s.to_string() + " (" +
                        std::to_string(s.numel()) + " elements)");
    shape_ = s;
  }

 private:
  void release() noexcept {
    if (data_ != nullptr) memory<Backend>::deallocate(data_, bytes());
    data_ = nullptr;
  }

  T* data_ = nullptr;
  simclr::shape shape_;
};

/// The view of a tensor, or the view itself.
template <class T, class B>
[[nodiscard]] tensor_view<T, B> as_view(tensor_view<T, B> v) noexcept {
  return v;
}
template <class T, class B>
[[nodiscard]] tensor_view<T, B> as_view(tensor<T, B>& t) noexcept {
  return t.view();
}
template <class T, class B>
[[nodiscard]] tensor_view<const T, B> as_view(const tensor<T, B>& t) noexcept {
  return t.view();
}

// tensor_like (a tensor or a view) is stated in <simclr/concepts.hpp>.

}  // namespace simclr
