// simclr::interop::as_xtensor / view_of: zero-copy bridges between CPU views and xtensor.
#pragma once

#include <cstddef>
#include <type_traits>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xtensor.hpp>

#include <simclr/tensor.hpp>
#include <simclr/tensor_view.hpp>

namespace simclr::interop {

/// A CPU view as an xtensor adaptor over the same memory (no copy, no ownership): use it for
/// image work with xtensor's expressions. Writes through a mutable view reach the tensor.
template <class T>
[[nodiscard]] auto as_xtensor(tensor_view<T, cpu_t> v) {
  std::vector<std::size_t> shape(static_cast<std::size_t>(v.rank()));
  std::vector<std::ptrdiff_t> strides(static_cast<std::size_t>(v.rank()));
  for (int i = 0; i < v.rank(); ++i) {
    shape[static_cast<std::size_t>(i)] = static_cast<std::size_t>(v.extent(i));
    strides[static_cast<std::size_t>(i)] = v.stride(i);
  }
  // xtensor sizes an adaptor's buffer by the product of the shape (it rejects any other size);
  // element access goes through the strides, so strided views reach their elements all the same.
  const auto size = static_cast<std::size_t>(v.numel());
  return xt::adapt(v.data(), size, xt::no_ownership(), std::move(shape), std::move(strides));
}
template <class T>
[[nodiscard]] auto as_xtensor(tensor<T, cpu_t>& t) {
  return as_xtensor(t.view());
}
template <class T>
[[nodiscard]] auto as_xtensor(const tensor<T, cpu_t>& t) {
  return as_xtensor(t.view());
}

/// A CPU view of an xtensor container's memory (no copy). The container must outlive the view.
template <class E>
[[nodiscard]] auto view_of(E& container) {
  using T = std::remove_reference_t<decltype(*container.data())>;
  const auto& xs = container.shape();
  const auto& xst = container.strides();
  if (xs.size() > static_cast<std::size_t>(shape::max_rank))
    throw shape_error("simclr: view_of: xtensor container of rank " + std::to_string(xs.size()) +
                      " exceeds the maximum rank " + std::to_string(shape::max_rank));
  std::vector<index_t> ext(xs.begin(), xs.end());
  typename tensor_view<T, cpu_t>::strides_type strides{};
  for (std::size_t i = 0; i < xst.size(); ++i) strides[i] = static_cast<index_t>(xst[i]);
  return tensor_view<T, cpu_t>(container.data(), shape(std::span<const index_t>(ext)), strides);
}

}  // namespace simclr::interop
