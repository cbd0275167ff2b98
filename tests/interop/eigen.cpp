#include <simclr/interop/eigen.hpp>

#include <doctest/doctest.h>

// Using-declarations, not a using-directive: in the unity build this file precedes xtensor.cpp,
// whose xtensor headers must not see the simclr namespace.
using simclr::index_t;
using simclr::shape;
using simclr::shape_error;
using simclr::tensor;
using simclr::tensor_view;
namespace interop = simclr::interop;

TEST_CASE("as_eigen: a map over the tensor's memory, both directions") {
  tensor<float> t(shape{2, 3}, {1, 2, 3, 4, 5, 6});
  auto m = interop::as_eigen(t);
  CHECK(m.rows() == 2);
  CHECK(m.cols() == 3);
  CHECK(m(1, 2) == 6.f);
  CHECK(m.data() == t.data());  // no copy
  m(0, 0) = 10.f;
  CHECK(t(0, 0) == 10.f);
  const Eigen::MatrixXf prod = m * m.transpose();
  CHECK(prod(0, 1) == 10.f * 4 + 2 * 5 + 3 * 6);

  const tensor<float>& ct = t;
  auto cm = interop::as_eigen(ct);
  static_assert(std::is_const_v<std::remove_pointer_t<decltype(cm.data())>>);
  CHECK(cm.sum() == 10.f + 2 + 3 + 4 + 5 + 6);
}

TEST_CASE("as_eigen: row slices keep the outer stride; bad layouts are rejected") {
  tensor<double> t(shape{4, 3});
  for (index_t i = 0; i < 12; ++i) t.data()[i] = double(i);
  auto rows = interop::as_eigen(t.view().slice(1, 3));
  CHECK(rows(1, 2) == 8.0);
  const tensor_view<double> strided(t.data(), shape{2, 2}, {3, 2});
  CHECK_THROWS_AS((void)interop::as_eigen(strided), shape_error);
  CHECK_THROWS_WITH_AS((void)interop::as_eigen(tensor_view<double>(t.data(), shape{12})),
                       "simclr: as_eigen: view has shape (12), expected rank 2", shape_error);
  const tensor_view<double> col(t.data() + 1, shape{4}, {3});
  auto v = interop::as_eigen_vector(col);
  CHECK(v.sum() == 1.0 + 4 + 7 + 10);
}
