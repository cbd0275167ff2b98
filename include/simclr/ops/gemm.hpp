// simclr::ops::gemm: C ← α·op(A)·op(B) + β·C on row-major matrices, dispatched on the backend tag.
#pragma once

#include <string>
#include <type_traits>

#include <simclr/backend/tags.hpp>
#include <simclr/config.hpp>
#include <simclr/error.hpp>
#include <simclr/concepts.hpp>
#include <simclr/tensor.hpp>
#include <simclr/tensor_view.hpp>
#include <simclr/ops/kernels.hpp>
#include <simclr/ops/cpu/gemm.hpp>  // the CPU kernel, included here only

namespace simclr::ops {

namespace detail {
template <class View>
void expect_row_major_matrix(const View& v, const char* what) {
  expect_rank(v, 2, std::string("gemm: ") + what);
  if (v.stride(1) != 1 || v.stride(0) < v.extent(1))
    throw shape_error(std::string("simclr: gemm: ") + what + " of shape " +
                      v.shape().to_string() +
                      " must have unit column stride and a row stride ≥ its column count");
}
}  // namespace detail

/// C ← α·op(A)·op(B) + β·C, where op transposes when the options ask. A, B and C are tensors or
/// views of one scalar type on one backend; C must be writable and of shape (rows of op(A),
/// columns of op(B)). Throws shape_error naming the operand on any mismatch.
template <tensor_like A, tensor_like Bm, tensor_like C>
void gemm(const A& a_in, const Bm& b_in, C&& c_in, const gemm_options& opt = {}) {
  using T = typename std::remove_cvref_t<C>::value_type;
  using Backend = typename std::remove_cvref_t<C>::backend_type;
  static_assert(std::is_same_v<typename A::value_type, T> &&
                    std::is_same_v<typename Bm::value_type, T>,
                "simclr: gemm needs A, B and C of one scalar type");
  static_assert(std::is_same_v<typename A::backend_type, Backend> &&
                    std::is_same_v<typename Bm::backend_type, Backend>,
                "simclr: gemm needs A, B and C on one backend — move data explicitly with "
                "to_device / to_host first");
  const tensor_view<const T, Backend> a = as_view(a_in);
  const tensor_view<const T, Backend> b = as_view(b_in);
  const auto c = as_view(c_in);
  static_assert(!std::is_const_v<typename decltype(c)::element_type>,
                "simclr: gemm's output C must be writable (a non-const tensor or view)");
  detail::expect_row_major_matrix(a, "A");
  detail::expect_row_major_matrix(b, "B");
  detail::expect_row_major_matrix(c, "C");
  const index_t m = opt.transpose_a ? a.extent(1) : a.extent(0);
  const index_t k = opt.transpose_a ? a.extent(0) : a.extent(1);
  const index_t kb = opt.transpose_b ? b.extent(1) : b.extent(0);
  const index_t n = opt.transpose_b ? b.extent(0) : b.extent(1);
  if (k != kb)
    throw shape_error("simclr: gemm: inner dimensions differ: op(A) is " + std::to_string(m) +
                      "×" + std::to_string(k) + ", op(B) is " + std::to_string(kb) + "×" +
                      std::to_string(n));
  if (c.extent(0) != m || c.extent(1) != n)
    throw shape_error("simclr: gemm: C has shape " + c.shape().to_string() + ", expected (" +
                      std::to_string(m) + ", " + std::to_string(n) + ")");
  gemm_kernel<Backend>::run(opt.transpose_a, opt.transpose_b, m, n, k, static_cast<T>(opt.alpha),
                            a.data(), a.stride(0), b.data(), b.stride(0),
                            static_cast<T>(opt.beta), c.data(), c.stride(0));
}

/// op(A)·op(B) as a new tensor (α and β of `opt` are ignored except α).
template <tensor_like A, tensor_like Bm>
[[nodiscard]] auto matmul(const A& a_in, const Bm& b_in, gemm_options opt = {}) {
  using T = typename A::value_type;
  using Backend = typename A::backend_type;
  const tensor_view<const T, Backend> a = as_view(a_in);
  const tensor_view<const T, Backend> b = as_view(b_in);
  expect_rank(a, 2, "matmul: A");
  expect_rank(b, 2, "matmul: B");
  const index_t m = opt.transpose_a ? a.extent(1) : a.extent(0);
  const index_t n = opt.transpose_b ? b.extent(0) : b.extent(1);
  tensor<T, Backend> c(shape{m, n}, uninitialized);
  opt.beta = 0.0;
  gemm(a, b, c, opt);
  return c;
}

}  // namespace simclr::ops
