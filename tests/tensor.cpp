#include <simclr/tensor.hpp>

#include <cstdint>
#include <type_traits>
#include <utility>

#include <doctest/doctest.h>

#include <simclr/concepts.hpp>  // tensor_like

using namespace simclr;

namespace {
template <class X>
concept host_indexable = requires(X& x) { x(0); };
template <class X>
concept host_spannable = requires(X& x) { x.values(); };
}  // namespace

TEST_CASE_TEMPLATE("tensor: construction, zero fill, element access", T, float, double,
                   std::uint8_t) {
  tensor<T> t(shape{2, 3});
  CHECK(t.numel() == 6);
  CHECK(t.rank() == 2);
  CHECK(t.bytes() == 6 * sizeof(T));
  for (T v : t.values()) CHECK(v == T(0));
  t(1, 2) = T(7);
  CHECK(t.data()[5] == T(7));
  CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % memory<cpu_t>::alignment == 0);
}

TEST_CASE("tensor: value list must match the shape") {
  const tensor<float> t(shape{2, 2}, {1.f, 2.f, 3.f, 4.f});
  CHECK(t(1, 0) == 3.f);
  CHECK_THROWS_WITH_AS(tensor<float>(shape{2, 2}, {1.f, 2.f, 3.f}),
                       "simclr: tensor of shape (2, 2) needs 4 values, got 3", shape_error);
  CHECK_THROWS_AS(tensor<float>(shape{2, -2}), shape_error);
}

TEST_CASE("tensor: copies are deep, moves steal") {
  tensor<double> a(shape{3}, {1.0, 2.0, 3.0});
  tensor<double> b = a;
  b(0) = 10.0;
  CHECK(a(0) == 1.0);
  const double* p = a.data();
  tensor<double> c = std::move(a);
  CHECK(c.data() == p);
  CHECK(a.numel() == 0);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  CHECK(a.data() == nullptr);
  c = b;
  CHECK(c(0) == 10.0);
  CHECK(c.data() != b.data());
}

TEST_CASE("tensor: default is empty; reshape keeps elements") {
  tensor<float> e;
  CHECK(e.empty());
  CHECK(e.shape() == shape{0});
  tensor<float> t(shape{2, 6});
  t(1, 5) = 3.f;
  t.reshape(shape{3, 4});
  CHECK(t(2, 3) == 3.f);
  CHECK_THROWS_WITH_AS(t.reshape(shape{5}),
                       "simclr: cannot reshape (3, 4) (12 elements) to (5) (5 elements)",
                       shape_error);
}

TEST_CASE("tensor: views share storage; as_view and tensor_like") {
  tensor<float> t(shape{2, 2});
  auto v = t.view();
  v(0, 1) = 4.f;
  CHECK(t(0, 1) == 4.f);
  const tensor<float>& ct = t;
  static_assert(std::is_same_v<decltype(as_view(ct)), tensor_view<const float, cpu_t>>);
  static_assert(std::is_same_v<decltype(as_view(t)), tensor_view<float, cpu_t>>);
  static_assert(tensor_like<tensor<float>>);
  static_assert(tensor_like<tensor_view<const double>>);
  static_assert(!tensor_like<int>);
  const tensor<float> copy(ct.view());
  CHECK(copy(0, 1) == 4.f);
}

TEST_CASE("tensor: the backend is part of the type") {
  static_assert(!std::is_same_v<tensor<float, cpu_t>, tensor<float, cuda_t>>);
  static_assert(std::is_same_v<tensor<float>::backend_type, cpu_t>);
  static_assert(std::is_same_v<tensor<float, cuda_t>::view_type, tensor_view<float, cuda_t>>);
  // Host element access exists only where host code may read the memory.
  static_assert(host_indexable<tensor<float, cpu_t>>);
  static_assert(host_spannable<tensor<float, cpu_t>>);
  static_assert(!host_indexable<tensor<float, cuda_t>>);
  static_assert(!host_spannable<tensor<float, cuda_t>>);
  static_assert(!host_indexable<tensor_view<float, cuda_t>>);
}
