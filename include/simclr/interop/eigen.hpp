// simclr::interop::as_eigen: zero-copy Eigen::Map of CPU tensor views (for GEMM and row-wise work).
#pragma once

#include <type_traits>

#include <Eigen/Core>

#include <simclr/error.hpp>
#include <simclr/tensor.hpp>
#include <simclr/tensor_view.hpp>

namespace simclr::interop {

/// The Eigen type a rank-2 view of T maps to: row-major, any row stride.
template <class T>
using eigen_matrix_map = Eigen::Map<
    std::conditional_t<std::is_const_v<T>,
                       const Eigen::Matrix<std::remove_const_t<T>, Eigen::Dynamic, Eigen::Dynamic,
                                           Eigen::RowMajor>,
                       Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>,
    Eigen::Unaligned, Eigen::OuterStride<>>;

/// The Eigen type a rank-1 view of T maps to: a column vector with any element stride.
template <class T>
using eigen_vector_map = Eigen::Map<
    std::conditional_t<std::is_const_v<T>,
                       const Eigen::Matrix<std::remove_const_t<T>, Eigen::Dynamic, 1>,
                       Eigen::Matrix<T, Eigen::Dynamic, 1>>,
    Eigen::Unaligned, Eigen::InnerStride<>>;

/// A rank-2 CPU view as an Eigen row-major matrix map (no copy). Needs unit column stride.
template <class T>
[[nodiscard]] eigen_matrix_map<T> as_eigen(tensor_view<T, cpu_t> v) {
  expect_rank(v, 2, "as_eigen: view");
  if (v.extent(1) > 1 && v.stride(1) != 1)
    throw shape_error("simclr: as_eigen needs unit column stride, view of shape " +
                      v.shape().to_string() + " has stride " + std::to_string(v.stride(1)));
  return eigen_matrix_map<T>(v.data(), v.extent(0), v.extent(1),
                             Eigen::OuterStride<>(v.stride(0)));
}
template <class T>
[[nodiscard]] eigen_matrix_map<T> as_eigen(tensor<T, cpu_t>& t) {
  return as_eigen(t.view());
}
template <class T>
[[nodiscard]] eigen_matrix_map<const T> as_eigen(const tensor<T, cpu_t>& t) {
  return as_eigen(t.view());
}

/// A rank-1 CPU view as an Eigen column-vector map (no copy).
template <class T>
[[nodiscard]] eigen_vector_map<T> as_eigen_vector(tensor_view<T, cpu_t> v) {
  expect_rank(v, 1, "as_eigen_vector: view");
  return eigen_vector_map<T>(v.data(), v.extent(0), Eigen::InnerStride<>(v.stride(0)));
}

}  // namespace simclr::interop
